import type { Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/schema.ts';
import type { NewPageView } from './page-views.repository.ts';
import { runPlan, runPlanSqlite, type StatementPlan } from '../events/statement-plan.ts';
import type { Attribution } from '../tracking/attribution.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas } from '../counts/ledger.ts';
import { SITE } from '../counts/buckets.ts';
import { moveFirst, nullableNumber, readFirsts, SET_FIRST_VISIT } from '../tracking/delivery-firsts.ts';
import { countView, MACHINE_VIEW_METRIC } from './view-counts.ts';
import { OWNER_METRIC } from '../tracking/hit-source.ts';

/**
 * Page views and visits, maintained as the views arrive, inside the event writer's batch: a
 * visit is a run of one visitor's views with gaps under 30 minutes. The visitor's open visit is
 * read from the `visits` table (not kept in process memory), so any number of server processes
 * on one database, or one restarted, keep the same visits.
 *
 * Whose view it is: a view that came through a click (the redirect's marker cookie, or the
 * attribution cookie, names the click) follows that click's class as stored now: through a
 * machine's click it is a machine's view, and so is a view from a machine network (a security
 * gateway, cloud host or mail provider) with no reader's click behind it. A machine's view is
 * counted under machine activity only: no page view, visit, attribution or later visit. A bot
 * agent's view (isbot) is stored and counted nowhere, as before.
 *
 * Attribution: a view landing with utm_campaign = an issue's slug, or carrying that issue's
 * attribution cookie, belongs to the issue (the slug wins over the cookie). A visit is
 * attributed by its landing view. A "later visit" is an attributed visit that starts after
 * the visitor's first landing from the issue: the click time in the cookie, or an earlier
 * attributed visit from the same visitor.
 */
export const VISIT_GAP_MS = 30 * 60_000;
/** A click lands a few seconds after the redirect; a visit starting later than this came back on its own. */
export const LANDING_SLACK_MS = 60_000;
const SLUG_CACHE_MS = 60_000;

/** A page view as the writer gets it: the row, plus what its visit needs. */
export interface PageViewEvent extends NewPageView {
  /** The attribution cookie's content, when the request carried a valid one. */
  attribution?: Attribution | null;
  /** The click the request came through, from the redirect's marker cookie. */
  clickMarker?: { deliveryId: number; at: number } | null;
  /** Why the viewer's network is a machine's (a security gateway, cloud host or mail provider), or null. */
  machineNetwork?: string | null;
  /** The viewer network's owner (ownerKey): machine activity is grouped by it. */
  owner?: string;
  /** Window of the attribution setting, for later visits. */
  windowMs?: number;
  /** The subscriber the reader cookie names (tracking/reader-cookie.ts), when the request carried a valid one. */
  reader?: number | null;
}

const CLICK_AT =
  'select "class", "reason", "issue_id" from "clicks" where "delivery_id" = ? and "at" = ? order by "class" desc limit 1';
const FIRST_LANDING = 'select min("started_at") as "at" from "visits" where "visitor_key" = ? and "issue_id" = ?';
const VIEW_COLUMNS = [
  'at',
  'path',
  'referrer_host',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'visitor_hash',
  'device',
  'is_bot',
  'issue_id',
  'subscriber_id',
  'asn',
  'net',
  'click_delivery_id',
  'click_at',
  'machine',
] as const;
const VISIT_COLUMNS = [
  'visitor_key',
  'started_at',
  'last_seen',
  'views',
  'landing_path',
  'issue_id',
  'delivery_id',
  'subscriber_id',
  'attributed_by',
  'is_later',
  'click_at',
  'reader_subscriber_id',
] as const;
/** Rows a statement at most: SQLite prepares a statement per row count; PostgreSQL pays a round trip a statement. */
const chunkOf = (postgres: boolean) => (postgres ? 2000 : 32);

function texts(make: (rows: number) => string): (rows: number) => string {
  const made: string[] = [];
  return (rows) => (made[rows] ??= make(rows));
}
const tuples = (width: number, rows: number) =>
  new Array(rows).fill(`(${new Array(width).fill('?').join(', ')})`).join(', ');
const viewInsert = texts(
  (rows) =>
    `insert into "page_views" (${VIEW_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${tuples(VIEW_COLUMNS.length, rows)}`,
);
const visitInsert = texts(
  (rows) =>
    `insert into "visits" (${VISIT_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${tuples(VISIT_COLUMNS.length, rows)}`,
);
/** Each visitor's latest visit (the one a view may continue), for many visitors at once. */
const latestVisits = texts(
  (rows) =>
    `select "id", "visitor_key", "started_at", "last_seen" from "visits" as "v" where "visitor_key" in (${new Array(rows).fill('?').join(', ')}) and "started_at" = (select max("started_at") from "visits" as "w" where "w"."visitor_key" = "v"."visitor_key")`,
);
/** Visits a batch continued: more views, a later last view (PostgreSQL types the values by casts). */
const visitExtends = (postgres: boolean) =>
  texts((rows) => {
    const v = (column: number, type: string) =>
      postgres ? `cast("v"."column${column}" as ${type})` : `"v"."column${column}"`;
    return `update "visits" set "views" = "visits"."views" + ${v(2, 'integer')}, "last_seen" = case when "visits"."last_seen" < ${v(3, 'bigint')} then ${v(3, 'bigint')} else "visits"."last_seen" end from (values ${tuples(3, rows)}) as "v" where "visits"."id" = ${v(1, 'bigint')}`;
  });
const extendTexts = { sqlite: visitExtends(false), postgres: visitExtends(true) };

function* runRows(text: (rows: number) => string, width: number, values: unknown[], postgres: boolean): StatementPlan {
  const rows = values.length / width;
  const most = postgres ? Math.floor(chunkOf(true) / width) : chunkOf(false);
  for (let at = 0; at < rows; at += most) {
    const count = Math.min(most, rows - at);
    yield { run: text(count), params: count === rows ? values : values.slice(at * width, (at + count) * width) };
  }
}

interface StoredClick {
  class: string;
  reason: string;
  issue_id: number | string;
}

/** The key of a visitor's visits: the subscriber the attribution cookie names, else the day's visitor hash. */
export const visitorKeyOf = (view: Pick<PageViewEvent, 'attribution' | 'visitor_hash'>): string =>
  view.attribution?.subscriberId != null ? `s:${view.attribution.subscriberId}` : `h:${view.visitor_hash}`;

/** A visitor's current visit in a batch: the stored one it continues (`id`), or a new one (`row`). */
interface OpenVisit {
  id: number | null;
  startedAt: number;
  lastSeen: number;
  /** Views this batch added to a stored visit. */
  added: number;
  /** A visit this batch starts: its row, views and last view kept current until it is inserted. */
  row?: {
    visitor_key: string;
    started_at: number;
    last_seen: number;
    views: number;
    landing_path: string;
    issue_id: number | null;
    delivery_id: number | null;
    subscriber_id: number | null;
    attributed_by: 'utm' | 'cookie' | null;
    is_later: number;
    click_at: number | null;
    reader_subscriber_id: number | null;
  };
}

/** A view after its click is known: whose it is and what it is attributed to. */
interface Judged {
  event: PageViewEvent;
  ref: { deliveryId: number; at: number } | null;
  click: StoredClick | undefined;
}

/** One per writer: issue slugs in memory (what a campaign tag names changes only when an issue is created). */
export class VisitTracker {
  readonly #slugs = new Map<string, { id: number | null; until: number }>();

  /** The inserter for `page_view` rows: the views, their attribution and their visits, in the writer's transaction. */
  readonly inserter = {
    kysely: async (trx: Transaction<Database>, rows: PageViewEvent[]) => {
      const deltas = new CountDeltas();
      await runPlan(trx, this.#batch(rows, deltas, true));
      await addReportCounts(trx, deltas);
    },
    sqlite: (sqlite: BetterSqlite3.Database, rows: PageViewEvent[]) => {
      const deltas = new CountDeltas();
      runPlanSqlite(sqlite, this.#batch(rows, deltas, false));
      addReportCountsSqlite(sqlite, deltas);
    },
  };

  /**
   * A batch of views: the clicks they came through (where they name one), whose each view is, the
   * visitors' latest visits (one query), then each view in order continues its visitor's visit or
   * starts one; the views, the new visits and the visits continued are written a statement each.
   */
  *#batch(rows: PageViewEvent[], deltas: CountDeltas, postgres: boolean): StatementPlan {
    const missing = this.#missingSlugs(rows);
    if (missing.length > 0) {
      const found = (yield {
        all: `select "id", "slug" from "issues" where "slug" in (${missing.map(() => '?').join(', ')})`,
        params: missing,
      }) as { id: number | string; slug: string }[];
      this.#learnSlugs(missing, found);
    }
    const judged: Judged[] = [];
    for (const event of rows) {
      // The click that led here: the later of the machine click's marker and the reader click's attribution cookie.
      const cookie =
        event.attribution && event.attribution.deliveryId > 0
          ? { deliveryId: event.attribution.deliveryId, at: event.attribution.at }
          : null;
      const marker = event.clickMarker ?? null;
      const ref = marker && (!cookie || marker.at >= cookie.at) ? marker : cookie;
      const click = ref
        ? ((yield { get: CLICK_AT, params: [ref.deliveryId, ref.at] }) as StoredClick | undefined)
        : undefined;
      judged.push({ event, ref, click });
    }
    const keys = [
      ...new Set(judged.filter((j) => !j.event.is_bot && !this.#machine(j)).map((j) => visitorKeyOf(j.event))),
    ];
    const open = new Map<string, OpenVisit>();
    const most = chunkOf(postgres);
    for (let at = 0; at < keys.length; at += most) {
      const chunk = keys.slice(at, at + most);
      const found = (yield { all: latestVisits(chunk.length), params: chunk }) as {
        id: number | string;
        visitor_key: string;
        started_at: number | string;
        last_seen: number | string;
      }[];
      for (const v of found)
        open.set(v.visitor_key, {
          id: Number(v.id),
          startedAt: Number(v.started_at),
          lastSeen: Number(v.last_seen),
          added: 0,
        });
    }
    const views: unknown[] = [];
    const started: OpenVisit[] = [];
    const continued = new Set<OpenVisit>();
    const firstVisits: [number, number, number, boolean][] = [];
    for (const j of judged) yield* this.#view(j, views, open, started, continued, firstVisits, deltas);
    yield* runRows(viewInsert, VIEW_COLUMNS.length, views, postgres);
    const inserts: unknown[] = [];
    for (const v of started) for (const c of VISIT_COLUMNS) inserts.push(v.row![c]);
    yield* runRows(visitInsert, VISIT_COLUMNS.length, inserts, postgres);
    const extended: unknown[] = [];
    for (const v of continued) extended.push(v.id, v.added, v.lastSeen);
    yield* runRows(postgres ? extendTexts.postgres : extendTexts.sqlite, 3, extended, postgres);
    for (const [issueId, deliveryId, at, later] of firstVisits)
      yield* firstVisitFollowUp(issueId, deliveryId, at, deltas, later);
  }

  /** Why a view is a machine's: through a machine's click, or from a machine network with no reader's click behind it; else null. */
  #machine({ event, click }: Judged): string | null {
    if (click && click.class !== 'human') return `through a machine’s click: ${click.reason}`;
    return click?.class !== 'human' && event.machineNetwork ? event.machineNetwork : null;
  }

  /** One view: whose it is, its row, its counts and its visit. */
  *#view(
    judged: Judged,
    values: unknown[],
    open: Map<string, OpenVisit>,
    started: OpenVisit[],
    continued: Set<OpenVisit>,
    firstVisits: [number, number, number, boolean][],
    deltas: CountDeltas,
  ): StatementPlan {
    const { event, ref, click } = judged;
    const { attribution, clickMarker: _marker, machineNetwork: _network, owner, windowMs, reader, ...view } = event;
    const cookie = attribution ?? null;
    const readerClick = click?.class === 'human';
    const campaignIssue = view.utm_campaign ? (this.#slugs.get(view.utm_campaign)?.id ?? null) : null;
    const push = (row: NewPageView) => {
      for (const c of VIEW_COLUMNS) values.push(row[c] ?? null);
    };

    const machine = this.#machine(judged);
    if (machine && !view.is_bot) {
      const issueId = click ? Number(click.issue_id) : campaignIssue;
      push({ ...view, issue_id: issueId, subscriber_id: null, machine: machine.slice(0, 300) });
      deltas.at(SITE, MACHINE_VIEW_METRIC, view.at);
      if (issueId !== null) deltas.at(issueId, MACHINE_VIEW_METRIC, view.at);
      if (issueId !== null && owner) deltas.add(issueId, OWNER_METRIC.view, owner, 0);
      return;
    }
    const issueId = campaignIssue ?? cookie?.issueId ?? null;
    const byCookie = cookie !== null && cookie.issueId === issueId;
    const subscriberId = cookie?.subscriberId ?? null;
    push({
      ...view,
      issue_id: issueId,
      subscriber_id: subscriberId,
      click_delivery_id: readerClick ? ref!.deliveryId : null,
      click_at: readerClick ? ref!.at : null,
      machine: null,
    });
    if (view.is_bot) return;
    countView(
      deltas,
      {
        at: view.at,
        path: view.path,
        utm_campaign: view.utm_campaign ?? null,
        referrer_host: view.referrer_host ?? null,
      },
      issueId,
    );

    const key = visitorKeyOf(event);
    const at = view.at;
    const current = open.get(key);
    if (current && at - current.lastSeen < VISIT_GAP_MS && at >= current.startedAt) {
      current.lastSeen = Math.max(current.lastSeen, at);
      if (current.row) {
        current.row.views++;
        current.row.last_seen = current.lastSeen;
      } else {
        current.added++;
        continued.add(current);
      }
      return;
    }
    deltas.atToTheMinute(SITE, 'visit', at);
    const visit: OpenVisit = { id: null, startedAt: at, lastSeen: at, added: 0 };
    const row = {
      visitor_key: key,
      started_at: at,
      last_seen: at,
      views: 1,
      landing_path: view.path,
      issue_id: null as number | null,
      delivery_id: null as number | null,
      subscriber_id: subscriberId,
      attributed_by: null as 'utm' | 'cookie' | null,
      is_later: 0,
      click_at: null as number | null,
      reader_subscriber_id: reader ?? null,
    };
    visit.row = row;
    open.set(key, visit);
    started.push(visit);
    if (issueId === null) return;
    const stored = (yield { get: FIRST_LANDING, params: [key, issueId] }) as { at: number | string | null } | undefined;
    const inBatch = started
      .filter((v) => v !== visit && v.row!.visitor_key === key && v.row!.issue_id === issueId)
      .map((v) => v.startedAt);
    const firstLanding = Math.min(byCookie ? cookie.at : Infinity, nullableNumber(stored?.at) ?? Infinity, ...inBatch);
    row.is_later = at > firstLanding + LANDING_SLACK_MS && at - firstLanding <= (windowMs ?? 7 * 86_400_000) ? 1 : 0;
    row.issue_id = issueId;
    row.delivery_id =
      byCookie && cookie.deliveryId > 0
        ? cookie.deliveryId
        : readerClick && click && Number(click.issue_id) === issueId
          ? ref!.deliveryId
          : null;
    row.click_at = row.delivery_id !== null && readerClick && ref!.deliveryId === row.delivery_id ? ref!.at : null;
    row.attributed_by = campaignIssue !== null ? 'utm' : 'cookie';
    deltas.at(issueId, 'visit', at);
    if (row.is_later) deltas.at(issueId, 'visit.later', at);
    if (row.delivery_id !== null) firstVisits.push([issueId, row.delivery_id, at, row.is_later === 1]);
  }

  #missingSlugs(rows: PageViewEvent[]): string[] {
    const now = Date.now();
    const missing = new Set<string>();
    for (const r of rows) {
      if (!r.utm_campaign) continue;
      const known = this.#slugs.get(r.utm_campaign);
      if (!known || known.until < now) missing.add(r.utm_campaign);
    }
    return [...missing];
  }

  #learnSlugs(asked: string[], found: { id: number | string; slug: string }[]): void {
    if (this.#slugs.size > 10_000) this.#slugs.clear();
    const until = Date.now() + SLUG_CACHE_MS;
    const ids = new Map(found.map((f) => [f.slug, Number(f.id)]));
    for (const slug of asked) this.#slugs.set(slug, { id: ids.get(slug) ?? null, until });
  }
}

/**
 * An attributed visit by the reader of a delivery: its first visit time and the unique visitors;
 * a later visit of a delivery in an experiment arm counts for its arm too (issue 19).
 */
export function* firstVisitFollowUp(
  issueId: number,
  deliveryId: number,
  at: number,
  deltas: CountDeltas,
  later = false,
): StatementPlan {
  const firsts = yield* readFirsts(deliveryId);
  if (later && firsts?.arm) deltas.add(issueId, 'arm.visit_later', firsts.arm, 0);
  if (!firsts || (firsts.first_visit_at !== null && firsts.first_visit_at <= at)) return;
  yield { run: SET_FIRST_VISIT, params: [at, deliveryId] };
  moveFirst(deltas, issueId, 'first.visit', firsts.first_visit_at, at, firsts.arm);
}
