import type { Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { ClickClass, Database, OpenClass } from '../db/schema.ts';
import { runPlan, runPlanSqlite, type StatementPlan } from '../events/statement-plan.ts';
import { addReportCountsSqlite, CountDeltas, reportCountWrites } from '../counts/ledger.ts';
import {
  classifyClick,
  classifyOpen,
  FAST_SWEEP,
  isLikelyHumanOpen,
  type DeliveryHistory,
  type RecentLinkHit,
  type TrackingThresholds,
} from './classify-hit.ts';
import {
  isMachinesHit,
  OWNER_METRIC,
  parseSourceText,
  sourceFacts,
  sourceText,
  type HitSource,
  type NetworkRole,
  type StoredSource,
} from './hit-source.ts';
import {
  countClick,
  countOpen,
  firstsOf,
  moveClickFirsts,
  moveOpenFirsts,
  nullableNumber,
  type Firsts,
  type FirstsRow,
} from './delivery-firsts.ts';
import { relabelMachineHits } from './machine-relabel.ts';
import type { AgentFacts } from './classify-agent.ts';

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
 * deliveries serves it, and one multi-row update writes them back. Recent link hits are read only
 * for a delivery whose last one is recent; stored hits only when a verdict has readers' hits to re-label.
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
export type HitResult =
  | {
      deliveryId: number;
      issueId: number;
      subscriberId: number | null;
      class: OpenClass | ClickClass | null;
      at: number;
    }
  | undefined;

/** A delivery's machine: its source, when and why; `owner` (its ownerKey) when this batch found it. */
type Machine = StoredSource & { at: number; reason: string; owner?: string };

/** Which of a delivery's columns a batch changed: its row is written back with the fewest columns that hold them. */
const OPENED = 1; // first_any_open_at, first_opened_at, reader
const CLICKED = 2; // first_clicked_at, clicked_links, last_link_at
const CAUGHT = 4; // all of these, and machine_at, machine_reason, machine_source

/** A batch's view of one delivery: read once, kept current as its hits are judged, written back once. */
interface BatchDelivery extends DeliveryHistory {
  id: number;
  issueId: number;
  subscriberId: number | null;
  sent: boolean;
  /** First times as stored; the batch's final rows move them. */
  firsts: Firsts;
  machine: Machine | null;
  readerText: string | null;
  lastLinkAt: number | null;
  /** Recent link hits (stored ones when read, then this batch's); undefined when not needed. */
  recent: RecentLinkHit[] | undefined;
  /** This batch's rows of the delivery, to re-label in place when a verdict comes. */
  rows: BatchRow[];
  /** The verdict this batch gave it (its stored hits are re-labelled after the batch's rows are in). */
  newVerdict: Machine | null;
  /** What it had stored before this batch that a verdict could re-label: a likely-human open or human click, a human click. */
  storedReader: { opens: boolean; clicks: boolean };
  changed: number;
}

type BatchRow =
  | {
      type: 'open';
      d: BatchDelivery;
      at: number;
      source: StoredSource;
      agent: AgentFacts;
      owner: string;
      subscriberId: number | null;
      class: OpenClass;
      reason: string;
    }
  | {
      type: 'click';
      d: BatchDelivery;
      at: number;
      source: StoredSource;
      agent: AgentFacts;
      owner: string;
      subscriberId: number | null;
      linkId: number;
      class: ClickClass;
      reason: string;
    }
  | {
      type: 'check';
      d: BatchDelivery;
      at: number;
      source: StoredSource;
      linkId: number | null;
      kind: 'head' | 'unsubscribe';
    };

const DELIVERY_COLUMNS =
  '"id", "issue_id", "subscriber_id", "status", "sent_at", "first_any_open_at", "first_opened_at", "first_clicked_at", "first_visit_at", "clicked_links", "machine_at", "machine_reason", "machine_source", "reader", "last_link_at", "arm"';
type DeliveryRow = FirstsRow & {
  id: number | string;
  issue_id: number | string;
  subscriber_id: number | string | null;
  status: string;
  sent_at: number | string | null;
  machine_at: number | string | null;
  machine_reason: string | null;
  machine_source: string | null;
  reader: string | null;
  last_link_at: number | string | null;
};

/**
 * SQLite: rows a statement at most. It prepares a statement per row count and each call has a
 * fixed cost whatever it does: 32 a statement. PostgreSQL takes a batch's rows as one array a
 * column (`unnest`): one statement a kind whatever the batch's size, its text always the same, so
 * each connection keeps it prepared (parsed and planned once).
 */
const SQLITE_CHUNK = 32;
const list = (n: number) => new Array(n).fill('?').join(', ');
const readTexts: string[] = [];
/** SQLite: the deliveries of a batch, up to 32 a query. */
const deliveriesText = (n: number) =>
  (readTexts[n] ??= `select ${DELIVERY_COLUMNS} from "deliveries" where "id" in (${list(n)})`);
/** PostgreSQL: the deliveries of a batch, their rows locked in id order (another process's hits of them wait). */
const LOCK_DELIVERIES = `select ${DELIVERY_COLUMNS} from "deliveries" where "id" = any(?::bigint[]) order by "id" for update`;

const DELIVERY_OF_RECIPIENT = 'select "id" from "deliveries" where "issue_id" = ? and "subscriber_id" = ?';
const RECENT_CLICKS =
  'select "at", "link_id", "asn", "net", "agent" from "clicks" where "delivery_id" = ? and "at" >= ?';
const RECENT_CHECKS =
  'select "at", "link_id", "asn", "net", "agent" from "link_checks" where "delivery_id" = ? and "at" >= ?';
const NO_LINKS: readonly RecentLinkHit[] = Object.freeze([]);
const UNKNOWN_SOURCE: StoredSource = Object.freeze({ asn: null, role: 'access', family: 'other:other' });

const earliestOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

function batchDeliveryOf(r: DeliveryRow): BatchDelivery {
  const machineAt = nullableNumber(r.machine_at);
  const sentAt = nullableNumber(r.sent_at);
  const firsts = firstsOf(r);
  return {
    id: Number(r.id),
    issueId: Number(r.issue_id),
    subscriberId: nullableNumber(r.subscriber_id),
    sentAt: sentAt ?? 0,
    sent: r.status === 'sent' && sentAt !== null,
    firsts,
    humanSince: earliestOf(firsts.first_opened_at, firsts.first_clicked_at),
    machine:
      machineAt === null
        ? null
        : { ...(parseSourceText(r.machine_source) ?? UNKNOWN_SOURCE), at: machineAt, reason: r.machine_reason ?? '' },
    reader: parseSourceText(r.reader),
    readerText: r.reader,
    lastLinkAt: nullableNumber(r.last_link_at),
    recent: undefined,
    recentLinks: NO_LINKS,
    rows: [],
    newVerdict: null,
    storedReader: { opens: firsts.first_opened_at !== null, clicks: firsts.first_clicked_at !== null },
    changed: 0,
  };
}

const linkKey = (linkId: number | null): string => (linkId === null ? 'unsubscribe' : String(linkId));

/** A verdict: the delivery names its machine, and this batch's earlier hits of that machine follow at once. */
function giveVerdict(d: BatchDelivery, source: StoredSource, owner: string, at: number, reason: string): void {
  // The first verdict stands; a later one (a vendor network's late sweep) still takes back that
  // machine's hits that passed for a person's (a first link that looked like an isolated click) — once a batch.
  if (d.machine && d.newVerdict) return;
  const machine = { ...source, at, reason, owner };
  if (d.machine) d.newVerdict = machine;
  else {
    d.machine = machine;
    d.newVerdict = machine;
    d.changed |= CAUGHT;
  }
  if (d.reader && isMachinesHit(d.reader, machine)) {
    d.reader = null;
    d.readerText = null;
    d.changed |= OPENED;
  }
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
function noteReader(d: BatchDelivery, facts: ReturnType<typeof sourceFacts>): void {
  if (d.reader || !facts.reader) return;
  d.reader = facts.stored;
  d.readerText = facts.text;
  d.changed |= OPENED;
}

function noteLink(d: BatchDelivery, source: StoredSource, at: number, link: string): void {
  if (d.recent) d.recent.push({ ...source, at, link });
  if (d.lastLinkAt === null || at > d.lastLinkAt) {
    d.lastLinkAt = at;
    d.changed |= CLICKED;
  }
}

function judge(hit: TrackingHit, d: BatchDelivery): BatchRow {
  const facts = sourceFacts(hit.source);
  const source = facts.stored;
  const subscriberId = hit.personTracking ? d.subscriberId : null;
  if (hit.type === 'check') {
    noteLink(d, source, hit.at, linkKey(hit.linkId));
    return { type: 'check', d, at: hit.at, source, linkId: hit.linkId, kind: hit.kind };
  }
  if (hit.type === 'open') {
    const j = classifyOpen(hit.source, hit.at, d, hit.thresholds);
    if (isLikelyHumanOpen(j.class)) {
      d.humanSince = earliestOf(d.humanSince, hit.at);
      if (j.class === 'human') noteReader(d, facts);
    }
    return {
      type: 'open',
      d,
      at: hit.at,
      source,
      agent: hit.source.agent,
      owner: facts.ownerKey,
      subscriberId,
      class: j.class,
      reason: j.reason,
    };
  }
  const j = classifyClick(
    hit.source,
    { at: hit.at, link: String(hit.linkId), honeypot: hit.honeypot },
    d,
    hit.thresholds,
  );
  noteLink(d, source, hit.at, String(hit.linkId));
  if (j.class === 'human') {
    d.humanSince = earliestOf(d.humanSince, hit.at);
    noteReader(d, facts);
  }
  const row: BatchRow = {
    type: 'click',
    d,
    at: hit.at,
    source,
    agent: hit.source.agent,
    owner: facts.ownerKey,
    subscriberId,
    linkId: hit.linkId,
    class: j.class,
    reason: j.reason,
  };
  if (j.verdict) giveVerdict(d, source, facts.ownerKey, hit.at, j.verdict);
  return row;
}

// ---- Statements ------------------------------------------------------------------------------

/** A column written by a statement, with its PostgreSQL type (the type of its array parameter). */
type Column = [name: string, type: 'bigint' | 'text'];
const bigintColumns = (...names: string[]): Column[] => names.map((name) => [name, 'bigint']);
const textColumns = (...names: string[]): Column[] => names.map((name) => [name, 'text']);

const OPEN_COLUMNS: Column[] = [
  ...bigintColumns('issue_id', 'delivery_id', 'subscriber_id', 'at'),
  ...textColumns('class', 'reason'),
  ...bigintColumns('asn'),
  ...textColumns('net', 'agent', 'client', 'device'),
];
const CLICK_COLUMNS: Column[] = [
  ...bigintColumns('issue_id', 'link_id', 'delivery_id', 'subscriber_id', 'at'),
  ...textColumns('class', 'reason'),
  ...bigintColumns('asn'),
  ...textColumns('net', 'agent', 'client', 'device'),
];
const CHECK_COLUMNS: Column[] = [
  ...bigintColumns('issue_id', 'delivery_id', 'link_id'),
  ...textColumns('kind'),
  ...bigintColumns('at', 'asn'),
  ...textColumns('net', 'agent'),
];

function multiRowTexts(make: (rows: number) => string): (rows: number) => string {
  const texts: string[] = [];
  return (rows) => (texts[rows] ??= make(rows));
}

const tuple = (width: number) => `(${list(width)})`;
const tuples = (width: number, rows: number) => new Array(rows).fill(tuple(width)).join(', ');
/** Rows written by one statement: SQLite's text for a number of rows, PostgreSQL's one text (the rows as column arrays). */
interface RowsTexts {
  sqlite: (rows: number) => string;
  postgres: string;
}
const insertText = (table: string, columns: Column[]): RowsTexts => {
  const names = columns.map(([c]) => `"${c}"`).join(', ');
  return {
    sqlite: multiRowTexts((rows) => `insert into "${table}" (${names}) values ${tuples(columns.length, rows)}`),
    postgres: `insert into "${table}" (${names}) select * from unnest(${columns.map(([, type]) => `?::${type}[]`).join(', ')})`,
  };
};

/**
 * The first time the reader cookie was set for each subscriber (issue 19: "known before the send"):
 * one statement for a batch's (subscriber, time) pairs, not one a subscriber.
 */
const READER_KNOWN: RowsTexts = {
  sqlite: multiRowTexts(
    (rows) =>
      `update "subscribers" set "reader_known_at" = "v"."column2" from (values ${tuples(2, rows)}) as "v" where "subscribers"."id" = "v"."column1" and ("subscribers"."reader_known_at" is null or "subscribers"."reader_known_at" > "v"."column2")`,
  ),
  postgres:
    'update "subscribers" set "reader_known_at" = "v"."at" from unnest(?::bigint[], ?::bigint[]) as "v"("id", "at") where "subscribers"."id" = "v"."id" and ("subscribers"."reader_known_at" is null or "subscribers"."reader_known_at" > "v"."at")',
};
const openInsert = insertText('opens', OPEN_COLUMNS);
const clickInsert = insertText('clicks', CLICK_COLUMNS);
const checkInsert = insertText('link_checks', CHECK_COLUMNS);

/**
 * Deliveries written back in one UPDATE a shape: the columns a batch changed, no more (each column
 * of each row has its cost in SQLite; docs/performance.md). SQLite: FROM (VALUES …); PostgreSQL:
 * FROM unnest(…) of one array a column.
 */
interface Shape {
  columns: Column[];
  push: (values: unknown[], d: BatchDelivery) => void;
  texts: RowsTexts;
}

function shape(columns: Column[], push: Shape['push']): Shape {
  const sqlite = multiRowTexts((rows) => {
    const set = columns.map(([c], i) => `"${c}" = "v"."column${i + 2}"`).join(', ');
    return `update "deliveries" set ${set} from (values ${tuples(columns.length + 1, rows)}) as "v" where "deliveries"."id" = "v"."column1"`;
  });
  const set = columns.map(([c]) => `"${c}" = "v"."${c}"`).join(', ');
  const arrays = ['?::bigint[]', ...columns.map(([, type]) => `?::${type}[]`)].join(', ');
  const names = ['"id"', ...columns.map(([c]) => `"${c}"`)].join(', ');
  const postgres = `update "deliveries" set ${set} from unnest(${arrays}) as "v"(${names}) where "deliveries"."id" = "v"."id"`;
  return { columns, push, texts: { sqlite, postgres } };
}

const OPENED_COLUMNS: Column[] = [
  ['first_any_open_at', 'bigint'],
  ['first_opened_at', 'bigint'],
  ['reader', 'text'],
];
const CLICKED_COLUMNS: Column[] = [
  ['first_clicked_at', 'bigint'],
  ['clicked_links', 'text'],
  ['last_link_at', 'bigint'],
];
const MACHINE_COLUMNS: Column[] = [
  ['machine_at', 'bigint'],
  ['machine_reason', 'text'],
  ['machine_source', 'text'],
];
const pushOpened = (values: unknown[], d: BatchDelivery) =>
  values.push(d.firsts.first_any_open_at, d.firsts.first_opened_at, d.readerText);
const pushClicked = (values: unknown[], d: BatchDelivery) =>
  values.push(d.firsts.first_clicked_at, d.firsts.clicked_links, d.lastLinkAt);
const pushMachine = (values: unknown[], d: BatchDelivery) =>
  values.push(d.machine?.at ?? null, d.machine?.reason ?? null, d.machine ? sourceText(d.machine) : null);
/** By the changed flags (1–7): the shape that writes them. */
const SHAPES: Shape[] = [
  shape(OPENED_COLUMNS, (values, d) => {
    values.push(d.id);
    pushOpened(values, d);
  }),
  shape(CLICKED_COLUMNS, (values, d) => {
    values.push(d.id);
    pushClicked(values, d);
  }),
  shape([...OPENED_COLUMNS, ...CLICKED_COLUMNS], (values, d) => {
    values.push(d.id);
    pushOpened(values, d);
    pushClicked(values, d);
  }),
  shape([...OPENED_COLUMNS, ...CLICKED_COLUMNS, ...MACHINE_COLUMNS], (values, d) => {
    values.push(d.id);
    pushOpened(values, d);
    pushClicked(values, d);
    pushMachine(values, d);
  }),
];
const shapeOf = (changed: number): number => (changed & CAUGHT ? 3 : changed - 1);

/** Rows given row by row (`width` values each) as writes: SQLite 32 rows a statement, PostgreSQL one statement of column arrays. */
function* runRows(texts: RowsTexts, width: number, values: unknown[], postgres: boolean): StatementPlan {
  const rows = values.length / width;
  if (rows === 0) return;
  if (postgres) {
    const columns = Array.from({ length: width }, () => new Array<unknown>(rows));
    for (let i = 0; i < values.length; i++) columns[i % width]![Math.floor(i / width)] = values[i];
    yield { write: texts.postgres, params: columns, prepared: true };
    return;
  }
  for (let at = 0; at < rows; at += SQLITE_CHUNK) {
    const count = Math.min(SQLITE_CHUNK, rows - at);
    yield {
      write: texts.sqlite(count),
      params: count === rows ? values : values.slice(at * width, (at + count) * width),
    };
  }
}

/**
 * One batch of hits as a plan of statements (both databases): read the deliveries, their recent
 * link hits where needed, judge every hit in order, store the rows, write the deliveries back,
 * then re-label the stored hits of each machine this batch caught. `deltas` collects the counts.
 */
function* hitBatch(hits: TrackingHit[], postgres: boolean, results: HitResult[], deltas: CountDeltas): StatementPlan {
  for (const hit of hits) {
    if (hit.type === 'check' && hit.deliveryId === 0 && hit.subscriberId !== undefined) {
      const row = (yield {
        get: DELIVERY_OF_RECIPIENT,
        params: [hit.linkIssueId, hit.subscriberId],
        prepared: true,
      }) as { id: number | string } | undefined;
      hit.deliveryId = row ? Number(row.id) : -1;
    }
  }
  const ids = [...new Set(hits.map((h) => h.deliveryId))].filter((id) => id > 0).sort((a, b) => a - b);
  const deliveries = new Map<number, BatchDelivery>();
  if (postgres && ids.length > 0)
    for (const r of (yield { all: LOCK_DELIVERIES, params: [ids], prepared: true }) as DeliveryRow[])
      deliveries.set(Number(r.id), batchDeliveryOf(r));
  else
    for (let at = 0; at < ids.length; at += SQLITE_CHUNK) {
      const chunk = ids.length <= SQLITE_CHUNK ? ids : ids.slice(at, at + SQLITE_CHUNK);
      for (const r of (yield { all: deliveriesText(chunk.length), params: chunk }) as DeliveryRow[])
        deliveries.set(Number(r.id), batchDeliveryOf(r));
    }
  yield* readRecentLinks(hits, deliveries);
  const readers = new Map<number, number>();

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
    results.push({
      deliveryId: d.id,
      issueId: d.issueId,
      subscriberId: row.type === 'check' ? d.subscriberId : row.subscriberId,
      class: row.type === 'check' ? null : row.class,
      at: hit.at,
    });
  }

  // The classes are final now (a verdict may have re-labelled earlier rows of the batch): store and count them.
  const opens: unknown[] = [];
  const clicks: unknown[] = [];
  const checks: unknown[] = [];
  const state: unknown[][] = SHAPES.map(() => []);
  for (const d of deliveries.values()) {
    for (const r of d.rows) {
      const s = r.source;
      if (r.type === 'open') {
        opens.push(
          d.issueId,
          d.id,
          r.subscriberId,
          r.at,
          r.class,
          r.reason,
          s.asn,
          s.role,
          s.family,
          r.agent.client,
          r.agent.device,
        );
        countOpen(d.issueId, r.at, r.class, deltas, r.agent);
        if (!isLikelyHumanOpen(r.class)) deltas.add(d.issueId, OWNER_METRIC.open, r.owner, 0);
        if (moveOpenFirsts(d.issueId, r.at, r.class, d.firsts, deltas)) d.changed |= OPENED;
      } else if (r.type === 'click') {
        clicks.push(
          d.issueId,
          r.linkId,
          d.id,
          r.subscriberId,
          r.at,
          r.class,
          r.reason,
          s.asn,
          s.role,
          s.family,
          r.agent.client,
          r.agent.device,
        );
        countClick(d.issueId, r.linkId, r.at, r.class, deltas, r.agent);
        if (r.class === 'bot') deltas.add(d.issueId, OWNER_METRIC.click, r.owner, 0);
        else {
          // A reader's click naming the subscriber sets the reader cookie: the first one makes them
          // known. Read here, with the classes final: a verdict later in the batch takes a click back.
          if (r.subscriberId !== null) {
            const known = readers.get(r.subscriberId);
            if (known === undefined || r.at < known) readers.set(r.subscriberId, r.at);
          }
          const opened = d.firsts.first_opened_at;
          const anyOpen = d.firsts.first_any_open_at;
          if (moveClickFirsts(d.issueId, r.linkId, r.at, d.firsts, deltas)) d.changed |= CLICKED;
          if (d.firsts.first_opened_at !== opened || d.firsts.first_any_open_at !== anyOpen) d.changed |= OPENED; // a human click counts as opened
        }
      } else {
        checks.push(d.issueId, d.id, r.linkId, r.kind, r.at, s.asn, s.role, s.family);
      }
    }
    if (d.changed) SHAPES[shapeOf(d.changed)]!.push(state[shapeOf(d.changed)]!, d);
  }
  yield* runRows(openInsert, OPEN_COLUMNS.length, opens, postgres);
  yield* runRows(clickInsert, CLICK_COLUMNS.length, clicks, postgres);
  yield* runRows(checkInsert, CHECK_COLUMNS.length, checks, postgres);
  const known: unknown[] = [];
  for (const [subscriberId, at] of readers) known.push(subscriberId, at);
  yield* runRows(READER_KNOWN, 2, known, postgres);
  for (const [i, s] of SHAPES.entries()) yield* runRows(s.texts, s.columns.length + 1, state[i]!, postgres);
  for (const d of deliveries.values())
    if (d.newVerdict)
      yield* relabelMachineHits(
        d.id,
        d.issueId,
        { ...d.newVerdict, owner: d.newVerdict.owner! },
        d.storedReader,
        deltas,
      );
}

interface LinkRow {
  at: number | string;
  link_id: number | string | null;
  asn: number | string | null;
  net: string | null;
  agent: string | null;
}

/** Recent link hits, for the deliveries a link hit of this batch may make a sweep of (their last one is recent). */
function* readRecentLinks(hits: TrackingHit[], deliveries: Map<number, BatchDelivery>): StatementPlan {
  const earliest = new Map<number, { at: number; window: number }>();
  for (const hit of hits) {
    if (hit.type === 'open') continue;
    const seen = earliest.get(hit.deliveryId);
    if (!seen || hit.at < seen.at)
      earliest.set(hit.deliveryId, {
        at: hit.at,
        window: Math.max(hit.thresholds.clickBurstSeconds * 1000, FAST_SWEEP.withinMs),
      });
  }
  for (const [deliveryId, { at, window }] of earliest) {
    const d = deliveries.get(deliveryId);
    if (!d) continue;
    d.recent = [];
    d.recentLinks = d.recent;
    if (d.lastLinkAt === null || d.lastLinkAt < at - window) continue;
    const since = at - window;
    const stored = [
      ...((yield { all: RECENT_CLICKS, params: [deliveryId, since], prepared: true }) as LinkRow[]),
      ...((yield { all: RECENT_CHECKS, params: [deliveryId, since], prepared: true }) as LinkRow[]),
    ];
    for (const r of stored.sort((a, b) => Number(a.at) - Number(b.at))) {
      const source =
        r.net === null
          ? UNKNOWN_SOURCE
          : { asn: nullableNumber(r.asn), role: r.net as NetworkRole, family: r.agent ?? 'other:other' };
      d.recent.push({ ...source, at: Number(r.at), link: linkKey(nullableNumber(r.link_id)) });
    }
  }
}

export function insertHitsSqlite(sqlite: BetterSqlite3.Database, hits: TrackingHit[]): HitResult[] {
  const results: HitResult[] = [];
  const deltas = new CountDeltas();
  runPlanSqlite(sqlite, hitBatch(hits, false, results, deltas));
  addReportCountsSqlite(sqlite, deltas);
  return results;
}

function* withCounts(plan: StatementPlan, deltas: CountDeltas): StatementPlan {
  yield* plan;
  yield* reportCountWrites(deltas);
}

export async function insertHits(trx: Transaction<Database>, hits: TrackingHit[]): Promise<HitResult[]> {
  const results: HitResult[] = [];
  const deltas = new CountDeltas();
  // The counts go with the batch's rows and deliveries in one statement (a round trip, not three).
  await runPlan(trx, withCounts(hitBatch(hits, true, results, deltas), deltas));
  return results;
}

export const hitInserter = { kysely: insertHits, sqlite: insertHitsSqlite };
