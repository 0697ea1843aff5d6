import type { Insertable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, PageViewTable } from '../db/schema.ts';

export type NewPageView = Insertable<PageViewTable>;

const CHUNK = 1000; // 12 columns × 1000 rows stays under both databases' bound-parameter limits

export async function insertPageViews(db: DB | Transaction<Database>, rows: NewPageView[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db.insertInto('page_views').values(rows.slice(i, i + CHUNK)).execute();
  }
}

export async function countPageViews(db: DB): Promise<number> {
  const row = await db.selectFrom('page_views').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
