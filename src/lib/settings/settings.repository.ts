import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

export async function findAllSettings(db: Db): Promise<{ key: string; value: string }[]> {
  return db.selectFrom('settings').select(['key', 'value']).execute();
}

export async function upsertSetting(
  db: Db,
  row: { key: string; value: string; updated_at: number; updated_by: number | null },
): Promise<void> {
  await db
    .insertInto('settings')
    .values(row)
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at, updated_by: row.updated_by }),
    )
    .execute();
}
