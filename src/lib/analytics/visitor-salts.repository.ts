import type { DB } from '../db/database.ts';

export async function findSalt(db: DB, day: number): Promise<string | undefined> {
  const row = await db.selectFrom('visitor_salts').select('salt').where('day', '=', day).executeTakeFirst();
  return row?.salt;
}

export async function insertSaltIfAbsent(db: DB, day: number, salt: string, now: number): Promise<void> {
  await db
    .insertInto('visitor_salts')
    .values({ day, salt, created_at: now })
    .onConflict((oc) => oc.column('day').doNothing())
    .execute();
}

export async function deleteSaltsCreatedBefore(db: DB, cutoff: number): Promise<number> {
  const result = await db.deleteFrom('visitor_salts').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
