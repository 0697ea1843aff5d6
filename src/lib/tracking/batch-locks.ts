import { CompiledQuery, type Transaction } from 'kysely';
import { keptPrepared } from '../db/pipelined-postgres.ts';
import { advisoryLockKey, lockAdvisoryKeys } from '../db/advisory-locks.ts';
import type { QueuedRow } from '../events/event-writer.ts';
import { hitInserter, type TrackingHit } from './hit-writer.ts';
import { visitorKeyOf, type PageViewEvent } from '../analytics/visits.ts';

/**
 * PostgreSQL, first in each writer transaction: the rows of every delivery the batch's hits and
 * page views name, locked in id order (SELECT … FOR UPDATE), then the visitors whose visits its
 * page views continue (transaction-scoped advisory locks, in key order). Two server processes then
 * judge one delivery's hits, and keep one visitor's visit, one after the other — and since every
 * batch takes its locks in the same order up front, two batches cannot deadlock.
 */
const VISITOR_LOCK_SPACE = 2 ** 40;

/** The lock for a writer of tracking hits (`hitInserter`) and of page views (`pageViews`, a VisitTracker's inserter). */
export function trackingBatchLock(
  pageViews: QueuedRow['inserter'],
): (trx: Transaction<any>, batch: readonly QueuedRow[]) => Promise<void> {
  return (trx, batch) => lockTrackingBatch(trx, batch, pageViews);
}

async function lockTrackingBatch(
  trx: Transaction<any>,
  batch: readonly QueuedRow[],
  pageViews: QueuedRow['inserter'],
): Promise<void> {
  const deliveries = new Set<number>();
  const visitors = new Set<number>();
  // Hits alone: their inserter's one read of the batch's deliveries locks them, in id order.
  if (batch.every((p) => p.inserter === hitInserter)) return;
  for (const { inserter, row } of batch) {
    if (inserter === hitInserter) {
      const hit = row as TrackingHit;
      if (hit.deliveryId > 0) deliveries.add(hit.deliveryId);
    } else if (inserter === pageViews) {
      const view = row as PageViewEvent;
      if (view.clickMarker) deliveries.add(view.clickMarker.deliveryId);
      if (view.attribution && view.attribution.deliveryId > 0) deliveries.add(view.attribution.deliveryId);
      if (!view.is_bot) visitors.add(advisoryLockKey(VISITOR_LOCK_SPACE, visitorKeyOf(view)));
    }
  }
  if (deliveries.size > 0) {
    const ids = [...deliveries].sort((a, b) => a - b);
    await trx.executeQuery(
      keptPrepared(
        CompiledQuery.raw(`select "id" from "deliveries" where "id" = any($1::bigint[]) order by "id" for update`, [
          ids,
        ]),
      ),
    );
  }
  await lockAdvisoryKeys(trx, visitors);
}
