import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * Queries of `callers` (per caller hash, the counted calls from it on record; a row only while
 * there is one): one query a function, `db` first. Whatever counts or uncounts a call with a
 * caller hash changes its row in the same transaction (call-writer.ts, offline-counts.ts).
 */
type Db = DB | Transaction<Database>;

/** Which of these caller hashes have a counted call on record (what makes a caller's next call a repeat caller's). */
export async function findCallersOnRecord(db: Db, hashes: readonly string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const rows = await db.selectFrom('callers').select('from_hash').where('from_hash', 'in', hashes).execute();
  return rows.map((r) => r.from_hash);
}

/** Adds counted calls to their callers (one statement; each hash once, in hash order: PostgreSQL locks rows in that order). */
export async function addCallerCalls(db: Db, calls: ReadonlyMap<string, number>): Promise<void> {
  if (calls.size === 0) return;
  const rows = [...calls].sort(([a], [b]) => (a < b ? -1 : 1)).map(([from_hash, n]) => ({ from_hash, calls: n }));
  await db
    .insertInto('callers')
    .values(rows)
    .onConflict((oc) =>
      oc.column('from_hash').doUpdateSet((eb) => ({ calls: eb('callers.calls', '+', eb.ref('excluded.calls')) })),
    )
    .execute();
}

/** The caller's row goes when these are its last `n` counted calls (then subtractCallerCalls changes nothing). */
export async function deleteCallerIfOnly(db: Db, fromHash: string, n: number): Promise<void> {
  await db.deleteFrom('callers').where('from_hash', '=', fromHash).where('calls', '<=', n).execute();
}

/** Takes `n` counted calls from the caller's row (after deleteCallerIfOnly: only a row with more is left). */
export async function subtractCallerCalls(db: Db, fromHash: string, n: number): Promise<void> {
  await db
    .updateTable('callers')
    .set((eb) => ({ calls: eb('calls', '-', n) }))
    .where('from_hash', '=', fromHash)
    .execute();
}
