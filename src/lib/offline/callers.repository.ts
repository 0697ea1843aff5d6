import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * Queries of `callers` (the caller hashes with a counted call on record): one query a function,
 * `db` first. Whatever counts or uncounts a call with a caller hash keeps its row in step in the
 * same transaction, under the caller's lock on PostgreSQL (call-writer.ts, offline-counts.ts,
 * call-locks.ts).
 */
type Db = DB | Transaction<Database>;

/** Which of these caller hashes have a counted call on record (what makes a caller's next call a repeat caller's). */
export async function findCallersOnRecord(db: Db, hashes: readonly string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const rows = await db.selectFrom('callers').select('from_hash').where('from_hash', 'in', hashes).execute();
  return rows.map((r) => r.from_hash);
}

/** Records these callers as having a counted call (one statement; in hash order: PostgreSQL locks index entries in that order). */
export async function addCallers(db: Db, hashes: Iterable<string>): Promise<void> {
  const rows = [...new Set(hashes)].sort().map((from_hash) => ({ from_hash }));
  if (rows.length === 0) return;
  await db
    .insertInto('callers')
    .values(rows)
    .onConflict((oc) => oc.column('from_hash').doNothing())
    .execute();
}

/**
 * Of these callers, drops those without a counted call left in `offline_events` (after an undo
 * or a pruning): one statement, one pass over `offline_events` (it has no index of `from_hash`:
 * it would cost every call a page of its own).
 */
export async function dropCallersWithoutCalls(db: Db, hashes: readonly string[]): Promise<void> {
  if (hashes.length === 0) return;
  await db
    .deleteFrom('callers')
    .where('from_hash', 'in', hashes)
    .where('from_hash', 'not in', (eb) =>
      eb
        .selectFrom('offline_events')
        .select('from_hash')
        .where('kind', '=', 'call')
        .where('undone_at', 'is', null)
        .where('from_hash', 'in', hashes)
        .$narrowType<{ from_hash: string }>(),
    )
    .execute();
}
