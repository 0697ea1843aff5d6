import { sql, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { DB } from '../db/database.ts';
import type { ClickClass, Database, OpenClass } from '../db/schema.ts';
import { runPlan, runPlanSqlite, type Step, type StatementPlan } from '../events/statement-plan.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas } from '../reports/report-counts.repository.ts';
import { sqliteMultiInsert, sqliteMultiUpdate } from '../events/sqlite-multi-row.ts';

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

// ---- Writing (the writer's inserters): raw rows, then first-event times and the report counts ----

const OPEN_COLUMNS = ['issue_id', 'delivery_id', 'subscriber_id', 'at', 'class', 'reason'];
const CLICK_COLUMNS = ['issue_id', 'link_id', 'delivery_id', 'subscriber_id', 'at', 'class', 'reason'];
const pushOpen = (values: unknown[], r: NewOpen) => values.push(r.issue_id, r.delivery_id, r.subscriber_id, r.at, r.class, r.reason);
const pushClick = (values: unknown[], r: NewClick) => values.push(r.issue_id, r.link_id, r.delivery_id, r.subscriber_id, r.at, r.class, r.reason);

const isHumanOpen = (c: OpenClass): boolean => c === 'human' || c === 'proxy';

const DELIVERY_FIRSTS = 'select "first_any_open_at", "first_opened_at", "first_clicked_at", "first_visit_at", "clicked_links" from "deliveries" where "id" = ?';
const SET_FIRST_OPENS = 'update "deliveries" set "first_any_open_at" = ?, "first_opened_at" = ? where "id" = ?';
const SET_CLICKED = 'update "deliveries" set "first_clicked_at" = ?, "clicked_links" = ? where "id" = ?';
const SET_FIRST_VISIT = 'update "deliveries" set "first_visit_at" = ? where "id" = ?';
const SWEPT_CLICKS = `select "at", "link_id" from "clicks" where "delivery_id" = ? and "class" = 'human' and "at" >= ?`;
const SWEEP_CLICKS = `update "clicks" set "class" = 'bot', "reason" = ? where "delivery_id" = ? and "class" = 'human' and "at" >= ?`;
const HUMAN_CLICK_ON_LINK = `select 1 as "found" from "clicks" where "delivery_id" = ? and "link_id" = ? and "class" = 'human' limit 1`;
const EARLIEST_HUMAN_CLICK = `select min("at") as "at" from "clicks" where "delivery_id" = ? and "class" = 'human'`;
const SWEPT_OPENS = `select "at", "class" from "opens" where "delivery_id" = ? and "class" in ('human', 'proxy') and "at" <= ?`;
const SWEEP_OPENS = `update "opens" set "class" = 'scanner', "reason" = ? where "delivery_id" = ? and "class" in ('human', 'proxy') and "at" <= ?`;
const EARLIEST_HUMAN_OPEN = `select min("at") as "at" from "opens" where "delivery_id" = ? and "class" in ('human', 'proxy')`;
const SCANNER_OPEN_REASON = 'opened just before a link scanner clicked';

type Firsts = { first_any_open_at: number | null; first_opened_at: number | null; first_clicked_at: number | null; first_visit_at: number | null; clicked_links: string | null };

/** `deliveries.clicked_links` (",12,15,"): the links its reader clicked, for unique clickers per link. */
const hasClickedLink = (list: string | null, linkId: number): boolean => list !== null && list.includes(`,${linkId},`);
const withClickedLink = (list: string | null, linkId: number): string => `${list ?? ','}${linkId},`;
function withoutClickedLink(list: string | null, linkId: number): string | null {
  const rest = (list ?? '').replace(`,${linkId},`, ',');
  return rest === ',' || rest === '' ? null : rest;
}

/**
 * The delivery's first-event times, and the maintained unique counts that follow them
 * ("first.open", "first.open_human", "first.click", "first.visit" in the bucket of the first
 * time): when a first time moves, its count moves from the old bucket to the new one.
 */
function* readFirsts(deliveryId: number): Generator<Step, Firsts | undefined, unknown> {
  const row = (yield { get: DELIVERY_FIRSTS, params: [deliveryId] }) as FirstsRow | undefined;
  return row && firstsOf(row);
}

/** A deliveries row's first times as numbers (PostgreSQL answers bigint columns as strings or numbers). */
type FirstsRow = { [K in Exclude<keyof Firsts, 'clicked_links'>]: number | bigint | string | null } & { clicked_links: string | null };

function firstsOf(row: FirstsRow): Firsts {
  const n = (v: number | bigint | string | null) => (v === null || v === undefined ? null : Number(v));
  return { first_any_open_at: n(row.first_any_open_at), first_opened_at: n(row.first_opened_at), first_clicked_at: n(row.first_clicked_at), first_visit_at: n(row.first_visit_at), clicked_links: row.clicked_links ?? null };
}

function moveFirst(deltas: CountDeltas, issueId: number, metric: string, from: number | null, to: number | null): void {
  if (from === to) return;
  if (from !== null) deltas.at(issueId, metric, from, -1);
  if (to !== null) deltas.at(issueId, metric, to, 1);
}

const earlier = (current: number | null, at: number): number => (current === null || at < current ? at : current);

/**
 * New first times of a batch's deliveries, one entry a delivery (its latest), written by one
 * statement at the end of a SQLite batch (a deliveries row updated one statement at a time cost
 * ~30% of a pixel batch's writer time). Only for first times the batch keeps current itself
 * (`known`): nothing in the batch reads them back from the table before they are written.
 */
type LaterFirsts = Map<number, [number | null, number | null | string]>;

const firstOpensUpdate = sqliteMultiUpdate('deliveries', 'id', ['first_any_open_at', 'first_opened_at']);
const firstClicksUpdate = sqliteMultiUpdate('deliveries', 'id', ['first_clicked_at', 'clicked_links']);

function writeLaterFirsts(sqlite: BetterSqlite3.Database, update: typeof firstOpensUpdate, later: LaterFirsts): void {
  if (later.size === 0) return;
  const values: unknown[] = [];
  for (const [deliveryId, [first, second]] of later) values.push(deliveryId, first, second);
  update(sqlite).run(values);
  later.clear();
}

// The count names per class, made once: a name built per hit is a new string that every Map lookup must hash.
const OPEN_METRIC: Record<OpenClass, string> = { human: 'open.human', proxy: 'open.proxy', apple_mpp: 'open.apple_mpp', scanner: 'open.scanner' };
const CLICK_METRIC: Record<ClickClass, string> = { human: 'click.human', bot: 'click.bot' };
const LINK_METRIC: Record<ClickClass, string> = { human: 'link.human', bot: 'link.bot' };

/**
 * An open's effect on its delivery's first open times (kept current in `firsts` for the batch's
 * later hits of the delivery) and on the unique counts: the new times, or undefined when unchanged.
 */
function moveOpenFirsts(r: NewOpen, firsts: Firsts, deltas: CountDeltas): [number, number | null] | undefined {
  const anyOpen = earlier(firsts.first_any_open_at, r.at);
  const humanOpen = isHumanOpen(r.class) ? earlier(firsts.first_opened_at, r.at) : firsts.first_opened_at;
  if (anyOpen === firsts.first_any_open_at && humanOpen === firsts.first_opened_at) return undefined;
  moveFirst(deltas, r.issue_id, 'first.open', firsts.first_any_open_at, anyOpen);
  moveFirst(deltas, r.issue_id, 'first.open_human', firsts.first_opened_at, humanOpen);
  firsts.first_any_open_at = anyOpen;
  firsts.first_opened_at = humanOpen;
  return [anyOpen, humanOpen];
}

/** One stored open's follow-ups, its delivery's first times read from the table. */
function* openFollowUp(r: NewOpen, deltas: CountDeltas): StatementPlan {
  deltas.at(r.issue_id, OPEN_METRIC[r.class], r.at);
  if (r.delivery_id === null) return;
  const firsts = yield* readFirsts(r.delivery_id);
  const moved = firsts && moveOpenFirsts(r, firsts, deltas);
  if (moved) yield { run: SET_FIRST_OPENS, params: [...moved, r.delivery_id] };
}

/**
 * The same for a SQLite batch that read the delivery's first times itself (`known`): its new
 * times wait in `later` for the batch's one UPDATE. No statement of its own, so no plan to run.
 */
function openFollowUpKnown(r: NewOpen, deliveryId: number, deltas: CountDeltas, known: Firsts, later: LaterFirsts): void {
  deltas.at(r.issue_id, OPEN_METRIC[r.class], r.at);
  const moved = moveOpenFirsts(r, known, deltas);
  if (moved) later.set(deliveryId, moved);
}

function* openFollowUps(rows: NewOpen[], deltas: CountDeltas): StatementPlan {
  for (const r of rows) yield* openFollowUp(r, deltas);
}

/** An attributed visit by the reader of a delivery: its first visit time and the unique visitors. */
export function* firstVisitFollowUp(issueId: number, deliveryId: number, at: number, deltas: CountDeltas): StatementPlan {
  const firsts = yield* readFirsts(deliveryId);
  if (!firsts || (firsts.first_visit_at !== null && firsts.first_visit_at <= at)) return;
  yield { run: SET_FIRST_VISIT, params: [at, deliveryId] };
  moveFirst(deltas, issueId, 'first.visit', firsts.first_visit_at, at);
}

/** A human click's effect on its delivery's first click time and clicked links (kept current in `firsts`), and on the unique counts. */
function moveClickFirsts(r: NewClick, firsts: Firsts, deltas: CountDeltas): [number, string | null] | undefined {
  const firstClick = earlier(firsts.first_clicked_at, r.at);
  const newClicker = !hasClickedLink(firsts.clicked_links, r.link_id);
  if (firstClick === firsts.first_clicked_at && !newClicker) return undefined;
  const links = newClicker ? withClickedLink(firsts.clicked_links, r.link_id) : firsts.clicked_links;
  moveFirst(deltas, r.issue_id, 'first.click', firsts.first_clicked_at, firstClick);
  if (newClicker) deltas.add(r.issue_id, 'link.clickers', String(r.link_id), 0);
  firsts.first_clicked_at = firstClick;
  firsts.clicked_links = links;
  return [firstClick, links];
}

function countClick(r: NewClick, deltas: CountDeltas): void {
  deltas.at(r.issue_id, CLICK_METRIC[r.class], r.at);
  deltas.add(r.issue_id, LINK_METRIC[r.class], String(r.link_id), 0);
}

/** One stored click's follow-ups (`known`: its delivery's first times, read in this transaction). */
function* clickFollowUps(r: NewClick, deltas: CountDeltas, known?: Firsts): StatementPlan {
  countClick(r, deltas);
  if (r.delivery_id === null) return;
  if (r.class === 'human') {
    const firsts = known ?? (yield* readFirsts(r.delivery_id));
    const moved = firsts && moveClickFirsts(r, firsts, deltas);
    if (moved) yield { run: SET_CLICKED, params: [...moved, r.delivery_id] };
  }
  if (r.sweep) yield* sweepScanner(r.issue_id, r.delivery_id, r.reason, r.sweep, deltas);
}

/** A SQLite batch's click without a sweep, its delivery's first times `known`: new ones wait in `later`. */
function clickFollowUpKnown(r: NewClick, deliveryId: number, deltas: CountDeltas, known: Firsts, later: LaterFirsts): void {
  countClick(r, deltas);
  const moved = r.class === 'human' ? moveClickFirsts(r, known, deltas) : undefined;
  if (moved) later.set(deliveryId, moved);
}

/** A scanner was exposed: its earlier human-looking clicks become bot clicks, its opens just after delivery scanner opens; the counts follow. */
function* sweepScanner(issueId: number, deliveryId: number, reason: string, sweep: NonNullable<NewClick['sweep']>, deltas: CountDeltas): StatementPlan {
  const clicks = (yield { all: SWEPT_CLICKS, params: [deliveryId, sweep.clicksSince] }) as { at: number; link_id: number }[];
  if (clicks.length > 0) {
    yield { run: SWEEP_CLICKS, params: [reason, deliveryId, sweep.clicksSince] };
    for (const c of clicks) {
      deltas.at(issueId, 'click.human', Number(c.at), -1);
      deltas.at(issueId, 'click.bot', Number(c.at), 1);
      deltas.add(issueId, 'link.human', String(c.link_id), 0, -1);
      deltas.add(issueId, 'link.bot', String(c.link_id), 0, 1);
    }
    const before = yield* readFirsts(deliveryId);
    let links = before?.clicked_links ?? null;
    for (const linkId of new Set(clicks.map((c) => Number(c.link_id)))) {
      const still = yield { get: HUMAN_CLICK_ON_LINK, params: [deliveryId, linkId] };
      if (still !== undefined || !hasClickedLink(links, linkId)) continue;
      links = withoutClickedLink(links, linkId);
      deltas.add(issueId, 'link.clickers', String(linkId), 0, -1);
    }
    const earliest = (yield { get: EARLIEST_HUMAN_CLICK, params: [deliveryId] }) as { at: number | null } | undefined;
    const after = earliest?.at === null || earliest?.at === undefined ? null : Number(earliest.at);
    if (before && (before.first_clicked_at !== after || before.clicked_links !== links)) {
      yield { run: SET_CLICKED, params: [after, links, deliveryId] };
      moveFirst(deltas, issueId, 'first.click', before.first_clicked_at, after);
    }
  }
  if (sweep.opensUntil === null) return;
  const opens = (yield { all: SWEPT_OPENS, params: [deliveryId, sweep.opensUntil] }) as { at: number; class: OpenClass }[];
  if (opens.length === 0) return;
  yield { run: SWEEP_OPENS, params: [SCANNER_OPEN_REASON, deliveryId, sweep.opensUntil] };
  for (const o of opens) {
    deltas.at(issueId, OPEN_METRIC[o.class], Number(o.at), -1);
    deltas.at(issueId, 'open.scanner', Number(o.at), 1);
  }
  const before = yield* readFirsts(deliveryId);
  const earliest = (yield { get: EARLIEST_HUMAN_OPEN, params: [deliveryId] }) as { at: number | null } | undefined;
  const after = earliest?.at === null || earliest?.at === undefined ? null : Number(earliest.at);
  if (before && before.first_opened_at !== after) {
    yield { run: SET_FIRST_OPENS, params: [before.first_any_open_at, after, deliveryId] };
    moveFirst(deltas, issueId, 'first.open_human', before.first_opened_at, after);
  }
}

const openRows = sqliteMultiInsert('opens', OPEN_COLUMNS);
const clickRows = sqliteMultiInsert('clicks', CLICK_COLUMNS);

export function insertOpensSqlite(sqlite: BetterSqlite3.Database, rows: NewOpen[]): void {
  const values: unknown[] = [];
  for (const r of rows) pushOpen(values, r);
  openRows(sqlite).run(values);
  const deltas = new CountDeltas();
  runPlanSqlite(sqlite, openFollowUps(rows, deltas));
  addReportCountsSqlite(sqlite, deltas);
}

/**
 * Clicks go in a few multi-row inserts. Only a sweep reads the clicks table (its delivery's
 * earlier clicks, its own batch's included) and the deliveries' first times, so the clicks and
 * first times waiting are stored before one runs; other follow-ups touch the delivery (through
 * `known`) and the counts only.
 */
function clickBatchSqlite(sqlite: BetterSqlite3.Database, deltas: CountDeltas) {
  const rows = clickRows(sqlite);
  const waiting: unknown[] = [];
  const later: LaterFirsts = new Map();
  const storeWaiting = () => {
    rows.run(waiting);
    waiting.length = 0;
    writeLaterFirsts(sqlite, firstClicksUpdate, later);
  };
  return {
    add(row: NewClick, known?: Firsts): void {
      pushClick(waiting, row);
      if (row.sweep) storeWaiting();
      if (known && !row.sweep && row.delivery_id !== null) clickFollowUpKnown(row, row.delivery_id, deltas, known, later);
      else runPlanSqlite(sqlite, clickFollowUps(row, deltas, known));
    },
    finish: storeWaiting,
  };
}

export function insertClicksSqlite(sqlite: BetterSqlite3.Database, rows: NewClick[]): void {
  const deltas = new CountDeltas();
  const batch = clickBatchSqlite(sqlite, deltas);
  for (const row of rows) batch.add(row);
  batch.finish();
  addReportCountsSqlite(sqlite, deltas);
}

export async function insertOpens(trx: Transaction<Database>, rows: NewOpen[]): Promise<void> {
  await trx.insertInto('opens').values(rows).execute();
  const deltas = new CountDeltas();
  await runPlan(trx, openFollowUps(rows, deltas));
  await addReportCounts(trx, deltas);
}

export async function insertClicks(trx: Transaction<Database>, rows: NewClick[]): Promise<void> {
  const deltas = new CountDeltas();
  // One multi-row insert, unless a sweep needs the earlier clicks of its own batch inserted first.
  const rowByRow = rows.some((r) => r.sweep);
  if (!rowByRow) await trx.insertInto('clicks').values(rows.map(({ sweep: _sweep, ...row }) => row)).execute();
  for (const r of rows) {
    if (rowByRow) {
      const { sweep: _sweep, ...row } = r;
      await trx.insertInto('clicks').values(row).execute();
    }
    await runPlan(trx, clickFollowUps(r, deltas));
  }
  await addReportCounts(trx, deltas);
}

export const openInserter = { kysely: insertOpens, sqlite: insertOpensSqlite };
export const clickInserter = { kysely: insertClicks, sqlite: insertClicksSqlite };

// ---- Hits: the delivery read inside the writer's transaction -----------------------------------

/** The delivery a hit names, with its first-event times (one row read serves both). */
export interface HitDelivery extends TrackedDelivery {
  firsts: Firsts;
}

/** How a hit is classified once its delivery's send time is known (the service's rules). */
export type Verdict<C> = { class: C; reason: string };

/** A pixel load by token: stored once its delivery is found, classified by `classify`. */
export interface OpenByToken {
  deliveryId: number;
  at: number;
  personTracking: boolean;
  classify: (delivery: TrackedDelivery) => Verdict<OpenClass>;
}

/** A click by token on a link of `linkIssueId`: stored only if the delivery belongs to that issue. */
export interface ClickByToken {
  deliveryId: number;
  linkId: number;
  linkIssueId: number;
  at: number;
  personTracking: boolean;
  classify: (delivery: TrackedDelivery) => Verdict<ClickClass> & { sweep?: NewClick['sweep'] };
}

/** What a stored hit was: undefined when nothing was stored (unknown delivery, another issue's link). */
export interface StoredHit<C> {
  issueId: number;
  subscriberId: number | null;
  class: C;
}

function openRowFor(hit: OpenByToken, d: TrackedDelivery): NewOpen {
  const verdict = hit.classify(d);
  return { issue_id: d.issueId, delivery_id: d.id, subscriber_id: hit.personTracking ? d.subscriberId : null, at: hit.at, class: verdict.class, reason: verdict.reason };
}

function clickRowFor(hit: ClickByToken, d: TrackedDelivery): NewClick | undefined {
  if (d.issueId !== hit.linkIssueId) return undefined;
  const verdict = hit.classify(d);
  const row: NewClick = { issue_id: d.issueId, link_id: hit.linkId, delivery_id: d.id, subscriber_id: hit.personTracking ? d.subscriberId : null, at: hit.at, class: verdict.class, reason: verdict.reason };
  if (verdict.sweep) row.sweep = verdict.sweep;
  return row;
}

const storedOf = <C>(r: { issue_id: number; subscriber_id: number | null; class: C }): StoredHit<C> => ({ issueId: r.issue_id, subscriberId: r.subscriber_id, class: r.class });

const DELIVERIES_FOR_HITS = 'select "id", "issue_id", "subscriber_id", "sent_at", "first_any_open_at", "first_opened_at", "first_clicked_at", "first_visit_at", "clicked_links" from "deliveries" where "id" in ';
type HitDeliveryRow = { id: number; issue_id: number; subscriber_id: number | null; sent_at: number | null } & FirstsRow;

const hitDeliveryOf = (r: HitDeliveryRow): HitDelivery => ({ id: r.id, issueId: r.issue_id, subscriberId: r.subscriber_id, sentAt: r.sent_at, firsts: firstsOf(r) });

const MAX_IDS = 32;
const hitsStatements = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement<number[], HitDeliveryRow>[]>();

/**
 * SQLite: the deliveries of a batch of hits, up to 32 a query (one call into SQLite costs
 * ~0.7 µs however little it reads). The follow-ups keep each one's first times current for the
 * batch's later hits of the same delivery.
 */
function readHitDeliveriesSqlite(sqlite: BetterSqlite3.Database, ids: number[]): Map<number, HitDelivery> {
  let statements = hitsStatements.get(sqlite);
  if (!statements) hitsStatements.set(sqlite, (statements = []));
  const unique = [...new Set(ids)];
  const found = new Map<number, HitDelivery>();
  for (let at = 0; at < unique.length; at += MAX_IDS) {
    const chunk = unique.length <= MAX_IDS ? unique : unique.slice(at, at + MAX_IDS);
    const statement = (statements[chunk.length] ??= sqlite.prepare(`${DELIVERIES_FOR_HITS}(${new Array(chunk.length).fill('?').join(', ')})`));
    for (const r of statement.all(...chunk)) found.set(r.id, hitDeliveryOf(r));
  }
  return found;
}

/** PostgreSQL: the deliveries of a batch of hits in one query (their first times are read row by row as each is followed up). */
async function readHitDeliveries(trx: Transaction<Database>, ids: number[]): Promise<Map<number, TrackedDelivery>> {
  const rows = await trx.selectFrom('deliveries').select(['id', 'issue_id', 'subscriber_id', 'sent_at']).where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((r) => [Number(r.id), trackedDeliveryOf(r)]));
}

/**
 * SQLite: the batch's deliveries (and first times) are read inside the transaction, so a pixel
 * costs no lookup of its own before the batch; each hit is then classified and followed up.
 */
export function insertOpenHitsSqlite(sqlite: BetterSqlite3.Database, hits: OpenByToken[]): (StoredHit<OpenClass> | undefined)[] {
  const deltas = new CountDeltas();
  const values: unknown[] = [];
  const deliveries = readHitDeliveriesSqlite(sqlite, hits.map((hit) => hit.deliveryId));
  const later: LaterFirsts = new Map();
  const stored = hits.map((hit) => {
    const d = deliveries.get(hit.deliveryId);
    if (!d) return undefined;
    const r = openRowFor(hit, d);
    pushOpen(values, r); // stored below, with the batch: an open's follow-up reads only its delivery
    openFollowUpKnown(r, d.id, deltas, d.firsts, later);
    return storedOf(r);
  });
  writeLaterFirsts(sqlite, firstOpensUpdate, later);
  openRows(sqlite).run(values);
  addReportCountsSqlite(sqlite, deltas);
  return stored;
}

export function insertClickHitsSqlite(sqlite: BetterSqlite3.Database, hits: ClickByToken[]): (StoredHit<ClickClass> | undefined)[] {
  const deltas = new CountDeltas();
  const batch = clickBatchSqlite(sqlite, deltas);
  const deliveries = readHitDeliveriesSqlite(sqlite, hits.map((hit) => hit.deliveryId));
  const stored = hits.map((hit) => {
    const d = deliveries.get(hit.deliveryId);
    const row = d && clickRowFor(hit, d);
    if (!row) return undefined;
    batch.add(row, d!.firsts);
    // A sweep rewrote the delivery's first times itself: read again for the batch's later hits.
    if (row.sweep) deliveries.set(hit.deliveryId, readHitDeliveriesSqlite(sqlite, [hit.deliveryId]).get(hit.deliveryId)!);
    return storedOf(row);
  });
  batch.finish();
  addReportCountsSqlite(sqlite, deltas);
  return stored;
}

/** PostgreSQL: the batch's deliveries in one query, then the rows as the `open` / `click` inserters store them. */
async function insertHits<H extends { deliveryId: number }, R extends NewOpen | NewClick>(
  trx: Transaction<Database>,
  hits: H[],
  rowFor: (hit: H, d: TrackedDelivery) => R | undefined,
  insert: (trx: Transaction<Database>, rows: R[]) => Promise<void>,
): Promise<(StoredHit<R['class']> | undefined)[]> {
  const deliveries = await readHitDeliveries(trx, hits.map((h) => h.deliveryId));
  const rows = hits.map((hit) => {
    const d = deliveries.get(hit.deliveryId);
    return d && rowFor(hit, d);
  });
  const found = rows.filter((r) => r !== undefined);
  if (found.length > 0) await insert(trx, found);
  return rows.map((r) => r && storedOf(r));
}

export const insertOpenHits = (trx: Transaction<Database>, hits: OpenByToken[]) => insertHits(trx, hits, openRowFor, insertOpens);
export const insertClickHits = (trx: Transaction<Database>, hits: ClickByToken[]) => insertHits(trx, hits, clickRowFor, insertClicks);

export const openHitInserter = { kysely: insertOpenHits, sqlite: insertOpenHitsSqlite };
export const clickHitInserter = { kysely: insertClickHits, sqlite: insertClickHitsSqlite };

// ---- Lookups for the fast path ---------------------------------------------------------------

export interface TrackedDelivery {
  id: number;
  issueId: number;
  subscriberId: number | null;
  sentAt: number | null;
}

/** One delivery by id (answers that record nothing; a recorded hit reads its delivery in the writer). */
export async function findDeliveryById(db: Db, id: number): Promise<TrackedDelivery | undefined> {
  const r = await db.selectFrom('deliveries').select(['id', 'issue_id', 'subscriber_id', 'sent_at']).where('id', '=', id).executeTakeFirst();
  return r && trackedDeliveryOf(r);
}

function trackedDeliveryOf(r: { id: number; issue_id: number; subscriber_id: number | null; sent_at: number | null }): TrackedDelivery {
  return { id: Number(r.id), issueId: Number(r.issue_id), subscriberId: r.subscriber_id === null ? null : Number(r.subscriber_id), sentAt: r.sent_at === null ? null : Number(r.sent_at) };
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
export async function findTrackingEventsBySubscriber(db: Db, subscriberId: number, limit = 200): Promise<TimelineEntry[]> {
  const deliveries = db.selectFrom('deliveries').select('id').where('subscriber_id', '=', subscriberId);
  const rows = await db
    .selectFrom('opens')
    .select([sql<string>`'opened'`.as('kind'), 'at', sql<number | null>`${sql.ref('issue_id')}`.as('issue_id'), sql<string>`${sql.ref('class')} || ': ' || ${sql.ref('reason')}`.as('detail')])
    .where('delivery_id', 'in', deliveries)
    .where('subscriber_id', '=', subscriberId)
    .unionAll((eb) =>
      eb
        .selectFrom('clicks')
        .innerJoin('issue_links', 'issue_links.id', 'clicks.link_id')
        .select([sql<string>`'clicked'`.as('kind'), 'clicks.at', sql<number | null>`${sql.ref('clicks.issue_id')}`.as('issue_id'), sql<string>`${sql.ref('clicks.class')} || ': ' || ${sql.ref('issue_links.url')}`.as('detail')])
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
