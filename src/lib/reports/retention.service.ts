import type { DB } from '../db/database.ts';
import { getSettings } from '../settings/settings.service.ts';
import { pruneOfflineEventsBefore } from '../offline/offline-counts.ts';
import { deleteRawEventsBefore, RAW_EVENT_TABLES, type RawEventTable } from './retention.repository.ts';

/**
 * Retention: raw events older than the retention setting are deleted. Reports read the
 * maintained counts and the deliveries ledger, so no figure changes. Deleted in chunks, each its
 * own statement, so a large first prune never holds SQLite's one writer for long.
 */
const CHUNK = 5_000;
const DAY_MS = 86_400_000;

export async function pruneRawEvents(
  db: DB,
  now = Date.now(),
): Promise<{ cutoff: number; deleted: Record<RawEventTable, number> }> {
  const settings = await getSettings(db, { now });
  const cutoff = now - settings.retentionDays * DAY_MS;
  const deleted = {} as Record<RawEventTable, number>;
  for (const table of Object.keys(RAW_EVENT_TABLES) as RawEventTable[]) {
    deleted[table] = 0;
    for (;;) {
      // Offline events: their callers' rows go with them (offline-counts.ts).
      const n =
        table === 'offline_events'
          ? await pruneOfflineEventsBefore(db, cutoff, CHUNK)
          : await deleteRawEventsBefore(db, table, cutoff, CHUNK);
      deleted[table] += n;
      if (n < CHUNK) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { cutoff, deleted };
}

/** Prunes shortly after start and then once a day; answers a stop function. */
export function schedulePruning(db: DB, options: { firstDelayMs?: number; everyMs?: number } = {}): () => void {
  const run = () => {
    void pruneRawEvents(db)
      .then(({ deleted }) => {
        const total = Object.values(deleted).reduce((a, b) => a + b, 0);
        if (total > 0) console.log(`[retention] pruned ${total} raw event(s):`, deleted);
      })
      .catch((error: unknown) =>
        console.error('[retention] pruning failed:', error instanceof Error ? error.message : error),
      );
  };
  const first = setTimeout(run, options.firstDelayMs ?? 60_000);
  const daily = setInterval(run, options.everyMs ?? DAY_MS);
  first.unref();
  daily.unref();
  return () => {
    clearTimeout(first);
    clearInterval(daily);
  };
}
