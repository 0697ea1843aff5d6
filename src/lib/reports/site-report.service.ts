import type { DB } from '../db/database.ts';
import { getSettings } from '../settings/settings.service.ts';
import { addDays, dayOf, startOfDay } from '../time/zoned-time.ts';
import { ZoneClock } from '../time/zone-clock.ts';
import { HOUR_MS, PER_HOUR, SITE } from '../counts/buckets.ts';
import { findCountBuckets, sumCountsByDim, sumInRange } from '../counts/range-reads.ts';
import { findSendTimes } from './reports.repository.ts';

/**
 * The site dashboard and the per-article figures, from the maintained counts: visits and page
 * views per hour (per 15 minutes in a zone whose midnights are not on the hour), per-page and
 * per-source counts per UTC day with hours at the ends (whole days in the site's time zone; in a
 * zone whose offset is not a whole hour, the per-page and per-source ranges start and end on
 * the hour before local midnight).
 */
export interface SiteReportRange {
  /** First and last day shown, inclusive, "YYYY-MM-DD" in the site's time zone. */
  fromDay: string;
  toDay: string;
}

export interface SiteReport {
  timeZone: string;
  fromDay: string;
  toDay: string;
  totals: { visits: number; pageViews: number; signups: number; calls: number; walkIns: number; doorIn: number };
  /** One point per day (the day's start). */
  daily: { day: string; at: number; visits: number; pageViews: number }[];
  sends: { issueId: number; subject: string; at: number }[];
  topPages: { path: string; views: number; newsletterViews: number }[];
  campaigns: { campaign: string; views: number }[];
  referrers: { host: string; views: number }[];
}

/** The last `days` days up to today in the site's time zone. */
export function lastDays(days: number, timeZone: string, now = Date.now()): SiteReportRange {
  const toDay = dayOf(now, timeZone);
  return { fromDay: addDays(toDay, -(days - 1)), toDay };
}

export async function siteReport(
  db: DB,
  range: SiteReportRange,
  options: { now?: number; limit?: number } = {},
): Promise<SiteReport> {
  const settings = await getSettings(db, options.now === undefined ? {} : { now: options.now });
  const tz = settings.timeZone;
  const from = startOfDay(range.fromDay, tz);
  const to = startOfDay(addDays(range.toDay, 1), tz);
  const limit = options.limit ?? 20;
  // Hour buckets when every local midnight in the range is on the hour (whole-hour zones), else 15-minute ones.
  let grain: '' | typeof PER_HOUR = PER_HOUR;
  for (let day = range.fromDay; day <= addDays(range.toDay, 1); day = addDays(day, 1))
    if (startOfDay(day, tz) % HOUR_MS !== 0) grain = '';
  const [buckets, sums, pages, newsletter, campaigns, referrers, sendTimes] = await Promise.all([
    findCountBuckets(db, SITE, ['visit', 'pageview'], from, to, grain),
    sumInRange(db, SITE, ['signup', 'call', 'walk_in', 'door.in'], from, to),
    sumCountsByDim(db, SITE, 'path.views', { from, to, limit }),
    sumCountsByDim(db, SITE, 'path.newsletter', { from, to }),
    sumCountsByDim(db, SITE, 'source.campaign', { from, to, limit }),
    sumCountsByDim(db, SITE, 'source.referrer', { from, to, limit }),
    findSendTimes(db),
  ]);
  const days: SiteReport['daily'] = [];
  const index = new Map<string, number>();
  for (let day = range.fromDay; day <= range.toDay; day = addDays(day, 1)) {
    index.set(day, days.length);
    days.push({ day, at: startOfDay(day, tz), visits: 0, pageViews: 0 });
  }
  const totals = {
    visits: 0,
    pageViews: 0,
    signups: sums.get('signup') ?? 0,
    calls: sums.get('call') ?? 0,
    walkIns: sums.get('walk_in') ?? 0,
    // Counted by door counters: a figure of its own, never added to the tapped walk-ins.
    doorIn: sums.get('door.in') ?? 0,
  };
  const clock = new ZoneClock(tz);
  for (const b of buckets) {
    const point = days[index.get(clock.day(b.bucket))!]!;
    if (b.metric === 'visit') {
      point.visits += b.n;
      totals.visits += b.n;
    } else {
      point.pageViews += b.n;
      totals.pageViews += b.n;
    }
  }
  const fromNewsletter = new Map(newsletter.map((r) => [r.dim, r.n]));
  return {
    timeZone: tz,
    fromDay: range.fromDay,
    toDay: range.toDay,
    totals,
    daily: days,
    sends: sendTimes
      .filter((s) => s.sentAt >= from && s.sentAt < to)
      .map((s) => ({ issueId: s.issueId, subject: s.subject, at: s.sentAt })),
    topPages: pages.map((p) => ({ path: p.dim, views: p.n, newsletterViews: fromNewsletter.get(p.dim) ?? 0 })),
    campaigns: campaigns.map((c) => ({ campaign: c.dim, views: c.n })),
    referrers: referrers.map((r) => ({ host: r.dim, views: r.n })),
  };
}

export interface ArticleFigures {
  path: string;
  title: string;
  views: number;
  newsletterViews: number;
  /** Share of this article's views that came from a newsletter (attributed), null without views. */
  newsletterShare: number | null;
}

/** Views and newsletter views of each article in the range, most viewed first. */
export async function articleFigures(
  db: DB,
  articles: readonly { path: string; title: string }[],
  range: SiteReportRange,
  options: { now?: number } = {},
): Promise<ArticleFigures[]> {
  const settings = await getSettings(db, options.now === undefined ? {} : { now: options.now });
  const from = startOfDay(range.fromDay, settings.timeZone);
  const to = startOfDay(addDays(range.toDay, 1), settings.timeZone);
  const [views, newsletter] = await Promise.all([
    sumCountsByDim(db, SITE, 'path.views', { from, to }),
    sumCountsByDim(db, SITE, 'path.newsletter', { from, to }),
  ]);
  const viewsByPath = new Map(views.map((r) => [r.dim, r.n]));
  const newsletterByPath = new Map(newsletter.map((r) => [r.dim, r.n]));
  // Pages are counted as requested: with and without the trailing slash.
  const count = (map: Map<string, number>, path: string) =>
    (map.get(path) ?? 0) + (path.endsWith('/') ? (map.get(path.slice(0, -1)) ?? 0) : (map.get(`${path}/`) ?? 0));
  return articles
    .map((a) => {
      const v = count(viewsByPath, a.path);
      const n = count(newsletterByPath, a.path);
      return { path: a.path, title: a.title, views: v, newsletterViews: n, newsletterShare: v > 0 ? n / v : null };
    })
    .sort((a, b) => b.views - a.views || a.title.localeCompare(b.title));
}
