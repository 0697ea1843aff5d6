import { CompiledQuery, type Transaction } from 'kysely';
import { keptPrepared } from './pipelined-postgres.ts';
import type { Database } from './schema.ts';

/**
 * PostgreSQL's transaction-scoped advisory locks, for writers whose batches must judge the same
 * thing one after the other across processes (tracking: visitors, src/lib/tracking/batch-locks.ts;
 * calls: callers and call ids, src/lib/offline/call-locks.ts). Each writer keeps its keys in a
 * space of its own (2^40 + …, 2^41 + …), and every batch takes its keys in ascending order, so
 * two batches cannot deadlock on them.
 */

/** FNV-1a, 32 bits, of `key`, in `space`: two keys sharing a lock only serialise them. */
export function advisoryLockKey(space: number, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return space + (h >>> 0);
}

/** Locks these keys until the transaction ends, in ascending order (unnest keeps the array's order). */
export async function lockAdvisoryKeys(trx: Transaction<Database>, keys: Iterable<number>): Promise<void> {
  const sorted = [...keys].sort((a, b) => a - b);
  if (sorted.length === 0) return;
  await trx.executeQuery(
    keptPrepared(CompiledQuery.raw('select pg_advisory_xact_lock(k) from unnest($1::bigint[]) as k', [sorted])),
  );
}
