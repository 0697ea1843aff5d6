import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * Report queries that read the deliveries ledger (never pruned) and the send times. Maintained
 * event counts, unique ones included, are read through counts/ledger.ts.
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
  return rows.map((r) => ({
    issueId: Number(r.id),
    slug: r.slug,
    subject: r.subject,
    sentAt: Number(r.started_at),
    state: r.state,
  }));
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

/** Per issue: the ledger's counts by status (read from the status index alone) and its complaints (a partial index). */
export async function countDeliveriesByIssue(db: Db, issueIds: readonly number[]): Promise<DeliveryTotals[]> {
  if (issueIds.length === 0) return [];
  const [byStatus, complaints] = await Promise.all([
    db
      .selectFrom('deliveries')
      .select(['issue_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('issue_id', 'in', issueIds)
      .groupBy(['issue_id', 'status'])
      .execute(),
    db
      .selectFrom('deliveries')
      .select(['issue_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('issue_id', 'in', issueIds)
      .where('complained_at', 'is not', null)
      .groupBy('issue_id')
      .execute(),
  ]);
  const totals = new Map<number, DeliveryTotals>();
  const of = (issueId: number) => {
    let t = totals.get(issueId);
    if (!t)
      totals.set(
        issueId,
        (t = { issueId, recipients: 0, delivered: 0, bounced: 0, failed: 0, skipped: 0, pending: 0, complained: 0 }),
      );
    return t;
  };
  for (const r of byStatus) {
    // Held out by an experiment: never sent, so neither a recipient nor in any rate (src/lib/experiments).
    if (r.status === 'held_out') continue;
    const t = of(Number(r.issue_id));
    const n = Number(r.n);
    t.recipients += n;
    if (r.status === 'sent') t.delivered += n;
    else if (r.status === 'bounced') t.bounced += n;
    else if (r.status === 'failed') t.failed += n;
    else if (r.status === 'skipped') t.skipped += n;
    else t.pending += n;
  }
  for (const r of complaints) of(Number(r.issue_id)).complained = Number(r.n);
  return [...totals.values()];
}

export interface RegisteredLink {
  id: number;
  position: number;
  url: string;
  label: string | null;
  kind: string;
}

export async function findRegisteredLinks(db: Db, issueId: number): Promise<RegisteredLink[]> {
  const rows = await db
    .selectFrom('issue_links')
    .select(['id', 'position', 'url', 'label', 'kind'])
    .where('issue_id', '=', issueId)
    .orderBy('position')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    position: Number(r.position),
    url: r.url,
    label: r.label,
    kind: r.kind,
  }));
}

/** Start time and subject of every send that has started, oldest first (marking sends, excluding touched weeks). */
export async function findSendTimes(db: Db): Promise<{ issueId: number; subject: string; sentAt: number }[]> {
  const rows = await db
    .selectFrom('sends')
    .innerJoin('issues', 'issues.id', 'sends.issue_id')
    .select(['sends.issue_id', 'issues.subject', 'sends.started_at'])
    .where('sends.started_at', 'is not', null)
    .orderBy('sends.started_at')
    .execute();
  return rows.map((r) => ({ issueId: Number(r.issue_id), subject: r.subject, sentAt: Number(r.started_at) }));
}
