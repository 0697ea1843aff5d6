import { sql, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { DB } from '../db/database.ts';
import type { ClickClass, Database, OpenClass } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

/** One pixel load as the writer stores it. */
export interface NewOpen {
  issue_id: number;
  delivery_id: number | null;
  subscriber_id: number | null;
  at: number;
  class: OpenClass;
  reason: string;
}

/** One click as the writer stores it; `sweep` re-labels the burst it completed (a scanner). */
export interface NewClick {
  issue_id: number;
  link_id: number;
  delivery_id: number | null;
  subscriber_id: number | null;
  at: number;
  class: ClickClass;
  reason: string;
  /** This click exposed a scanner: its earlier human-looking clicks since `clicksSince`, and its opens up to `opensUntil`, are re-labelled. */
  sweep?: { clicksSince: number; opensUntil: number | null };
}

const HUMAN_OPEN_CLASSES = ['human', 'proxy'] as const;

// ---- SQLite: statements prepared once per connection ----------------------------------------

const statements = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

function prepared(sqlite: BetterSqlite3.Database, text: string): BetterSqlite3.Statement {
  let byText = statements.get(sqlite);
  if (!byText) statements.set(sqlite, (byText = new Map()));
  let statement = byText.get(text);
  if (!statement) byText.set(text, (statement = sqlite.prepare(text)));
  return statement;
}

const SQL = {
  insertOpen: 'insert into "opens" ("issue_id", "delivery_id", "subscriber_id", "at", "class", "reason") values (?, ?, ?, ?, ?, ?)',
  insertClick: 'insert into "clicks" ("issue_id", "link_id", "delivery_id", "subscriber_id", "at", "class", "reason") values (?, ?, ?, ?, ?, ?, ?)',
  firstOpened: 'update "deliveries" set "first_opened_at" = ? where "id" = ? and ("first_opened_at" is null or "first_opened_at" > ?)',
  firstClicked: 'update "deliveries" set "first_clicked_at" = ? where "id" = ? and ("first_clicked_at" is null or "first_clicked_at" > ?)',
  sweepClicks: `update "clicks" set "class" = 'bot', "reason" = ? where "delivery_id" = ? and "class" = 'human' and "at" >= ?`,
  sweepOpens: `update "opens" set "class" = 'scanner', "reason" = ? where "delivery_id" = ? and "class" in ('human', 'proxy') and "at" <= ?`,
  recomputeFirstClicked: `update "deliveries" set "first_clicked_at" = (select min("at") from "clicks" where "delivery_id" = ? and "class" = 'human') where "id" = ?`,
  recomputeFirstOpened: `update "deliveries" set "first_opened_at" = (select min("at") from "opens" where "delivery_id" = ? and "class" in ('human', 'proxy')) where "id" = ?`,
};

export function insertOpensSqlite(sqlite: BetterSqlite3.Database, rows: NewOpen[]): void {
  const insert = prepared(sqlite, SQL.insertOpen);
  const first = prepared(sqlite, SQL.firstOpened);
  for (const r of rows) {
    insert.run(r.issue_id, r.delivery_id, r.subscriber_id, r.at, r.class, r.reason);
    if (r.delivery_id !== null && (r.class === 'human' || r.class === 'proxy')) first.run(r.at, r.delivery_id, r.at);
  }
}

export function insertClicksSqlite(sqlite: BetterSqlite3.Database, rows: NewClick[]): void {
  const insert = prepared(sqlite, SQL.insertClick);
  for (const r of rows) {
    insert.run(r.issue_id, r.link_id, r.delivery_id, r.subscriber_id, r.at, r.class, r.reason);
    if (r.delivery_id === null) continue;
    if (r.class === 'human') prepared(sqlite, SQL.firstClicked).run(r.at, r.delivery_id, r.at);
    if (r.sweep) {
      prepared(sqlite, SQL.sweepClicks).run(r.reason, r.delivery_id, r.sweep.clicksSince);
      prepared(sqlite, SQL.recomputeFirstClicked).run(r.delivery_id, r.delivery_id);
      if (r.sweep.opensUntil !== null) {
        prepared(sqlite, SQL.sweepOpens).run('opened just before a link scanner clicked', r.delivery_id, r.sweep.opensUntil);
        prepared(sqlite, SQL.recomputeFirstOpened).run(r.delivery_id, r.delivery_id);
      }
    }
  }
}

// ---- PostgreSQL (and any Kysely database): the same, in the writer's transaction --------------

export async function insertOpens(db: Db, rows: NewOpen[]): Promise<void> {
  await db.insertInto('opens').values(rows).execute();
  const firsts = new Map<number, number>();
  for (const r of rows) {
    if (r.delivery_id === null || !(r.class === 'human' || r.class === 'proxy')) continue;
    const seen = firsts.get(r.delivery_id);
    if (seen === undefined || r.at < seen) firsts.set(r.delivery_id, r.at);
  }
  for (const [id, at] of firsts) await setFirstOpenedAt(db, id, at);
}

export async function insertClicks(db: Db, rows: NewClick[]): Promise<void> {
  await db.insertInto('clicks').values(rows.map(({ sweep: _sweep, ...row }) => row)).execute();
  for (const r of rows) {
    if (r.delivery_id === null) continue;
    if (r.class === 'human') await setFirstClickedAt(db, r.delivery_id, r.at);
    if (r.sweep) await sweepScannerEvents(db, r.delivery_id, r.reason, r.sweep);
  }
}

/** Sets deliveries.first_opened_at unless an earlier one is there. */
export async function setFirstOpenedAt(db: Db, deliveryId: number, at: number): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ first_opened_at: at })
    .where('id', '=', deliveryId)
    .where((eb) => eb.or([eb('first_opened_at', 'is', null), eb('first_opened_at', '>', at)]))
    .execute();
}

export async function setFirstClickedAt(db: Db, deliveryId: number, at: number): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ first_clicked_at: at })
    .where('id', '=', deliveryId)
    .where((eb) => eb.or([eb('first_clicked_at', 'is', null), eb('first_clicked_at', '>', at)]))
    .execute();
}

export async function setFirstVisitAt(db: Db, deliveryId: number, at: number): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ first_visit_at: at })
    .where('id', '=', deliveryId)
    .where((eb) => eb.or([eb('first_visit_at', 'is', null), eb('first_visit_at', '>', at)]))
    .execute();
}

async function sweepScannerEvents(db: Db, deliveryId: number, reason: string, sweep: NonNullable<NewClick['sweep']>): Promise<void> {
  await db.updateTable('clicks').set({ class: 'bot', reason }).where('delivery_id', '=', deliveryId).where('class', '=', 'human').where('at', '>=', sweep.clicksSince).execute();
  await db
    .updateTable('deliveries')
    .set((eb) => ({ first_clicked_at: eb.selectFrom('clicks').select((c) => c.fn.min<number>('at').as('m')).where('delivery_id', '=', deliveryId).where('class', '=', 'human') }))
    .where('id', '=', deliveryId)
    .execute();
  if (sweep.opensUntil === null) return;
  await db
    .updateTable('opens')
    .set({ class: 'scanner', reason: 'opened just before a link scanner clicked' })
    .where('delivery_id', '=', deliveryId)
    .where('class', 'in', HUMAN_OPEN_CLASSES)
    .where('at', '<=', sweep.opensUntil)
    .execute();
  await db
    .updateTable('deliveries')
    .set((eb) => ({ first_opened_at: eb.selectFrom('opens').select((c) => c.fn.min<number>('at').as('m')).where('delivery_id', '=', deliveryId).where('class', 'in', HUMAN_OPEN_CLASSES) }))
    .where('id', '=', deliveryId)
    .execute();
}

export const openInserter = { kysely: insertOpens, sqlite: insertOpensSqlite };
export const clickInserter = { kysely: insertClicks, sqlite: insertClicksSqlite };

// ---- Lookups for the fast path ---------------------------------------------------------------

export interface TrackedDelivery {
  id: number;
  issueId: number;
  subscriberId: number | null;
  sentAt: number | null;
}

/** The deliveries named by a batch of tokens (one query for all of them). */
export async function findDeliveriesByIds(db: Db, ids: readonly number[]): Promise<TrackedDelivery[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('deliveries').select(['id', 'issue_id', 'subscriber_id', 'sent_at']).where('id', 'in', ids).execute();
  return rows.map((r) => ({ id: Number(r.id), issueId: Number(r.issue_id), subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id), sentAt: r.sent_at === null ? null : Number(r.sent_at) }));
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

export async function findIssueIdBySlug(db: Db, slug: string): Promise<number | undefined> {
  const row = await db.selectFrom('issues').select('id').where('slug', '=', slug).executeTakeFirst();
  return row ? Number(row.id) : undefined;
}

// ---- Reads for reports and the subscriber timeline ------------------------------------------

export interface OpenRow {
  id: number;
  issue_id: number;
  delivery_id: number | null;
  subscriber_id: number | null;
  at: number;
  class: OpenClass;
  reason: string;
}

export async function findOpensByIssue(db: Db, issueId: number): Promise<OpenRow[]> {
  const rows = await db.selectFrom('opens').selectAll().where('issue_id', '=', issueId).orderBy('at').orderBy('id').execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), issue_id: Number(r.issue_id), delivery_id: nullableNumber(r.delivery_id), subscriber_id: nullableNumber(r.subscriber_id), at: Number(r.at) }));
}

export interface ClickRow extends Omit<OpenRow, 'class'> {
  link_id: number;
  class: ClickClass;
}

export async function findClicksByIssue(db: Db, issueId: number): Promise<ClickRow[]> {
  const rows = await db.selectFrom('clicks').selectAll().where('issue_id', '=', issueId).orderBy('at').orderBy('id').execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), issue_id: Number(r.issue_id), link_id: Number(r.link_id), delivery_id: nullableNumber(r.delivery_id), subscriber_id: nullableNumber(r.subscriber_id), at: Number(r.at) }));
}

/** Opens of an issue per class (all opens and likely-human opens side by side). */
export async function countOpensByClass(db: Db, issueId: number): Promise<Record<OpenClass, number>> {
  const rows = await db.selectFrom('opens').select(['class', (eb) => eb.fn.countAll<number>().as('n')]).where('issue_id', '=', issueId).groupBy('class').execute();
  const counts: Record<OpenClass, number> = { human: 0, proxy: 0, apple_mpp: 0, scanner: 0 };
  for (const r of rows) counts[r.class] = Number(r.n);
  return counts;
}

export async function countClicksByClass(db: Db, issueId: number): Promise<Record<ClickClass, number>> {
  const rows = await db.selectFrom('clicks').select(['class', (eb) => eb.fn.countAll<number>().as('n')]).where('issue_id', '=', issueId).groupBy('class').execute();
  const counts: Record<ClickClass, number> = { human: 0, bot: 0 };
  for (const r of rows) counts[r.class] = Number(r.n);
  return counts;
}

export interface TimelineEntry {
  at: number;
  kind: 'opened' | 'clicked' | 'visited';
  issueId: number | null;
  detail: string;
}

/** A subscriber's opens, clicks and attributed visits, newest first (stored with per-person tracking on). */
export async function findTrackingEventsBySubscriber(db: Db, subscriberId: number, limit = 200): Promise<TimelineEntry[]> {
  const rows = await db
    .selectFrom('opens')
    .select([sql<string>`'opened'`.as('kind'), 'at', sql<number | null>`${sql.ref('issue_id')}`.as('issue_id'), sql<string>`${sql.ref('class')} || ': ' || ${sql.ref('reason')}`.as('detail')])
    .where('subscriber_id', '=', subscriberId)
    .unionAll((eb) =>
      eb
        .selectFrom('clicks')
        .innerJoin('issue_links', 'issue_links.id', 'clicks.link_id')
        .select([sql<string>`'clicked'`.as('kind'), 'clicks.at', sql<number | null>`${sql.ref('clicks.issue_id')}`.as('issue_id'), sql<string>`${sql.ref('clicks.class')} || ': ' || ${sql.ref('issue_links.url')}`.as('detail')])
        .where('clicks.subscriber_id', '=', subscriberId),
    )
    .unionAll((eb) =>
      eb
        .selectFrom('visits')
        .select([
          sql<string>`'visited'`.as('kind'),
          sql<number>`${sql.ref('started_at')}`.as('at'),
          'issue_id',
          sql<string>`${sql.ref('landing_path')} || case when ${sql.ref('is_later')} = 1 then ' (later visit)' else '' end`.as('detail'),
        ])
        .where('subscriber_id', '=', subscriberId),
    )
    .orderBy('at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ at: Number(r.at), kind: r.kind as TimelineEntry['kind'], issueId: nullableNumber(r.issue_id), detail: r.detail }));
}

function nullableNumber(v: number | string | null | bigint): number | null {
  return v === null ? null : Number(v);
}
