import type { Insertable, Selectable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { ApiKeyTable, Database } from '../db/schema.ts';

export type ApiKey = Selectable<ApiKeyTable>;
type Db = DB | Transaction<Database>;

export async function insertApiKey(db: Db, row: Insertable<ApiKeyTable>): Promise<number> {
  const inserted = await db.insertInto('api_keys').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findApiKeyByHash(db: Db, keyHash: string): Promise<ApiKey | undefined> {
  return db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

export async function listApiKeys(db: Db): Promise<ApiKey[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .orderBy('revoked_at', (ob) => ob.nullsFirst())
    .orderBy('created_at', 'desc')
    .execute();
}

export async function updateApiKeyLastUsed(db: Db, id: number, at: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}

/** Revokes a key once; false when there is no such key or it was revoked already. */
export async function revokeApiKey(db: Db, id: number, at: number): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
