import type { Insertable, Selectable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { AccountTokenTable, Database } from '../db/schema.ts';

export type AccountToken = Selectable<AccountTokenTable>;
type Db = DB | Transaction<Database>;

export async function insertAccountToken(db: Db, row: Insertable<AccountTokenTable>): Promise<void> {
  await db.insertInto('account_tokens').values(row).execute();
}

export async function findAccountToken(db: Db, tokenHash: string): Promise<AccountToken | undefined> {
  return db.selectFrom('account_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Marks a token used, once: false when it was used already (two tabs, a replay). */
export async function markAccountTokenUsed(db: Db, tokenHash: string, at: number): Promise<boolean> {
  const result = await db
    .updateTable('account_tokens')
    .set({ used_at: at })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Drops the unused tokens of one purpose (for one user, or with no user): a new link replaces the old. */
export async function deleteOpenAccountTokens(
  db: Db,
  purpose: AccountToken['purpose'],
  userId: number | null,
): Promise<void> {
  let query = db.deleteFrom('account_tokens').where('purpose', '=', purpose).where('used_at', 'is', null);
  query = userId === null ? query.where('user_id', 'is', null) : query.where('user_id', '=', userId);
  await query.execute();
}
