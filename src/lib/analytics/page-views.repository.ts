import {
  Kysely,
  SqliteAdapter,
  DummyDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Insertable,
  type Transaction,
} from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { DB } from '../db/database.ts';
import type { Database, PageViewTable } from '../db/schema.ts';

export type NewPageView = Insertable<PageViewTable>;

const CHUNK = 1000; // 14 columns × 1000 rows stays under both databases' bound-parameter limits

export async function insertPageViews(db: DB | Transaction<Database>, rows: NewPageView[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('page_views')
      .values(rows.slice(i, i + CHUNK))
      .execute();
  }
}

const columns = [
  'at',
  'path',
  'referrer_host',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'visitor_hash',
  'device',
  'is_bot',
  'issue_id',
  'subscriber_id',
] as const;

// The single-row insert, compiled once by Kysely for SQLite, prepared once per connection.
const sqliteInsertSql = new Kysely<Database>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
})
  .insertInto('page_views')
  .values(Object.fromEntries(columns.map((c) => [c, null])) as never)
  .compile().sql;
const prepared = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

export function insertPageViewsSqlite(sqlite: BetterSqlite3.Database, rows: NewPageView[]): void {
  let statement = prepared.get(sqlite);
  if (!statement) prepared.set(sqlite, (statement = sqlite.prepare(sqliteInsertSql)));
  for (const row of rows) statement.run(columns.map((c) => row[c] ?? null));
}

export const pageViewInserter = { kysely: insertPageViews, sqlite: insertPageViewsSqlite };

export async function countPageViews(db: DB): Promise<number> {
  const row = await db
    .selectFrom('page_views')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
