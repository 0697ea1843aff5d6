import type { Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { ClickClass, Database, OpenClass } from '../db/schema.ts';
import { runPlan, runPlanSqlite, type StatementPlan } from '../events/statement-plan.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas } from '../reports/report-counts.repository.ts';
import { classifyClick, classifyOpen, FAST_SWEEP, isLikelyHumanOpen, type DeliveryHistory, type Judgement, type RecentLinkHit, type TrackingThresholds } from './classify-hit.ts';
import { isReaderKind } from './classify-agent.ts';
import { isAccessNetwork, isMachinesHit, ownerKey, OWNER_METRIC, storedSource, type HitSource, type NetworkRole, type StoredSource } from './hit-source.ts';
import { countClick, countOpen, firstsOf, moveClickFirsts, moveOpenFirsts, nullableNumber, type Firsts, type FirstsRow } from './delivery-firsts.ts';
import { relabelMachineHits } from './machine-relabel.ts';

/**
 * The event writer's inserter for tracking hits (pixel loads, click redirects, link checks): each
 * hit's delivery is read inside the writer's transaction — on PostgreSQL its row locked (in id
 * order), so two processes judge one delivery's hits one after the other — then each hit is
 * classified against what the delivery saw before (src/lib/tracking/classify-hit.ts), in arrival
 * order, and stored with its source. A hit that gives its delivery a machine verdict re-labels
 * that machine's earlier hits (this batch's in place, stored ones in the same transaction, the
 * page views and visits their clicks led to included) and the maintained counts move with them.
 * Nothing a verdict depends on is kept in process memory: another process, or this one after a
 * restart, reads the same rows.
 *
 * A delivery's first hit with no history costs no query of its own: one read of the batch's
 * deliveries serves it. Recent link hits are read only for a delivery whose last one is recent.
 */
interface HitBase {
  deliveryId: number;
  at: number;
  personTracking: boolean;
  source: HitSource;
  thresholds: TrackingThresholds;
}

export interface OpenHit extends HitBase {
  type: 'open';
}

export interface ClickHit extends HitBase {
  type: 'click';
  linkId: number;
  /** The issue of the link named by the token: a click is stored only if its delivery is of that issue. */
  linkIssueId: number;
  honeypot: boolean;
}

/**
 * A link fetched without a click: a HEAD on a tracked link, or the unsubscribe page opened. For
 * the unsubscribe page `deliveryId` is 0 and the delivery is the one of (`linkIssueId`, `subscriberId`).
 */
export interface CheckHit extends HitBase {
  type: 'check';
  kind: 'head' | 'unsubscribe';
  linkId: number | null;
  linkIssueId: number;
  subscriberId?: number;
}

export type TrackingHit = OpenHit | ClickHit | CheckHit;

/**
 * What a hit came to: undefined when it names no delivery of its link's issue (nothing stored,
 * a click gets the not-found page); `class` null when the delivery was never sent (nothing
 * counted: a forged or early token cannot move a figure), else the stored class.
 */
export type HitResult = { deliveryId: number; issueId: number; subscriberId: number | null; class: OpenClass | ClickClass | null; at: number } | undefined;

/** A delivery's machine: its source, when and why; `owner` (its ownerKey) when this batch found it. */
type Machine = StoredSource & { at: number; reason: string; owner?: string };

/** A batch's view of one delivery: read once, kept current as its hits are judged, written back once. */
interface BatchDelivery {
  id: number;
  issueId: number;
  subscriberId: number | null;
  sentAt: number | null;
  sent: boolean;
  /** First times as stored; the batch's final rows move them. */
  firsts: Firsts;
  /** Its first reader sign (a likely-human open or a human click), kept current while judging. */
  humanSince: number | null;
  machine: Machine | null;
  reader: StoredSource | null;
  lastLinkAt: number | null;
  /** Recent link hits (stored ones when read, then this batch's). */
  recent: RecentLinkHit[] | undefined;
  /** This batch's rows of the delivery, to re-label in place when a verdict comes. */
  rows: BatchRow[];
  /** The verdict this batch gave it (its stored hits are re-labelled after the batch's rows are in). */
  newVerdict: Machine | null;
  /** What it had stored before this batch that a verdict could re-label: a likely-human open or human click, a human click. */
  storedReader: { opens: boolean; clicks: boolean };
  changed: boolean;
}

type BatchRow =
  | { type: 'open'; d: BatchDelivery; at: number; source: StoredSource; owner: string; subscriberId: number | null; class: OpenClass; reason: string }
  | { type: 'click'; d: BatchDelivery; at: number; source: StoredSource; owner: string; subscriberId: number | null; linkId: number; class: ClickClass; reason: string }
  | { type: 'check'; d: BatchDelivery; at: number; source: StoredSource; linkId: number | null; kind: 'head' | 'unsubscribe' };

const DELIVERY_COLUMNS =
  '"id", "issue_id", "subscriber_id", "status", "sent_at", "first_any_open_at", "first_opened_at", "first_clicked_at", "first_visit_at", "clicked_links", "machine_at", "machine_reason", "machine_asn", "machine_net", "machine_agent", "reader_asn", "reader_net", "reader_agent", "last_link_at"';
type DeliveryRow = FirstsRow & {
  id: number | string;
  issue_id: number | string;
  subscriber_id: number | string | null;
  status: string;
  sent_at: number | string | null;
  machine_at: number | string | null;
  machine_reason: string | null;
  machine_asn: number | string | null;
  machine_net: string | null;
  machine_agent: string | null;
  reader_asn: number | string | null;
  reader_net: string | null;
  reader_agent: string | null;
  last_link_at: number | string | null;
};

const MAX_IDS = 32;
const list = (n: number) => new Array(n).fill('?').join(', ');
const readTexts: string[] = [];
const lockTexts: string[] = [];
/** The deliveries of a batch, up to 32 a query; PostgreSQL locks their rows in id order (another process's hits of them wait). */
const deliveriesText = (n: number, lock: boolean) =>
  lock
    ? (lockTexts[n] ??= `select ${DELIVERY_COLUMNS} from "deliveries" where "id" in (${list(n)}) order by "id" for update`)
    : (readTexts[n] ??= `select ${DELIVERY_COLUMNS} from "deliveries" where "id" in (${list(n)})`);

const DELIVERY_OF_RECIPIENT = 'select "id" from "deliveries" where "issue_id" = ? and "subscriber_id" = ?';
const RECENT_CLICKS = 'select "at", "link_id", "asn", "net", "agent" from "clicks" where "delivery_id" = ? and "at" >= ?';
const RECENT_CHECKS = 'select "at", "link_id", "asn", "net", "agent" from "link_checks" where "delivery_id" = ? and "at" >= ?';

function sourceFrom(asn: number | string | null, net: string | null, agent: string | null): StoredSource | null {
  return net === null ? null : { asn: nullableNumber(asn), role: net as NetworkRole, family: agent ?? 'other:other' };
}

function batchDeliveryOf(r: DeliveryRow): BatchDelivery {
  const machineSource = sourceFrom(r.machine_asn, r.machine_net, r.machine_agent);
  const machineAt = nullableNumber(r.machine_at);
  const sentAt = nullableNumber(r.sent_at);
  const firsts = firstsOf(r);
  return {
    id: Number(r.id),
    issueId: Number(r.issue_id),
    subscriberId: nullableNumber(r.subscriber_id),
    sentAt,
    sent: r.status === 'sent' && sentAt !== null,
    firsts,
    humanSince: earliestOf(firsts.first_opened_at, firsts.first_clicked_at),
    machine: machineAt === null ? null : { ...(machineSource ?? { asn: null, role: 'access', family: 'none:other' }), at: machineAt, reason: r.machine_reason ?? '' },
    reader: sourceFrom(r.reader_asn, r.reader_net, r.reader_agent),
    lastLinkAt: nullableNumber(r.last_link_at),
    recent: undefined,
    rows: [],
    newVerdict: null,
    storedReader: { opens: firsts.first_opened_at !== null, clicks: firsts.first_clicked_at !== null },
    changed: false,
  };
}

const linkKey = (linkId: number | null): string => (linkId === null ? 'unsubscribe' : String(linkId));

const earliestOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** What the classifier sees of a delivery at a hit. */
function historyOf(d: BatchDelivery): DeliveryHistory {
  return { sentAt: d.sentAt!, machine: d.machine, reader: d.reader, humanSince: d.humanSince, recentLinks: d.recent ?? [] };
}

/** A verdict: the delivery names its machine, and this batch's earlier hits of that machine follow at once. */
function giveVerdict(d: BatchDelivery, source: StoredSource, owner: string, at: number, reason: string): void {
  if (d.machine) return; // the first verdict stands; later ones only judge their own hit
  const machine = { ...source, at, reason, owner };
  d.machine = machine;
  d.newVerdict = machine;
  d.changed = true;
  if (d.reader && isMachinesHit(d.reader, machine)) d.reader = null;
  const relabelled = `the machine caught on this message: ${reason}`;
  for (const row of d.rows) {
    if (!isMachinesHit(row.source, machine)) continue;
    if (row.type === 'open' && row.class === 'human') {
      row.class = 'scanner';
      row.reason = relabelled;
    } else if (row.type === 'click' && row.class === 'human') {
      row.class = 'bot';
      row.reason = relabelled;
    }
  }
}

/** A reader sign from a reader's program on a network people browse from: continuity for later clicks. */
function noteReader(d: BatchDelivery, source: HitSource): void {
  if (d.reader || !isReaderKind(source.agent.kind) || !(isAccessNetwork(source.owner.role) || source.owner.role === 'web_proxy' || source.owner.role === 'apple')) return;
  d.reader = storedSource(source);
  d.changed = true;
}

function noteLink(d: BatchDelivery, source: StoredSource, at: number, link: string): void {
  d.recent?.push({ ...source, at, link });
  if (d.lastLinkAt === null || at > d.lastLinkAt) {
    d.lastLinkAt = at;
    d.changed = true;
  }
}

function judge(hit: TrackingHit, d: BatchDelivery): BatchRow {
  const source = storedSource(hit.source);
  const subscriberId = hit.personTracking ? d.subscriberId : null;
  if (hit.type === 'check') {
    noteLink(d, source, hit.at, linkKey(hit.linkId));
    return { type: 'check', d, at: hit.at, source, linkId: hit.linkId, kind: hit.kind };
  }
  if (hit.type === 'open') {
    const j = classifyOpen(hit.source, hit.at, historyOf(d), hit.thresholds);
    if (isLikelyHumanOpen(j.class)) {
      d.humanSince = earliestOf(d.humanSince, hit.at);
      if (j.class === 'human') noteReader(d, hit.source);
    }
    return { type: 'open', d, at: hit.at, source, owner: ownerKey(hit.source.owner), subscriberId, class: j.class, reason: j.reason };
  }
  const j: Judgement<ClickClass> = classifyClick(hit.source, { at: hit.at, link: String(hit.linkId), honeypot: hit.honeypot }, historyOf(d), hit.thresholds);
  noteLink(d, source, hit.at, String(hit.linkId));
  const owner = ownerKey(hit.source.owner);
  const row: BatchRow = { type: 'click', d, at: hit.at, source, owner, subscriberId, linkId: hit.linkId, class: j.class, reason: j.reason };
  if (j.class === 'human') {
    d.humanSince = earliestOf(d.humanSince, hit.at);
    noteReader(d, hit.source);
  }
  if (j.verdict) giveVerdict(d, source, owner, hit.at, j.verdict);
  return row;
}

// ---- Statements ------------------------------------------------------------------------------

const OPEN_COLUMNS = ['issue_id', 'delivery_id', 'subscriber_id', 'at', 'class', 'reason', 'asn', 'net', 'agent'];
const CLICK_COLUMNS = ['issue_id', 'link_id', 'delivery_id', 'subscriber_id', 'at', 'class', 'reason', 'asn', 'net', 'agent'];
const CHECK_COLUMNS = ['issue_id', 'delivery_id', 'link_id', 'kind', 'at', 'asn', 'net', 'agent'];
/** The delivery columns a batch writes back, after its id. */
const STATE_COLUMNS: [string, 'bigint' | 'text'][] = [
  ['first_any_open_at', 'bigint'],
  ['first_opened_at', 'bigint'],
  ['first_clicked_at', 'bigint'],
  ['clicked_links', 'text'],
  ['machine_at', 'bigint'],
  ['machine_reason', 'text'],
  ['machine_asn', 'bigint'],
  ['machine_net', 'text'],
  ['machine_agent', 'text'],
  ['reader_asn', 'bigint'],
  ['reader_net', 'text'],
  ['reader_agent', 'text'],
  ['last_link_at', 'bigint'],
];
/** Rows a statement at most: 32 rows × 14 values stays far below both databases' limits on parameters. */
const MAX_ROWS = 32;

function multiRowTexts(make: (rows: number) => string): (rows: number) => string {
  const texts: string[] = [];
  return (rows) => (texts[rows] ??= make(rows));
}

const tuple = (width: number) => `(${list(width)})`;
const tuples = (width: number, rows: number) => new Array(rows).fill(tuple(width)).join(', ');
const insertText = (table: string, columns: string[]) => multiRowTexts((rows) => `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples(columns.length, rows)}`);
const openInsert = insertText('opens', OPEN_COLUMNS);
const clickInsert = insertText('clicks', CLICK_COLUMNS);
const checkInsert = insertText('link_checks', CHECK_COLUMNS);
/** Many deliveries' state in one UPDATE … FROM (VALUES …); PostgreSQL types the values by casts (they arrive untyped). */
const stateUpdate = (postgres: boolean) =>
  multiRowTexts((rows) => {
    const cast = (column: string, type: string) => (postgres ? `cast("v"."${column}" as ${type})` : `"v"."${column}"`);
    const set = STATE_COLUMNS.map(([c, type], i) => `"${c}" = ${cast(`column${i + 2}`, type)}`).join(', ');
    return `update "deliveries" set ${set} from (values ${tuples(STATE_COLUMNS.length + 1, rows)}) as "v" where "deliveries"."id" = ${cast('column1', 'bigint')}`;
  });
const stateUpdates = { sqlite: stateUpdate(false), postgres: stateUpdate(true) };

function* insertRows(text: (rows: number) => string, width: number, values: unknown[]): StatementPlan {
  const rows = values.length / width;
  for (let at = 0; at < rows; at += MAX_ROWS) {
    const count = Math.min(MAX_ROWS, rows - at);
    yield { run: text(count), params: count === rows ? values : values.slice(at * width, (at + count) * width) };
  }
}

function statePush(values: unknown[], d: BatchDelivery): void {
  const f = d.firsts;
  const m = d.machine;
  const r = d.reader;
  values.push(d.id, f.first_any_open_at, f.first_opened_at, f.first_clicked_at, f.clicked_links, m?.at ?? null, m?.reason ?? null, m?.asn ?? null, m?.role ?? null, m?.family ?? null, r?.asn ?? null, r?.role ?? null, r?.family ?? null, d.lastLinkAt);
}

/**
 * One batch of hits as a plan of statements (both databases): read the deliveries, their recent
 * link hits where needed, judge every hit in order, store the rows, write the deliveries back,
 * then re-label the stored hits of each machine this batch caught. `deltas` collects the counts.
 */
function* hitBatch(hits: TrackingHit[], postgres: boolean, results: HitResult[], deltas: CountDeltas): StatementPlan {
  for (const hit of hits) {
    if (hit.type === 'check' && hit.deliveryId === 0 && hit.subscriberId !== undefined) {
      const row = (yield { get: DELIVERY_OF_RECIPIENT, params: [hit.linkIssueId, hit.subscriberId] }) as { id: number | string } | undefined;
      hit.deliveryId = row ? Number(row.id) : -1;
    }
  }
  const ids = [...new Set(hits.map((h) => h.deliveryId))].filter((id) => id > 0).sort((a, b) => a - b);
  const deliveries = new Map<number, BatchDelivery>();
  for (let at = 0; at < ids.length; at += MAX_IDS) {
    const chunk = ids.length <= MAX_IDS ? ids : ids.slice(at, at + MAX_IDS);
    for (const r of (yield { all: deliveriesText(chunk.length, postgres), params: chunk }) as DeliveryRow[]) deliveries.set(Number(r.id), batchDeliveryOf(r));
  }
  // Recent link hits, for the deliveries a link hit of this batch may make a sweep of.
  const earliest = new Map<number, { at: number; window: number }>();
  for (const hit of hits) {
    if (hit.type === 'open') continue;
    const seen = earliest.get(hit.deliveryId);
    if (!seen || hit.at < seen.at) earliest.set(hit.deliveryId, { at: hit.at, window: Math.max(hit.thresholds.clickBurstSeconds * 1000, FAST_SWEEP.withinMs) });
  }
  for (const [deliveryId, { at, window }] of earliest) {
    const d = deliveries.get(deliveryId);
    if (!d) continue;
    if (d.lastLinkAt === null || d.lastLinkAt < at - window) {
      d.recent = [];
      continue;
    }
    const since = at - window;
    const stored = [...((yield { all: RECENT_CLICKS, params: [deliveryId, since] }) as LinkRow[]), ...((yield { all: RECENT_CHECKS, params: [deliveryId, since] }) as LinkRow[])];
    const unknown: StoredSource = { asn: null, role: 'access', family: 'other:other' };
    d.recent = stored.map((r): RecentLinkHit => ({ ...(sourceFrom(r.asn, r.net, r.agent) ?? unknown), at: Number(r.at), link: linkKey(nullableNumber(r.link_id)) })).sort((a, b) => a.at - b.at);
  }

  const rows: BatchRow[] = [];
  for (const hit of hits) {
    const d = deliveries.get(hit.deliveryId);
    if (!d || (hit.type !== 'open' && d.issueId !== hit.linkIssueId)) {
      results.push(undefined);
      continue;
    }
    if (!d.sent) {
      results.push({ deliveryId: d.id, issueId: d.issueId, subscriberId: d.subscriberId, class: null, at: hit.at });
      continue;
    }
    const row = judge(hit, d);
    d.rows.push(row);
    rows.push(row);
    results.push({ deliveryId: d.id, issueId: d.issueId, subscriberId: row.type === 'check' ? d.subscriberId : row.subscriberId, class: row.type === 'check' ? null : row.class, at: hit.at });
  }
  // The classes are final now (a verdict may have re-labelled earlier rows of the batch): store and count them.
  for (const d of deliveries.values()) {
    for (const row of d.rows) {
      if (row.type === 'open') {
        countOpen(d.issueId, row.at, row.class, deltas);
        if (!isLikelyHumanOpen(row.class)) deltas.add(d.issueId, OWNER_METRIC.open, row.owner, 0);
        if (moveOpenFirsts(d.issueId, row.at, row.class, d.firsts, deltas)) d.changed = true;
      } else if (row.type === 'click') {
        countClick(d.issueId, row.linkId, row.at, row.class, deltas);
        if (row.class === 'bot') deltas.add(d.issueId, OWNER_METRIC.click, row.owner, 0);
        if (row.class === 'human' && moveClickFirsts(d.issueId, row.linkId, row.at, d.firsts, deltas)) d.changed = true;
      }
    }
  }
  const opens: unknown[] = [];
  const clicks: unknown[] = [];
  const checks: unknown[] = [];
  for (const r of rows) {
    const s = r.source;
    if (r.type === 'open') opens.push(r.d.issueId, r.d.id, r.subscriberId, r.at, r.class, r.reason, s.asn, s.role, s.family);
    else if (r.type === 'click') clicks.push(r.d.issueId, r.linkId, r.d.id, r.subscriberId, r.at, r.class, r.reason, s.asn, s.role, s.family);
    else checks.push(r.d.issueId, r.d.id, r.linkId, r.kind, r.at, s.asn, s.role, s.family);
  }
  yield* insertRows(openInsert, OPEN_COLUMNS.length, opens);
  yield* insertRows(clickInsert, CLICK_COLUMNS.length, clicks);
  yield* insertRows(checkInsert, CHECK_COLUMNS.length, checks);
  const state: unknown[] = [];
  for (const d of deliveries.values()) if (d.changed) statePush(state, d);
  yield* insertRows(postgres ? stateUpdates.postgres : stateUpdates.sqlite, STATE_COLUMNS.length + 1, state);
  for (const d of deliveries.values()) if (d.newVerdict) yield* relabelMachineHits(d.id, d.issueId, { ...d.newVerdict, owner: d.newVerdict.owner! }, d.storedReader, deltas);
}

type LinkRow = { at: number | string; link_id: number | string | null; asn: number | string | null; net: string | null; agent: string | null };

export function insertHitsSqlite(sqlite: BetterSqlite3.Database, hits: TrackingHit[]): HitResult[] {
  const results: HitResult[] = [];
  const deltas = new CountDeltas();
  runPlanSqlite(sqlite, hitBatch(hits, false, results, deltas));
  addReportCountsSqlite(sqlite, deltas);
  return results;
}

export async function insertHits(trx: Transaction<Database>, hits: TrackingHit[]): Promise<HitResult[]> {
  const results: HitResult[] = [];
  const deltas = new CountDeltas();
  await runPlan(trx, hitBatch(hits, true, results, deltas));
  await addReportCounts(trx, deltas);
  return results;
}

export const hitInserter = { kysely: insertHits, sqlite: insertHitsSqlite };
