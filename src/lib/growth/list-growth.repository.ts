import { sql, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

/** Timeline kinds that make a subscriber active: a confirmed signup, a return, an admin/API add, an import. */
export const JOIN_KINDS = ['confirmed', 'resubscribed', 'added', 'imported'] as const;
/** Timeline kinds that end an active subscription. */
export const LEAVE_KINDS = ['unsubscribed', 'bounced', 'complained'] as const;

export type JoinKind = (typeof JOIN_KINDS)[number];
export type LeaveKind = (typeof LEAVE_KINDS)[number];

export interface ListChangeRow {
  at: number;
  kind: JoinKind | LeaveKind;
  /** The event's JSON detail (an add names its form: admin, api or import). */
  detail: string | null;
  /** The issue the signup came from, when it did. */
  sourceIssueId: number | null;
}

/**
 * The timeline events that changed whether someone is on the list: a join only when the
 * person's previous status event was none or a leave (a confirmed signup, an import, a
 * return after leaving), a leave only when the previous one was a join (an unsubscribe of an
 * unconfirmed signup, or a bounce after leaving, changes nothing). One window function, the
 * same SQL in SQLite and PostgreSQL.
 */
function listChanges(db: Db, to: number) {
  const all = [...JOIN_KINDS, ...LEAVE_KINDS];
  const statusEvents = db
    .selectFrom('subscriber_events')
    .select([
      'id',
      'subscriber_id',
      'at',
      'kind',
      'detail',
      sql<string | null>`lag(kind) over (partition by subscriber_id order by at, id)`.as('previous_kind'),
    ])
    .where('kind', 'in', all)
    .where('at', '<', to);
  return db
    .selectFrom(statusEvents.as('e'))
    .leftJoin('subscribers as s', 's.id', 'e.subscriber_id')
    .where((eb) =>
      eb.or([
        eb.and([
          eb('e.kind', 'in', [...JOIN_KINDS]),
          eb.or([eb('e.previous_kind', 'is', null), eb('e.previous_kind', 'in', [...LEAVE_KINDS])]),
        ]),
        eb.and([eb('e.kind', 'in', [...LEAVE_KINDS]), eb('e.previous_kind', 'in', [...JOIN_KINDS])]),
      ]),
    );
}

/** Joins and leaves before `before`: the list's size when a range starts. */
export async function countListChangesBefore(db: Db, before: number): Promise<{ joins: number; leaves: number }> {
  const rows = await listChanges(db, before)
    .select([
      sql<number>`count(*)`.as('n'),
      sql<string>`case when e.kind in ('unsubscribed', 'bounced', 'complained') then 'leave' else 'join' end`.as(
        'change',
      ),
    ])
    .groupBy(sql`case when e.kind in ('unsubscribed', 'bounced', 'complained') then 'leave' else 'join' end`)
    .execute();
  const n = (change: string) => Number(rows.find((r) => r.change === change)?.n ?? 0);
  return { joins: n('join'), leaves: n('leave') };
}

/** Each join and leave in [from, to). */
export async function findListChanges(db: Db, from: number, to: number): Promise<ListChangeRow[]> {
  const rows = await listChanges(db, to)
    .select(['e.at', 'e.kind', 'e.detail', 's.source_issue_id'])
    .where('e.at', '>=', from)
    .orderBy('e.at')
    .execute();
  return rows.map((r) => ({
    at: Number(r.at),
    kind: r.kind as JoinKind | LeaveKind,
    detail: r.detail,
    sourceIssueId: r.source_issue_id === null ? null : Number(r.source_issue_id),
  }));
}

/** When each erasure in [from, to) happened (the person and their timeline are gone; the suppression row stays). */
export async function findErasureTimes(db: Db, from: number, to: number): Promise<number[]> {
  const rows = await db
    .selectFrom('suppressions')
    .select('at')
    .where('reason', '=', 'erased')
    .where('at', '>=', from)
    .where('at', '<', to)
    .execute();
  return rows.map((r) => Number(r.at));
}
