import { sql, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * Report queries that read the deliveries ledger (never pruned) and the send times. Maintained
 * event counts, unique ones included, are read through report-counts.repository.ts.
 */
type Db = DB | Transaction<Database>;

export interface SentIssueRow {
  issueId: number;
  slug: string;
  subject: string;
  /** When sending started (the reference for "hours since send"). */
  sentAt: number;
  state: string;
}

/** Issues whose send has started, newest first (only `issueIds` when given). */
export async function findSentIssues(db: Db, limit = 200, issueIds?: readonly number[]): Promise<SentIssueRow[]> {
  let query = db
    .selectFrom('sends')
    .innerJoin('issues', 'issues.id', 'sends.issue_id')
    .select(['issues.id', 'issues.slug', 'issues.subject', 'sends.started_at', 'sends.state'])
    .where('sends.started_at', 'is not', null);
  if (issueIds) query = query.where('issues.id', 'in', issueIds.length > 0 ? issueIds : [-1]);
  const rows = await query.orderBy('sends.started_at', 'desc').limit(limit).execute();
  return rows.map((r) => ({ issueId: Number(r.id), slug: r.slug, subject: r.subject, sentAt: Number(r.started_at), state: r.state }));
}

export interface DeliveryTotals {
  issueId: number;
  recipients: number;
  delivered: number;
  bounced: number;
  failed: number;
  skipped: number;
  pending: number;
  complained: number;
}

/** Per issue: the ledger's counts by status. */
export async function countDeliveriesByIssue(db: Db, issueIds: readonly number[]): Promise<DeliveryTotals[]> {
  if (issueIds.length === 0) return [];
  const when = (status: string) => sql<number>`sum(case when ${sql.ref('status')} = ${status} then 1 else 0 end)`;
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'issue_id',
      eb.fn.countAll<number>().as('recipients'),
      when('sent').as('delivered'),
      when('bounced').as('bounced'),
      when('failed').as('failed'),
      when('skipped').as('skipped'),
      sql<number>`sum(case when ${sql.ref('status')} in ('queued', 'sending') then 1 else 0 end)`.as('pending'),
      eb.fn.count<number>('complained_at').as('complained'),
    ])
    .where('issue_id', 'in', issueIds)
    .groupBy('issue_id')
    .execute();
  return rows.map((r) => ({
    issueId: Number(r.issue_id),
    recipients: Number(r.recipients),
    delivered: Number(r.delivered),
    bounced: Number(r.bounced),
    failed: Number(r.failed),
    skipped: Number(r.skipped),
    pending: Number(r.pending),
    complained: Number(r.complained),
  }));
}

export interface RegisteredLink {
  id: number;
  position: number;
  url: string;
  label: string | null;
  kind: string;
}

export async function findRegisteredLinks(db: Db, issueId: number): Promise<RegisteredLink[]> {
  const rows = await db.selectFrom('issue_links').select(['id', 'position', 'url', 'label', 'kind']).where('issue_id', '=', issueId).orderBy('position').orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), position: Number(r.position), url: r.url, label: r.label, kind: r.kind }));
}

/** Start times of every send that has started (for marking sends and excluding touched weeks). */
export async function findSendTimes(db: Db): Promise<{ issueId: number; sentAt: number }[]> {
  const rows = await db.selectFrom('sends').select(['issue_id', 'started_at']).where('started_at', 'is not', null).orderBy('started_at').execute();
  return rows.map((r) => ({ issueId: Number(r.issue_id), sentAt: Number(r.started_at) }));
}
