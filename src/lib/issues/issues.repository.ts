import type { Insertable, Selectable, Transaction, Updateable } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, IssueLinkTable, IssueSnapshotTable, IssueStatus, IssueTable } from '../db/schema.ts';

export type IssueRow = Selectable<IssueTable>;
export type IssueLinkRow = Selectable<IssueLinkTable>;
export type IssueSnapshotRow = Selectable<IssueSnapshotTable>;
type Db = DB | Transaction<Database>;

export async function insertIssue(db: Db, row: Insertable<IssueTable>): Promise<number> {
  const inserted = await db.insertInto('issues').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findIssueById(db: Db, id: number): Promise<IssueRow | undefined> {
  return db.selectFrom('issues').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findIssueBySlug(db: Db, slug: string): Promise<IssueRow | undefined> {
  return db.selectFrom('issues').selectAll().where('slug', '=', slug).executeTakeFirst();
}

/** Slugs equal to `base` or starting with `base-`: to pick the next free one. */
export async function findSlugsLike(db: Db, base: string): Promise<string[]> {
  const rows = await db
    .selectFrom('issues')
    .select('slug')
    .where((eb) => eb.or([eb('slug', '=', base), eb('slug', 'like', `${base.replace(/[%_\\]/g, '')}-%`)]))
    .execute();
  return rows.map((r) => r.slug);
}

/** Every issue, most recently changed first, without the body (the list page). */
export async function listIssueRows(
  db: Db,
  limit = 500,
): Promise<Omit<IssueRow, 'body_markdown' | 'featured_articles' | 'tracked_phone' | 'tracked_phone_display'>[]> {
  return db
    .selectFrom('issues')
    .select(['id', 'slug', 'subject', 'preheader', 'status', 'created_by', 'created_at', 'updated_at', 'sent_at'])
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Sent issues, newest first (the web archive and its feed). */
export async function listSentIssueRows(
  db: Db,
  limit = 500,
): Promise<Pick<IssueRow, 'id' | 'slug' | 'subject' | 'preheader' | 'sent_at'>[]> {
  return db
    .selectFrom('issues')
    .select(['id', 'slug', 'subject', 'preheader', 'sent_at'])
    .where('status', '=', 'sent')
    .orderBy('sent_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Updates an issue only while it is in one of `statuses`; false when it was not (or is gone). */
export async function updateIssueInStatus(
  db: Db,
  id: number,
  statuses: readonly IssueStatus[],
  changes: Updateable<IssueTable>,
): Promise<boolean> {
  const result = await db
    .updateTable('issues')
    .set(changes)
    .where('id', '=', id)
    .where('status', 'in', [...statuses])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Registers links; a row with the same (issue, fingerprint) is kept as it is. */
export async function insertLinksIfMissing(db: Db, rows: Insertable<IssueLinkTable>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    await db
      .insertInto('issue_links')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) => oc.columns(['issue_id', 'fingerprint']).doNothing())
      .execute();
  }
}

export async function findLinksByIssue(db: Db, issueId: number): Promise<IssueLinkRow[]> {
  return db
    .selectFrom('issue_links')
    .selectAll()
    .where('issue_id', '=', issueId)
    .orderBy('position')
    .orderBy('id')
    .execute();
}

/** One registered link: what the click redirect (src/lib/tracking) looks up by the token's link id. */
export async function findLinkById(db: Db, id: number): Promise<IssueLinkRow | undefined> {
  return db.selectFrom('issue_links').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The links of the draft's latest rendering are current; every other link of the issue is retired from `now` (if not already). */
export async function retireLinksExcept(
  db: Db,
  issueId: number,
  current: readonly string[],
  now: number,
): Promise<void> {
  let retire = db
    .updateTable('issue_links')
    .set({ retired_at: now })
    .where('issue_id', '=', issueId)
    .where('retired_at', 'is', null);
  if (current.length > 0) retire = retire.where('fingerprint', 'not in', [...current]);
  await retire.execute();
  if (current.length > 0)
    await db
      .updateTable('issue_links')
      .set({ retired_at: null })
      .where('issue_id', '=', issueId)
      .where('fingerprint', 'in', [...current])
      .where('retired_at', 'is not', null)
      .execute();
}

/** Drops the links of an issue that are not in `keep` (those only earlier drafts had). */
export async function deleteLinksExcept(db: Db, issueId: number, keep: readonly number[]): Promise<void> {
  let query = db.deleteFrom('issue_links').where('issue_id', '=', issueId);
  if (keep.length > 0) query = query.where('id', 'not in', [...keep]);
  await query.execute();
}

/** Stores the snapshot unless one exists; true when this call stored it. */
export async function insertSnapshotIfMissing(db: Db, row: Insertable<IssueSnapshotTable>): Promise<boolean> {
  const result = await db
    .insertInto('issue_snapshots')
    .values(row)
    .onConflict((oc) => oc.column('issue_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function findSnapshot(db: Db, issueId: number): Promise<IssueSnapshotRow | undefined> {
  return db.selectFrom('issue_snapshots').selectAll().where('issue_id', '=', issueId).executeTakeFirst();
}

/** Ids of the issues that have a snapshot, among `ids`. */
export async function findFrozenIssueIds(db: Db, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('issue_snapshots')
    .select('issue_id')
    .where('issue_id', 'in', [...ids])
    .execute();
  return new Set(rows.map((r) => Number(r.issue_id)));
}

/**
 * The issues whose snapshot carries the tracked number hashed `trackedPhoneHash`, with when they
 * started going out, latest first: a call's issue is the first that started before it
 * (creditedIssue). A number reused by a later issue credits calls to the earlier one until the
 * later one goes out.
 */
export async function findIssuesByTrackedPhoneHash(
  db: Db,
  trackedPhoneHash: string,
): Promise<{ id: number; created_at: number }[]> {
  const rows = await db
    .selectFrom('issue_snapshots')
    .select(['issue_id', 'created_at'])
    .where('tracked_phone_hash', '=', trackedPhoneHash)
    .orderBy('created_at', 'desc')
    .orderBy('issue_id', 'desc')
    .execute();
  return rows.map((r) => ({ id: Number(r.issue_id), created_at: Number(r.created_at) }));
}

/** Snapshots stored before tracked numbers were hashed: their issue's tracked number (unchanged since, a frozen issue cannot be edited). */
export async function findSnapshotsWithoutPhoneHash(db: Db): Promise<{ issueId: number; trackedPhone: string }[]> {
  const rows = await db
    .selectFrom('issue_snapshots')
    .innerJoin('issues', 'issues.id', 'issue_snapshots.issue_id')
    .select(['issues.id', 'issues.tracked_phone'])
    .where('issue_snapshots.tracked_phone_hash', 'is', null)
    .where('issues.tracked_phone', 'is not', null)
    .execute();
  return rows.map((r) => ({ issueId: Number(r.id), trackedPhone: r.tracked_phone! }));
}

export async function setSnapshotPhoneHash(db: Db, issueId: number, trackedPhoneHash: string): Promise<void> {
  await db
    .updateTable('issue_snapshots')
    .set({ tracked_phone_hash: trackedPhoneHash })
    .where('issue_id', '=', issueId)
    .execute();
}

/** Subjects of the issues among `ids` (for lists that name issues). */
export async function findIssueSubjects(db: Db, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('issues')
    .select(['id', 'subject'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((r) => [Number(r.id), r.subject]));
}

/** Registered links by id (any issue), for reading many click tokens at once. */
export async function findLinksByIds(db: Db, ids: readonly number[]): Promise<IssueLinkRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('issue_links')
    .selectAll()
    .where('id', 'in', [...ids])
    .execute();
}
