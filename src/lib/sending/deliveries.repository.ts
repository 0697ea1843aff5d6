import { sql } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { dialectOf } from '../db/database.ts';
import type { DeliveryStatus } from '../db/schema.ts';
import { countedDeliveries } from '../reports/people.repository.ts';
import type { Audience, ClaimedDelivery, Db, DeliveryCounts } from './sending.ts';

/**
 * The active, not paused subscribers of an audience: with one of its topics when it has
 * some, and among the people behind its figure when it has a behaviour (someone who
 * unsubscribed or paused since is left out, as from any audience).
 */
function audienceSubscribers(db: Db, audience: Audience) {
  let query = db
    .selectFrom('subscribers')
    .where('subscribers.status', '=', 'active')
    .where('subscribers.paused', '=', 0);
  const topics = audience.topics;
  if (topics && topics.length > 0) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('subscriber_topics')
          .select('subscriber_topics.topic')
          .whereRef('subscriber_topics.subscriber_id', '=', 'subscribers.id')
          .where('subscriber_topics.topic', 'in', topics),
      ),
    );
  }
  const behaviour = audience.behaviour;
  if (behaviour)
    query = query.where(
      'subscribers.id',
      'in',
      countedDeliveries(db, behaviour)
        .select('deliveries.subscriber_id')
        .where('deliveries.subscriber_id', 'is not', null),
    );
  return query;
}

/**
 * Freezes the audience: one INSERT … SELECT makes a `queued` ledger row for every subscriber
 * of the audience (audienceSubscribers). ON CONFLICT DO NOTHING on (issue_id, subscriber_id)
 * makes it idempotent: run twice, or by two requests at once, it still leaves one row per
 * recipient. Answers the number of rows it added.
 */
export async function freezeAudience(db: Db, send: { issueId: number } & Audience, now: number): Promise<number> {
  // Trusted integers and a constant, inlined so PostgreSQL types them from the target columns.
  const audience = audienceSubscribers(db, send).select([
    sql.lit(send.issueId).as('issue_id'),
    'subscribers.id as subscriber_id',
    sql.lit('queued').as('status'),
    sql.lit(now).as('next_attempt_at'),
    sql.lit(now).as('created_at'),
  ]);
  const result = await db
    .insertInto('deliveries')
    .columns(['issue_id', 'subscriber_id', 'status', 'next_attempt_at', 'created_at'])
    .expression(audience)
    .onConflict((oc) => oc.columns(['issue_id', 'subscriber_id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/** How many subscribers the audience has right now (the estimate shown before sending). */
export async function countAudience(db: Db, audience: Audience): Promise<number> {
  const row = await audienceSubscribers(db, audience)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Claims up to `limit` due rows of a running send for `workerId`: status `sending` with
 * claimed_at as the start of the lease. PostgreSQL: the rows are picked with FOR UPDATE SKIP
 * LOCKED, so workers running this at once never get the same row and never wait for each other.
 * SQLite runs one worker and serialises writes, so the same statement without the lock clause.
 */
export async function claimDueDeliveries(
  db: Db,
  send: { id: number; issueId: number },
  workerId: string,
  limit: number,
  now: number,
): Promise<ClaimedDelivery[]> {
  let due = db
    .selectFrom('deliveries')
    .select('deliveries.id')
    .where('deliveries.issue_id', '=', send.issueId)
    .where('deliveries.status', '=', 'queued')
    .where('deliveries.next_attempt_at', '<=', now)
    .orderBy('deliveries.next_attempt_at')
    .orderBy('deliveries.id')
    .limit(limit);
  if (dialectOf(db) === 'postgres') due = due.forUpdate().skipLocked();
  const rows = await db
    .updateTable('deliveries')
    .set({ status: 'sending', claimed_by: workerId, claimed_at: now })
    .where('id', 'in', due)
    .where('status', '=', 'queued')
    .returning(['id', 'issue_id', 'subscriber_id', 'attempts', 'arm'])
    .execute();
  return rows
    .map((r) => ({
      id: Number(r.id),
      sendId: send.id,
      issueId: Number(r.issue_id),
      subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id),
      attempts: Number(r.attempts),
      arm: r.arm,
    }))
    .sort((a, b) => a.id - b.id);
}

export interface DeliveryUpdate {
  id: number;
  status: Exclude<DeliveryStatus, 'sending'>;
  attempts: number;
  reason?: string | null;
  nextAttemptAt?: number;
  sentAt?: number;
  messageId?: string;
  smtpResponse?: string | null;
}

// SQLite: the outcome UPDATE is the hot path (one per message), prepared once per connection
// and run with bound values, like the event writer's insert; the same statement as below.
const OUTCOME_SQLITE =
  'update "deliveries" set "status" = ?, "attempts" = ?, "reason" = ?, "claimed_by" = null, "claimed_at" = null, ' +
  '"next_attempt_at" = coalesce(?, "next_attempt_at"), "sent_at" = coalesce(?, "sent_at"), "message_id" = coalesce(?, "message_id"), "smtp_response" = coalesce(?, "smtp_response") ' +
  'where "id" = ? and (? = \'sent\' or "claimed_by" = ?)';
const outcomeStatements = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

/**
 * Writes the outcome of each attempt and ends its claim. A `sent` is written whoever holds the
 * claim now (the message went); any other outcome only by the worker that still holds it.
 * Pass `sqlite` (the handle behind `db`, inside its transaction) for the prepared-once path.
 */
export async function recordDeliveryOutcomes(
  db: Db,
  workerId: string,
  updates: readonly DeliveryUpdate[],
  sqlite?: BetterSqlite3.Database,
): Promise<void> {
  if (sqlite) {
    let statement = outcomeStatements.get(sqlite);
    if (!statement) outcomeStatements.set(sqlite, (statement = sqlite.prepare(OUTCOME_SQLITE)));
    for (const u of updates) {
      statement.run(
        u.status,
        u.attempts,
        u.reason ?? null,
        u.nextAttemptAt ?? null,
        u.sentAt ?? null,
        u.messageId ?? null,
        u.smtpResponse ?? null,
        u.id,
        u.status,
        workerId,
      );
    }
    return;
  }
  for (const u of updates) {
    await db
      .updateTable('deliveries')
      .set({
        status: u.status,
        attempts: u.attempts,
        reason: u.reason ?? null,
        claimed_by: null,
        claimed_at: null,
        next_attempt_at: (eb) => eb.fn.coalesce(eb.val(u.nextAttemptAt ?? null), 'next_attempt_at'),
        sent_at: (eb) => eb.fn.coalesce(eb.val(u.sentAt ?? null), 'sent_at'),
        message_id: (eb) => eb.fn.coalesce(eb.val(u.messageId ?? null), 'message_id'),
        smtp_response: (eb) => eb.fn.coalesce(eb.val(u.smtpResponse ?? null), 'smtp_response'),
      })
      .where('id', '=', u.id)
      .where((eb) => (u.status === 'sent' ? eb.lit(true) : eb('claimed_by', '=', workerId)))
      .execute();
  }
}

/** Puts claimed rows that were not attempted back in the queue (a worker stopping, a send paused). */
export async function releaseClaims(db: Db, workerId: string, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({ status: 'queued', claimed_by: null, claimed_at: null })
    .where('id', 'in', ids)
    .where('claimed_by', '=', workerId)
    .where('status', '=', 'sending')
    .execute();
}

/** Extends the lease of the rows a live worker still holds. */
export async function renewClaims(db: Db, workerId: string, ids: readonly number[], now: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({ claimed_at: now })
    .where('id', 'in', ids)
    .where('claimed_by', '=', workerId)
    .where('status', '=', 'sending')
    .execute();
}

/** Rows of a send whose lease ran out (their worker died or hung) go back to the queue; answers how many. */
export async function reclaimExpiredClaims(db: Db, issueId: number, claimedBefore: number): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'queued', claimed_by: null, claimed_at: null })
    .where('issue_id', '=', issueId)
    .where('status', '=', 'sending')
    .where('claimed_at', '<', claimedBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Every row claimed by workers known to be dead goes back to the queue at once; answers how many. */
export async function releaseClaimsOfWorkers(db: Db, workerIds: readonly string[]): Promise<number> {
  if (workerIds.length === 0) return 0;
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'queued', claimed_by: null, claimed_at: null })
    .where('status', '=', 'sending')
    .where('claimed_by', 'in', workerIds)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Cancelling: every row still waiting is skipped with the reason; rows being sent finish. */
export async function skipQueuedDeliveries(db: Db, issueId: number, reason: string): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'skipped', reason })
    .where('issue_id', '=', issueId)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Rows put back in the queue after their send was cancelled (a release or a retry racing the cancel) are skipped too. */
export async function skipQueuedOfCancelledSends(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({ status: 'skipped', reason: 'cancelled' })
    .where('id', 'in', ids)
    .where('status', '=', 'queued')
    .where('issue_id', 'in', (eb) =>
      eb.selectFrom('sends').select('sends.issue_id').where('sends.state', '=', 'cancelled'),
    )
    .execute();
}

export async function countDeliveriesByStatus(db: Db, issueId: number): Promise<DeliveryCounts> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('issue_id', '=', issueId)
    .groupBy('status')
    .execute();
  const counts: DeliveryCounts = { queued: 0, sending: 0, sent: 0, failed: 0, bounced: 0, skipped: 0, total: 0 };
  for (const row of rows) {
    // Held out by an experiment: no message, so not in any count of messages (the experiment shows them).
    if (row.status === 'held_out') continue;
    const n = Number(row.n);
    if (row.status in counts) counts[row.status] += n;
    counts.total += n;
  }
  return counts;
}

/**
 * What the mail server answered for an issue's deliveries that did not go through (failed,
 * bounced, or queued again after a temporary failure), the most frequent answers first.
 */
export async function countFailureReasons(
  db: Db,
  issueId: number,
  limit: number,
): Promise<{ status: DeliveryStatus; reason: string; count: number }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', 'reason', (eb) => eb.fn.countAll<number>().as('n')])
    .where('issue_id', '=', issueId)
    .where('reason', 'is not', null)
    .where((eb) =>
      eb.or([eb('status', 'in', ['failed', 'bounced']), eb.and([eb('status', '=', 'queued'), eb('attempts', '>', 0)])]),
    )
    .groupBy(['status', 'reason'])
    .orderBy('n', 'desc')
    .orderBy('reason')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ status: r.status, reason: r.reason!, count: Number(r.n) }));
}

/** Messages of an issue accepted by the server since `since`: the recent rate. */
export async function countSentSince(db: Db, issueId: number, since: number): Promise<number> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('issue_id', '=', issueId)
    .where('sent_at', '>=', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findDeliveryByMessageId(
  db: Db,
  messageId: string,
): Promise<{ id: number; issue_id: number; subscriber_id: number | null; status: DeliveryStatus } | undefined> {
  return db
    .selectFrom('deliveries')
    .select(['id', 'issue_id', 'subscriber_id', 'status'])
    .where('message_id', '=', messageId)
    .executeTakeFirst();
}

/** An asynchronous bounce for a message that was accepted: the row becomes `bounced`. */
export async function markDeliveryBounced(db: Db, id: number, reason: string): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ status: 'bounced', reason })
    .where('id', '=', id)
    .where('status', 'in', ['sent', 'bounced'])
    .execute();
}

/** A complaint keeps the row `sent` (the message arrived) and records when, once. */
export async function markDeliveryComplained(db: Db, id: number, now: number): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ complained_at: now })
    .where('id', '=', id)
    .where('complained_at', 'is', null)
    .execute();
}

/** The deliveries of an issue that went out: to whom and when, in ledger order. */
export async function findSentDeliveries(
  db: Db,
  issueId: number,
): Promise<{ id: number; subscriberId: number | null; sentAt: number }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['id', 'subscriber_id', 'sent_at'])
    .where('issue_id', '=', issueId)
    .where('status', '=', 'sent')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id),
    sentAt: Number(r.sent_at),
  }));
}
