import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { BounceEventTable, Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

export type BounceEventRow = Omit<BounceEventTable, 'id'>;

/**
 * Stores one report; answers its id, or undefined when a row with the same `event_key` is
 * already there (a provider's retry): ON CONFLICT DO NOTHING, so two retries at once store one.
 */
export async function insertBounceEvent(db: Db, row: BounceEventRow): Promise<number | undefined> {
  const inserted = await db
    .insertInto('bounce_events')
    .values(row)
    .onConflict((oc) => oc.column('event_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? Number(inserted.id) : undefined;
}

/** A subscriber's bounce reports, newest first. */
export async function findBounceEventsBySubscriber(
  db: Db,
  subscriberId: number,
  limit: number,
): Promise<{ at: number; kind: BounceEventTable['kind']; reason: string; source: string; issueId: number }[]> {
  const rows = await db
    .selectFrom('bounce_events')
    .select(['at', 'kind', 'reason', 'source', 'issue_id'])
    .where('subscriber_id', '=', subscriberId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    at: Number(r.at),
    kind: r.kind,
    reason: r.reason,
    source: r.source,
    issueId: Number(r.issue_id),
  }));
}

/** Erasure: the reports stay (and their counts), without the person. */
export async function forgetBounceSubscriber(db: Db, subscriberId: number): Promise<void> {
  await db
    .updateTable('bounce_events')
    .set({ subscriber_id: null })
    .where('subscriber_id', '=', subscriberId)
    .execute();
}
