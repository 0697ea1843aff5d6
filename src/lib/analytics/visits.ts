import type { Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/schema.ts';
import type { NewPageView } from './page-views.repository.ts';
import { runPlan, runPlanSqlite, type StatementPlan } from '../events/statement-plan.ts';
import type { Attribution } from '../tracking/attribution.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas, SITE } from '../reports/report-counts.repository.ts';
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
}

const CLICK_AT = 'select "class", "reason", "issue_id" from "clicks" where "delivery_id" = ? and "at" = ? order by "class" desc limit 1';
const LATEST_VISIT = 'select "id", "started_at", "last_seen" from "visits" where "visitor_key" = ? order by "started_at" desc limit 1';
const EXTEND_VISIT = 'update "visits" set "last_seen" = case when "last_seen" < ? then ? else "last_seen" end, "views" = "views" + 1 where "id" = ?';
const FIRST_LANDING = 'select min("started_at") as "at" from "visits" where "visitor_key" = ? and "issue_id" = ?';
const INSERT_VISIT =
  'insert into "visits" ("visitor_key", "started_at", "last_seen", "views", "landing_path", "issue_id", "delivery_id", "subscriber_id", "attributed_by", "is_later", "click_at") values (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)';
const VIEW_COLUMNS = ['at', 'path', 'referrer_host', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'visitor_hash', 'device', 'is_bot', 'issue_id', 'subscriber_id', 'asn', 'net', 'click_delivery_id', 'click_at', 'machine'] as const;
const MAX_ROWS = 32; // 18 columns × 32 rows stays far below both databases' limits on parameters
const insertTexts: string[] = [];
const viewInsert = (rows: number) =>
  (insertTexts[rows] ??= `insert into "page_views" (${VIEW_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${new Array(rows).fill(`(${new Array(VIEW_COLUMNS.length).fill('?').join(', ')})`).join(', ')}`);

type StoredClick = { class: string; reason: string; issue_id: number | string };

/** The key of a visitor's visits: the subscriber the attribution cookie names, else the day's visitor hash. */
export const visitorKeyOf = (view: Pick<PageViewEvent, 'attribution' | 'visitor_hash'>): string =>
  view.attribution?.subscriberId != null ? `s:${view.attribution.subscriberId}` : `h:${view.visitor_hash}`;

/** One per writer: issue slugs in memory (what a campaign tag names changes only when an issue is created). */
export class VisitTracker {
  readonly #slugs = new Map<string, { id: number | null; until: number }>();

  /** The inserter for `page_view` rows: the views, their attribution and their visits, in the writer's transaction. */
  readonly inserter = {
    kysely: async (trx: Transaction<Database>, rows: PageViewEvent[]) => {
      const deltas = new CountDeltas();
      await runPlan(trx, this.#batch(rows, deltas));
      await addReportCounts(trx, deltas);
    },
    sqlite: (sqlite: BetterSqlite3.Database, rows: PageViewEvent[]) => {
      const deltas = new CountDeltas();
      runPlanSqlite(sqlite, this.#batch(rows, deltas));
      addReportCountsSqlite(sqlite, deltas);
    },
  };

  *#batch(rows: PageViewEvent[], deltas: CountDeltas): StatementPlan {
    const missing = this.#missingSlugs(rows);
    if (missing.length > 0) {
      const found = (yield { all: `select "id", "slug" from "issues" where "slug" in (${missing.map(() => '?').join(', ')})`, params: missing }) as { id: number | string; slug: string }[];
      this.#learnSlugs(missing, found);
    }
    const values: unknown[] = [];
    for (const row of rows) yield* this.#view(row, values, deltas);
    for (let at = 0; at < values.length / VIEW_COLUMNS.length; at += MAX_ROWS) {
      const count = Math.min(MAX_ROWS, values.length / VIEW_COLUMNS.length - at);
      yield { run: viewInsert(count), params: values.slice(at * VIEW_COLUMNS.length, (at + count) * VIEW_COLUMNS.length) };
    }
  }

  /** One view: whose it is, its row, its counts and its visit. */
  *#view(event: PageViewEvent, values: unknown[], deltas: CountDeltas): StatementPlan {
    const { attribution, clickMarker, machineNetwork, owner, windowMs, ...view } = event;
    const cookie = attribution ?? null;
    const ref = clickMarker ?? (cookie && cookie.deliveryId > 0 ? { deliveryId: cookie.deliveryId, at: cookie.at } : null);
    const click = ref ? ((yield { get: CLICK_AT, params: [ref.deliveryId, ref.at] }) as StoredClick | undefined) : undefined;
    const readerClick = click?.class === 'human';
    const campaignIssue = view.utm_campaign ? (this.#slugs.get(view.utm_campaign)?.id ?? null) : null;
    const push = (row: NewPageView) => {
      for (const c of VIEW_COLUMNS) values.push(row[c] ?? null);
    };

    const machine = click && !readerClick ? `through a machine’s click: ${click.reason}` : !readerClick && machineNetwork ? machineNetwork : null;
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
    push({ ...view, issue_id: issueId, subscriber_id: subscriberId, click_delivery_id: readerClick ? ref!.deliveryId : null, click_at: readerClick ? ref!.at : null, machine: null });
    if (view.is_bot) return;
    countView(deltas, { at: view.at, path: view.path, utm_campaign: view.utm_campaign ?? null, referrer_host: view.referrer_host ?? null }, issueId);

    const key = visitorKeyOf(event);
    const at = view.at;
    const open = (yield { get: LATEST_VISIT, params: [key] }) as { id: number | string; started_at: number | string; last_seen: number | string } | undefined;
    if (open && at - Number(open.last_seen) < VISIT_GAP_MS && at >= Number(open.started_at)) {
      yield { run: EXTEND_VISIT, params: [at, at, open.id] };
      return;
    }
    deltas.at(SITE, 'visit', at);
    if (issueId === null) {
      yield { run: INSERT_VISIT, params: [key, at, at, view.path, null, null, subscriberId, null, 0, null] };
      return;
    }
    const earlier = (yield { get: FIRST_LANDING, params: [key, issueId] }) as { at: number | string | null } | undefined;
    const firstLanding = Math.min(byCookie ? cookie!.at : Infinity, nullableNumber(earlier?.at) ?? Infinity);
    const isLater = at > firstLanding + LANDING_SLACK_MS && at - firstLanding <= (windowMs ?? 7 * 86_400_000) ? 1 : 0;
    const deliveryId = byCookie && cookie!.deliveryId > 0 ? cookie!.deliveryId : readerClick && click && Number(click.issue_id) === issueId ? ref!.deliveryId : null;
    const clickAt = deliveryId !== null && readerClick && ref!.deliveryId === deliveryId ? ref!.at : null;
    yield { run: INSERT_VISIT, params: [key, at, at, view.path, issueId, deliveryId, subscriberId, campaignIssue !== null ? 'utm' : 'cookie', isLater, clickAt] };
    deltas.at(issueId, 'visit', at);
    if (isLater) deltas.at(issueId, 'visit.later', at);
    if (deliveryId !== null) yield* firstVisitFollowUp(issueId, deliveryId, at, deltas);
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

/** An attributed visit by the reader of a delivery: its first visit time and the unique visitors. */
export function* firstVisitFollowUp(issueId: number, deliveryId: number, at: number, deltas: CountDeltas): StatementPlan {
  const firsts = yield* readFirsts(deliveryId);
  if (!firsts || (firsts.first_visit_at !== null && firsts.first_visit_at <= at)) return;
  yield { run: SET_FIRST_VISIT, params: [at, deliveryId] };
  moveFirst(deltas, issueId, 'first.visit', firsts.first_visit_at, at);
}
