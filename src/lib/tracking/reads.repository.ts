import { sql, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { ClickClass, Database } from '../db/schema.ts';
import { nullableNumber } from './delivery-firsts.ts';

type Db = DB | Transaction<Database>;

/** Tracking's reads: lookups for the fast path, and a subscriber's timeline. Hits are written by the hit writer (hit-writer.ts). */

// ---- Lookups for the fast path ---------------------------------------------------------------

export interface TrackedDelivery {
  id: number;
  issueId: number;
  subscriberId: number | null;
  sentAt: number | null;
}

/** One delivery by id (answers that record nothing; a recorded hit reads its delivery in the writer). */
export async function findDeliveryById(db: Db, id: number): Promise<TrackedDelivery | undefined> {
  const r = await db
    .selectFrom('deliveries')
    .select(['id', 'issue_id', 'subscriber_id', 'sent_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  return r && trackedDeliveryOf(r);
}

function trackedDeliveryOf(r: {
  id: number;
  issue_id: number;
  subscriber_id: number | null;
  sent_at: number | null;
}): TrackedDelivery {
  return {
    id: Number(r.id),
    issueId: Number(r.issue_id),
    subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id),
    sentAt: r.sent_at === null ? null : Number(r.sent_at),
  };
}

/** The issue a registered link belongs to (links are cached per issue after that). */
export async function findLinkIssueId(db: Db, linkId: number): Promise<number | undefined> {
  const row = await db.selectFrom('issue_links').select('issue_id').where('id', '=', linkId).executeTakeFirst();
  return row ? Number(row.issue_id) : undefined;
}

/** Issue ids for utm_campaign values (issue slugs). */
export async function findIssueIdsBySlugs(db: Db, slugs: readonly string[]): Promise<{ id: number; slug: string }[]> {
  if (slugs.length === 0) return [];
  const rows = await db.selectFrom('issues').select(['id', 'slug']).where('slug', 'in', slugs).execute();
  return rows.map((r) => ({ id: Number(r.id), slug: r.slug }));
}

/** The class of a delivery's click at a time (an attribution cookie names its click so), if stored. */
export async function findClickClass(db: Db, deliveryId: number, at: number): Promise<ClickClass | undefined> {
  const row = await db
    .selectFrom('clicks')
    .select('class')
    .where('delivery_id', '=', deliveryId)
    .where('at', '=', at)
    .orderBy('class', 'desc')
    .executeTakeFirst();
  return row?.class;
}

export async function findIssueIdBySlug(db: Db, slug: string): Promise<number | undefined> {
  const row = await db.selectFrom('issues').select('id').where('slug', '=', slug).executeTakeFirst();
  return row ? Number(row.id) : undefined;
}

// ---- Reads for the subscriber timeline --------------------------------------------------------

export interface TimelineEntry {
  at: number;
  kind: 'opened' | 'clicked' | 'visited';
  issueId: number | null;
  detail: string;
}

/**
 * A subscriber's opens, clicks and attributed visits, newest first (stored with per-person
 * tracking on). Opens and clicks are found through the person's deliveries: the event tables
 * have no index by subscriber (one would cost every pixel and click a random page).
 */
export async function findTrackingEventsBySubscriber(
  db: Db,
  subscriberId: number,
  limit = 200,
): Promise<TimelineEntry[]> {
  const deliveries = db.selectFrom('deliveries').select('id').where('subscriber_id', '=', subscriberId);
  const rows = await db
    .selectFrom('opens')
    .select([
      sql<string>`'opened'`.as('kind'),
      'at',
      sql<number | null>`${sql.ref('issue_id')}`.as('issue_id'),
      sql<string>`${sql.ref('class')} || ': ' || ${sql.ref('reason')}`.as('detail'),
    ])
    .where('delivery_id', 'in', deliveries)
    .where('subscriber_id', '=', subscriberId)
    .unionAll((eb) =>
      eb
        .selectFrom('clicks')
        .innerJoin('issue_links', 'issue_links.id', 'clicks.link_id')
        .select([
          sql<string>`'clicked'`.as('kind'),
          'clicks.at',
          sql<number | null>`${sql.ref('clicks.issue_id')}`.as('issue_id'),
          sql<string>`${sql.ref('clicks.class')} || ': ' || ${sql.ref('issue_links.url')}`.as('detail'),
        ])
        .where('clicks.delivery_id', 'in', deliveries)
        .where('clicks.subscriber_id', '=', subscriberId),
    )
    .unionAll((eb) =>
      eb
        .selectFrom('visits')
        .select([
          sql<string>`'visited'`.as('kind'),
          sql<number>`${sql.ref('started_at')}`.as('at'),
          'issue_id',
          sql<string>`${sql.ref('landing_path')} || case when ${sql.ref('is_later')} = 1 then ' (later visit)' else '' end`.as(
            'detail',
          ),
        ])
        .where('subscriber_id', '=', subscriberId),
    )
    .orderBy('at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    at: Number(r.at),
    kind: r.kind as TimelineEntry['kind'],
    issueId: nullableNumber(r.issue_id),
    detail: r.detail,
  }));
}
