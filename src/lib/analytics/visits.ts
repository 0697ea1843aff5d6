import type { Transaction } from 'kysely';
import { sql } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/schema.ts';
import type { NewPageView } from './page-views.repository.ts';
import { insertPageViews, insertPageViewsSqlite } from './page-views.repository.ts';
import { findIssueIdsBySlugs, firstVisitFollowUp } from '../tracking/tracking.repository.ts';
import { runPlan, runPlanSqlite } from '../events/statement-plan.ts';
import type { Attribution } from '../tracking/attribution.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas, SITE } from '../reports/report-counts.repository.ts';

/**
 * Visits, maintained as page views arrive, inside the event writer's batch (no extra round
 * trip per view): a visit is a run of one visitor's views with gaps under 30 minutes. The
 * open visit of each recent visitor is kept in memory; every view upserts its visit row
 * (keyed by visitor and start), so a retried batch cannot lose or double a visit.
 *
 * Attribution: a view landing with utm_campaign = an issue's slug, or carrying that issue's
 * attribution cookie, belongs to the issue (the slug wins over the cookie). A visit is
 * attributed by its landing view. A "later visit" is an attributed visit that starts after
 * the visitor's first landing from the issue: the click time in the cookie, or an earlier
 * attributed visit this process saw from the same visitor.
 */
export const VISIT_GAP_MS = 30 * 60_000;
/** A click lands a few seconds after the redirect; a visit starting later than this came back on its own. */
export const LANDING_SLACK_MS = 60_000;
const SLUG_CACHE_MS = 60_000;
const MAX_VISITORS = 200_000;

/** A page view as the writer gets it: the row, plus what its visit needs. */
export interface PageViewEvent extends NewPageView {
  /** The attribution cookie's content, when the request carried a valid one. */
  attribution?: Attribution | null;
  /** Window of the attribution setting, for the memory of first landings. */
  windowMs?: number;
}

interface OpenVisit {
  startedAt: number;
  lastSeen: number;
  /** First landing per issue from this visitor (for later visits). */
  landings?: Map<number, number>;
}

interface VisitUpsert {
  visitor_key: string;
  started_at: number;
  last_seen: number;
  landing_path: string;
  issue_id: number | null;
  delivery_id: number | null;
  subscriber_id: number | null;
  attributed_by: 'utm' | 'cookie' | null;
  is_later: number;
}

const UPSERT_SQLITE = `insert into "visits" ("visitor_key", "started_at", "last_seen", "views", "landing_path", "issue_id", "delivery_id", "subscriber_id", "attributed_by", "is_later")
values (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
on conflict ("visitor_key", "started_at") do update set "last_seen" = max("visits"."last_seen", excluded."last_seen"), "views" = "visits"."views" + 1
returning "views", "issue_id", "is_later"`;
const SLUG_SQLITE = 'select "id" from "issues" where "slug" = ?';

const statements = new WeakMap<BetterSqlite3.Database, Record<'upsert' | 'slug', BetterSqlite3.Statement>>();

function sqliteStatements(sqlite: BetterSqlite3.Database) {
  let s = statements.get(sqlite);
  if (!s) statements.set(sqlite, (s = { upsert: sqlite.prepare(UPSERT_SQLITE), slug: sqlite.prepare(SLUG_SQLITE) }));
  return s;
}

/** What one counted (not bot) page view adds to the site's report counts. */
function countView(deltas: CountDeltas, view: NewPageView, issueId: number | null): void {
  deltas.at(SITE, 'pageview', view.at);
  deltas.dimAt(SITE, 'path.views', view.path, view.at);
  if (issueId !== null) deltas.dimAt(SITE, 'path.newsletter', view.path, view.at);
  if (view.utm_campaign) deltas.dimAt(SITE, 'source.campaign', view.utm_campaign, view.at);
  if (view.referrer_host) deltas.dimAt(SITE, 'source.referrer', view.referrer_host, view.at);
}

type StoredVisit = { views: number; issue_id: number | null; is_later: number };

/**
 * A visit is counted when its row is created (the upsert answers views = 1), so the counts
 * follow the stored rows even when a batch is retried.
 */
function countVisit(deltas: CountDeltas, startedAt: number, stored: StoredVisit): void {
  if (Number(stored.views) !== 1) return;
  deltas.at(SITE, 'visit', startedAt);
  if (stored.issue_id === null) return;
  deltas.at(Number(stored.issue_id), 'visit', startedAt);
  if (Number(stored.is_later) === 1) deltas.at(Number(stored.issue_id), 'visit.later', startedAt);
}

/** One per process (the writer's): open visits and issue slugs in memory. */
export class VisitTracker {
  readonly #open = new Map<string, OpenVisit>();
  readonly #slugs = new Map<string, { id: number | null; until: number }>();

  /** The inserter for `page_view` rows: the views, their attribution and their visits, in the writer's transaction. */
  readonly inserter = {
    kysely: async (trx: Transaction<Database>, rows: PageViewEvent[]) => {
      const missing = this.#missingSlugs(rows);
      if (missing.length > 0) this.#learnSlugs(missing, await findIssueIdsBySlugs(trx, missing));
      const { views, visits, firstVisits, deltas } = this.#plan(rows);
      await insertPageViews(trx, views);
      for (const v of visits) {
        const stored = await trx
          .insertInto('visits')
          .values({ ...v, views: 1 })
          .onConflict((oc) => oc.columns(['visitor_key', 'started_at']).doUpdateSet({ last_seen: sql`greatest(visits.last_seen, excluded.last_seen)`, views: sql`visits.views + 1` }))
          .returning(['views', 'issue_id', 'is_later'])
          .executeTakeFirstOrThrow();
        countVisit(deltas, v.started_at, stored);
      }
      for (const [deliveryId, first] of firstVisits) await runPlan(trx, firstVisitFollowUp(first.issueId, deliveryId, first.at, deltas));
      await addReportCounts(trx, deltas);
    },
    sqlite: (sqlite: BetterSqlite3.Database, rows: PageViewEvent[]) => {
      const s = sqliteStatements(sqlite);
      const missing = this.#missingSlugs(rows);
      if (missing.length > 0) {
        this.#learnSlugs(
          missing,
          missing.flatMap((slug) => {
            const row = s.slug.get(slug) as { id: number } | undefined;
            return row ? [{ id: Number(row.id), slug }] : [];
          }),
        );
      }
      const { views, visits, firstVisits, deltas } = this.#plan(rows);
      insertPageViewsSqlite(sqlite, views);
      for (const v of visits) countVisit(deltas, v.started_at, s.upsert.get(v.visitor_key, v.started_at, v.last_seen, v.landing_path, v.issue_id, v.delivery_id, v.subscriber_id, v.attributed_by, v.is_later) as StoredVisit);
      for (const [deliveryId, first] of firstVisits) runPlanSqlite(sqlite, firstVisitFollowUp(first.issueId, deliveryId, first.at, deltas));
      addReportCountsSqlite(sqlite, deltas);
    },
  };

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

  #learnSlugs(asked: string[], found: { id: number; slug: string }[]): void {
    if (this.#slugs.size > 10_000) this.#slugs.clear();
    const until = Date.now() + SLUG_CACHE_MS;
    const ids = new Map(found.map((f) => [f.slug, f.id]));
    for (const slug of asked) this.#slugs.set(slug, { id: ids.get(slug) ?? null, until });
  }

  /** Attributes each view, works out its visit and the report counts it adds (pure but for the in-memory visits). */
  #plan(rows: PageViewEvent[]): { views: NewPageView[]; visits: VisitUpsert[]; firstVisits: Map<number, { issueId: number; at: number }>; deltas: CountDeltas } {
    const views: NewPageView[] = [];
    const visits: VisitUpsert[] = [];
    const firstVisits = new Map<number, { issueId: number; at: number }>();
    const deltas = new CountDeltas();
    if (this.#open.size > MAX_VISITORS) this.#prune(rows[0]?.at ?? Date.now());
    for (const { attribution, windowMs, ...view } of rows) {
      const campaignIssue = view.utm_campaign ? (this.#slugs.get(view.utm_campaign)?.id ?? null) : null;
      const cookie = attribution ?? null;
      const issueId = campaignIssue ?? cookie?.issueId ?? null;
      const byCookie = cookie !== null && cookie.issueId === issueId;
      const subscriberId = cookie?.subscriberId ?? null;
      views.push({ ...view, issue_id: issueId, subscriber_id: subscriberId });
      if (view.is_bot) continue;
      countView(deltas, view, issueId);
      const key = subscriberId !== null ? `s:${subscriberId}` : `h:${view.visitor_hash}`;
      let visit = this.#open.get(key);
      const at = view.at;
      if (visit && at - visit.lastSeen < VISIT_GAP_MS && at >= visit.startedAt) {
        visit.lastSeen = Math.max(visit.lastSeen, at);
        visits.push({ visitor_key: key, started_at: visit.startedAt, last_seen: at, landing_path: view.path, issue_id: null, delivery_id: null, subscriber_id: null, attributed_by: null, is_later: 0 });
        continue;
      }
      const landings = visit?.landings;
      visit = { startedAt: at, lastSeen: at, ...(landings ? { landings } : {}) };
      this.#open.set(key, visit);
      let isLater = 0;
      if (issueId !== null) {
        const firstLanding = Math.min(byCookie ? cookie!.at : Infinity, visit.landings?.get(issueId) ?? Infinity);
        if (at > firstLanding + LANDING_SLACK_MS && at - firstLanding <= (windowMs ?? 7 * 86_400_000)) isLater = 1;
        (visit.landings ??= new Map()).set(issueId, Math.min(visit.landings.get(issueId) ?? at, firstLanding, at));
        const deliveryId = byCookie && cookie!.deliveryId > 0 ? cookie!.deliveryId : null;
        if (deliveryId !== null && !firstVisits.has(deliveryId)) firstVisits.set(deliveryId, { issueId, at });
        visits.push({ visitor_key: key, started_at: at, last_seen: at, landing_path: view.path, issue_id: issueId, delivery_id: deliveryId, subscriber_id: subscriberId, attributed_by: campaignIssue !== null ? 'utm' : 'cookie', is_later: isLater });
      } else {
        visits.push({ visitor_key: key, started_at: at, last_seen: at, landing_path: view.path, issue_id: null, delivery_id: null, subscriber_id: subscriberId, attributed_by: null, is_later: 0 });
      }
    }
    return { views, visits, firstVisits, deltas };
  }

  /** Forgets visitors idle past the gap who have no landing worth remembering. */
  #prune(now: number): void {
    for (const [key, v] of this.#open) if (now - v.lastSeen >= VISIT_GAP_MS && !v.landings) this.#open.delete(key);
    if (this.#open.size > MAX_VISITORS) this.#open.clear();
  }
}
