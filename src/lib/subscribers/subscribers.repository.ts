import { sql, type Insertable, type Selectable, type Transaction, type Updateable } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, SubscriberStatus, SubscriberTable } from '../db/schema.ts';

export type Subscriber = Selectable<SubscriberTable>;
type Db = DB | Transaction<Database>;

export async function findSubscriberByEmail(db: Db, email: string): Promise<Subscriber | undefined> {
  return db.selectFrom('subscribers').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findSubscriberById(db: Db, id: number): Promise<Subscriber | undefined> {
  return db.selectFrom('subscribers').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The experiment arm of a delivery of the issue (issue 19: whose link brought a signup); null outside an experiment or when it is not the issue's. */
export async function findDeliveryArm(db: Db, deliveryId: number, issueId: number): Promise<string | null> {
  const row = await db
    .selectFrom('deliveries')
    .select('arm')
    .where('id', '=', deliveryId)
    .where('issue_id', '=', issueId)
    .executeTakeFirst();
  return row?.arm ?? null;
}

export async function insertSubscriber(db: Db, row: Insertable<SubscriberTable>): Promise<number> {
  const inserted = await db.insertInto('subscribers').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function updateSubscriber(db: Db, id: number, changes: Updateable<SubscriberTable>): Promise<void> {
  await db.updateTable('subscribers').set(changes).where('id', '=', id).execute();
}

/** Marks subscribers updated (a chunk at a time). */
export async function touchSubscribers(db: Db, ids: readonly number[], now: number): Promise<void> {
  if (ids.length > 0) await db.updateTable('subscribers').set({ updated_at: now }).where('id', 'in', ids).execute();
}

/** Gives a subscriber a name, unless they have one by now. */
export async function setNameIfMissing(db: Db, id: number, name: string): Promise<void> {
  await db.updateTable('subscribers').set({ name }).where('id', '=', id).where('name', 'is', null).execute();
}

export async function deleteSubscriber(db: Db, id: number): Promise<void> {
  await db.deleteFrom('subscribers').where('id', '=', id).execute();
}

export async function findTopics(db: Db, subscriberId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('subscriber_topics')
    .select('topic')
    .where('subscriber_id', '=', subscriberId)
    .orderBy('topic')
    .execute();
  return rows.map((r) => r.topic);
}

export async function replaceTopics(db: Db, subscriberId: number, topics: readonly string[]): Promise<void> {
  await db.deleteFrom('subscriber_topics').where('subscriber_id', '=', subscriberId).execute();
  if (topics.length > 0)
    await db
      .insertInto('subscriber_topics')
      .values(topics.map((topic) => ({ subscriber_id: subscriberId, topic })))
      .execute();
}

export async function insertSubscriberEvent(
  db: Db,
  subscriberId: number,
  at: number,
  kind: string,
  detail?: Record<string, unknown>,
): Promise<void> {
  await db
    .insertInto('subscriber_events')
    .values({ subscriber_id: subscriberId, at, kind, detail: detail ? JSON.stringify(detail) : null })
    .execute();
}

/** A subscriber's timeline, newest first (at most `limit` events when given). */
export async function findSubscriberEvents(
  db: Db,
  subscriberId: number,
  limit?: number,
): Promise<{ at: number; kind: string; detail: string | null }[]> {
  const query = db
    .selectFrom('subscriber_events')
    .select(['at', 'kind', 'detail'])
    .where('subscriber_id', '=', subscriberId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc');
  return (limit === undefined ? query : query.limit(limit)).execute();
}

/** When a subscriber's events of one kind happened since `since`, newest first. */
export async function findEventTimesSince(
  db: Db,
  subscriberId: number,
  kind: string,
  since: number,
): Promise<number[]> {
  const rows = await db
    .selectFrom('subscriber_events')
    .select('at')
    .where('subscriber_id', '=', subscriberId)
    .where('kind', '=', kind)
    .where('at', '>=', since)
    .orderBy('at', 'desc')
    .execute();
  return rows.map((r) => Number(r.at));
}

export async function findSuppression(db: Db, emailHash: string): Promise<{ reason: string } | undefined> {
  return db.selectFrom('suppressions').select('reason').where('email_hash', '=', emailHash).executeTakeFirst();
}

export async function insertSuppression(
  db: Db,
  emailHash: string,
  reason: 'bounced' | 'complained' | 'erased' | 'manual',
  at: number,
): Promise<void> {
  await db
    .insertInto('suppressions')
    .values({ email_hash: emailHash, reason, at })
    .onConflict((oc) => oc.column('email_hash').doUpdateSet({ reason, at }))
    .execute();
}

export interface SubscriberFilter {
  search?: string;
  status?: SubscriberStatus;
  topic?: string;
}

export interface SubscriberListRow {
  id: number;
  email: string;
  name: string | null;
  status: SubscriberStatus;
  paused: number;
  created_at: number;
  source_form: string | null;
  source_campaign: string | null;
}

function filtered(db: Db, filter: SubscriberFilter) {
  let query = db.selectFrom('subscribers');
  if (filter.status) query = query.where('subscribers.status', '=', filter.status);
  if (filter.topic) {
    const topic = filter.topic;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('subscriber_topics')
          .select('topic')
          .whereRef('subscriber_topics.subscriber_id', '=', 'subscribers.id')
          .where('subscriber_topics.topic', '=', topic),
      ),
    );
  }
  if (filter.search) query = query.where(matchesSearch(filter.search));
  return query;
}

/** A substring of the address or the name; % and _ typed in the search are literal (ESCAPE '\' in both dialects). */
function matchesSearch(search: string) {
  const pattern = `%${search.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  return sql<boolean>`(${sql.ref('subscribers.email')} like ${pattern} escape '\\' or lower(${sql.ref('subscribers.name')}) like ${pattern} escape '\\')`;
}

/**
 * One page by keyset, constant cost however deep the page: newest first below `beforeId`
 * (older), or — with `afterId` — the `limit` rows just above it, oldest first (the caller
 * reverses them to show the newer page).
 */
export async function listSubscribers(
  db: Db,
  filter: SubscriberFilter,
  page: { beforeId?: number; afterId?: number; limit: number },
): Promise<SubscriberListRow[]> {
  let query = filtered(db, filter).select([
    'id',
    'email',
    'name',
    'status',
    'paused',
    'created_at',
    'source_form',
    'source_campaign',
  ]);
  if (page.afterId)
    return query
      .where('subscribers.id', '>', page.afterId)
      .orderBy('subscribers.id', 'asc')
      .limit(page.limit)
      .execute();
  if (page.beforeId) query = query.where('subscribers.id', '<', page.beforeId);
  return query.orderBy('subscribers.id', 'desc').limit(page.limit).execute();
}

/**
 * How many match. With a topic, counted from that topic's index entries joined to their
 * subscribers (a part of the table, rather than a probe for every subscriber; docs/performance.md).
 */
export async function countSubscribers(db: Db, filter: SubscriberFilter): Promise<number> {
  if (!filter.topic) {
    const row = await filtered(db, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
  let query = db
    .selectFrom('subscriber_topics')
    .innerJoin('subscribers', 'subscribers.id', 'subscriber_topics.subscriber_id')
    .where('subscriber_topics.topic', '=', filter.topic);
  if (filter.status) query = query.where('subscribers.status', '=', filter.status);
  if (filter.search) query = query.where(matchesSearch(filter.search));
  const row = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Every matching subscriber, for export, in id order, a chunk at a time. */
export async function listSubscribersAfter(
  db: Db,
  filter: SubscriberFilter,
  afterId: number,
  limit: number,
): Promise<Subscriber[]> {
  return filtered(db, filter)
    .selectAll('subscribers')
    .where('subscribers.id', '>', afterId)
    .orderBy('subscribers.id')
    .limit(limit)
    .execute();
}

export async function findTopicsOf(db: Db, subscriberIds: readonly number[]): Promise<Map<number, string[]>> {
  const topics = new Map<number, string[]>();
  if (subscriberIds.length === 0) return topics;
  const rows = await db
    .selectFrom('subscriber_topics')
    .select(['subscriber_id', 'topic'])
    .where('subscriber_id', 'in', subscriberIds)
    .orderBy('topic')
    .execute();
  for (const row of rows) {
    const id = Number(row.subscriber_id);
    topics.set(id, [...(topics.get(id) ?? []), row.topic]);
  }
  return topics;
}

export async function countByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('subscribers')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** True once the list has anybody on it, whatever their status (the first-steps list's "import"). */
export async function hasAnySubscriber(db: Db): Promise<boolean> {
  return (await db.selectFrom('subscribers').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/**
 * Sets (a keyed hash) or clears (null) the phone number of subscribers by address. `phone_set_at`
 * moves only when the number changes: the same number sent again keeps the time it was first on
 * file (the holdout's "on file before the send"); SET reads the row as it was before the update.
 */
export async function setPhoneHashes(db: Db, byEmail: ReadonlyMap<string, string | null>, now: number): Promise<void> {
  for (const [email, hash] of byEmail)
    await db
      .updateTable('subscribers')
      .set((eb) => ({
        phone_hash: hash,
        phone_set_at:
          hash === null ? null : eb.case().when('phone_hash', '=', hash).then(eb.ref('phone_set_at')).else(now).end(),
        updated_at: now,
      }))
      .where('email', '=', email)
      .execute();
}

/** The subscribers with these phone hashes (a hash two share is a shared line: the caller's rule links nobody then). */
export async function findSubscribersByPhoneHashes(
  db: Db,
  phoneHashes: readonly string[],
): Promise<{ phone_hash: string; id: number }[]> {
  if (phoneHashes.length === 0) return [];
  const rows = await db
    .selectFrom('subscribers')
    .select(['phone_hash', 'id'])
    .where('phone_hash', 'in', phoneHashes)
    .execute();
  return rows.map((r) => ({ phone_hash: r.phone_hash!, id: Number(r.id) }));
}
