import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { advisoryLockKey, lockAdvisoryKeys } from '../db/advisory-locks.ts';
import { dialectOf } from '../db/database.ts';

/** Advisory lock keys of calls, apart from the tracking writer's (batch-locks.ts: deliveries' rows, visitors at 2^40 + …). */
const CALL_LOCK_SPACE = 2 ** 41;

/** The lock of a caller hash: held by whatever judges or changes that caller's row in `callers`. */
export const callerLockKey = (fromHash: string) => advisoryLockKey(CALL_LOCK_SPACE, `from:${fromHash}`);

/** The lock of a call's client id: held by the batch that may insert it. */
export const callIdLockKey = (clientId: string) => advisoryLockKey(CALL_LOCK_SPACE, `id:${clientId}`);

/**
 * PostgreSQL: locks these callers until the transaction ends (SQLite: nothing to do, its one
 * writer already serialises). A call batch judging a caller and an undo, restore or pruning
 * deciding whether the caller keeps their row then go one after the other, each reading what the
 * other committed: `callers` holds no count, so a batch judging a repeat caller writes nothing
 * there an undo's delete would wait on.
 */
export async function lockCallers(trx: Transaction<Database>, fromHashes: Iterable<string>): Promise<void> {
  if (dialectOf(trx) !== 'postgres') return;
  const keys = new Set<number>();
  for (const hash of fromHashes) keys.add(callerLockKey(hash));
  await lockAdvisoryKeys(trx, keys);
}
