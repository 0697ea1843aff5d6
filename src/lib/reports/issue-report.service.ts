import type { DB } from '../db/database.ts';
import { getSettings } from '../settings/settings.service.ts';
import { minuteLifts, type LiftResult } from './lift.ts';
import { DAY_MS, HOUR_MS, PER_HOUR, QUARTER_MS, quarterOf, SITE } from '../counts/buckets.ts';
import {
  findCountBuckets,
  findFirstBucket,
  findLinkTotals,
  findTotals,
  sumInRange,
  sumMinuteWindows,
  sumWindows,
} from '../counts/range-reads.ts';
import { zoneOffsetAt } from '../time/zoned-time.ts';
import {
  countDeliveriesByIssue,
  findRegisteredLinks,
  findSendTimes,
  findSentIssues,
  type DeliveryTotals,
  type SentIssueRow,
} from './reports.repository.ts';
import { weekHourMatrix } from './week-hour.ts';
import { OWNER_METRIC, parseOwnerKey, type NetworkRole } from '../tracking/hit-source.ts';
import { MACHINE_VIEW_METRIC } from '../analytics/view-counts.ts';
import { AGENT_METRIC } from '../tracking/delivery-firsts.ts';
import { mailClientFigures, type MailClientFigures } from './mail-clients.ts';
import { findExperimentSummaries, type ExperimentSummaryRow } from './experiment-report.repository.ts';
import { holdoutResult } from './holdout-result.service.ts';

/**
 * The numbers of the reports, read from what is maintained (the deliveries ledger and
 * report_counts), never from raw events: pruning raw rows or erasing a person changes no
 * figure, and the cost does not grow with the number of events. Definitions: DESIGN.md
 * "What the numbers mean", shown in the admin by definitions.ts.
 */
/** Curves run 0–7 days after the send at most. */
export const CURVE_HOURS = 168;

/**
 * How much of the time after a send the curves show, and at what step: the first 6 hours by
 * quarter-hour, the first 2 days by hour, or the first week by hour.
 */
export type CurveSpan = 'minutes' | 'hours' | 'days';
export const CURVE_SPANS: Record<CurveSpan, { stepMs: number; spanMs: number }> = {
  minutes: { stepMs: QUARTER_MS, spanMs: 6 * HOUR_MS },
  hours: { stepMs: HOUR_MS, spanMs: 48 * HOUR_MS },
  days: { stepMs: HOUR_MS, spanMs: CURVE_HOURS * HOUR_MS },
};

/** The span that shows an issue of this age best: its first hours while it is young, then its first days, then its week. */
export function curveSpanFor(ageMs: number): CurveSpan {
  return ageMs < CURVE_SPANS.minutes.spanMs ? 'minutes' : ageMs < CURVE_SPANS.hours.spanMs ? 'hours' : 'days';
}

const ISSUE_METRICS = [
  'first.open',
  'first.open_human',
  'first.click',
  'first.visit',
  'open.human',
  'open.proxy',
  'open.apple_mpp',
  'open.scanner',
  'click.human',
  'click.bot',
  'visit',
  'visit.later',
  'signup',
  'unsubscribe',
  'call',
  'walk_in',
] as const;

export interface ComparisonRow {
  issueId: number;
  slug: string;
  subject: string;
  sentAt: number;
  state: string;
  recipients: number;
  delivered: number;
  bounced: number;
  /** Unique opens of any class, and likely-human ones (human or image proxy). */
  uniqueOpens: number;
  uniqueHumanOpens: number;
  /** Of delivered; null before anything was delivered. */
  openRate: number | null;
  humanOpenRate: number | null;
  uniqueHumanClicks: number;
  clickRate: number | null;
  /** Unique human clicks of likely-human openers. */
  clickToOpenRate: number | null;
  /** Deliveries whose reader started an attributed visit. */
  uniqueVisitors: number;
  attributedVisits: number;
  laterVisits: number;
  attributedSignups: number;
  /**
   * All calls and walk-ins (site-wide, not only from this issue) in the issue's window: from its
   * send's quarter-hour for the attribution window, or until the next issue went out if that
   * was sooner — so no call is in the window of two issues. And those credited to the issue.
   */
  callsInWindow: number;
  walkInsInWindow: number;
  /** Where that window ends (exclusive), and when the next issue went out if it cut the window short. */
  windowEndsAt: number;
  windowCutByNextSendAt: number | null;
  creditedCalls: number;
  creditedWalkIns: number;
  unsubscribes: number;
  complaints: number;
  /** The window used for calls and walk-ins, in days. */
  windowDays: number;
  /** The issue's experiment (A/B test, holdout), if it had one. */
  experiment?: ExperimentSummaryRow | null;
  /** With a holdout: incremental visitors per 1,000 identifiable recipients and its 95 % interval (holdout-result.service.ts). */
  holdoutVisits?: { difference: number; low: number; high: number } | null;
  /** With a holdout: incremental callers per 1,000 recipients with a phone number on file, and its 95 % interval. */
  holdoutCalls?: { difference: number; low: number; high: number } | null;
}

/** Whether `timeZone` is a whole number of hours from UTC around `at`, summer and winter (then an hour bucket lies in one local hour). */
function wholeHourZone(timeZone: string, at: number): boolean {
  return [at, at - 182 * DAY_MS, at + 182 * DAY_MS].every((t) => zoneOffsetAt(t, timeZone) % HOUR_MS === 0);
}
const rate = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

function sumsFor(rows: { issueId: number; metric: string; n: number }[]): Map<number, Map<string, number>> {
  const byIssue = new Map<number, Map<string, number>>();
  for (const r of rows) {
    let m = byIssue.get(r.issueId);
    if (!m) byIssue.set(r.issueId, (m = new Map<string, number>()));
    m.set(r.metric, (m.get(r.metric) ?? 0) + r.n);
  }
  return byIssue;
}

function comparisonRow(
  issue: SentIssueRow,
  d: DeliveryTotals | undefined,
  sums: Map<string, number> | undefined,
  window: { calls: number; walkIns: number; endsAt: number; cutAt: number | null },
  windowDays: number,
): ComparisonRow {
  const t = d ?? { recipients: 0, delivered: 0, bounced: 0, complained: 0 };
  const get = (metric: string) => sums?.get(metric) ?? 0;
  const unique = {
    opens: get('first.open'),
    humanOpens: get('first.open_human'),
    humanClicks: get('first.click'),
    visitors: get('first.visit'),
  };
  return {
    issueId: issue.issueId,
    slug: issue.slug,
    subject: issue.subject,
    sentAt: issue.sentAt,
    state: issue.state,
    recipients: t.recipients,
    delivered: t.delivered,
    bounced: t.bounced,
    uniqueOpens: unique.opens,
    uniqueHumanOpens: unique.humanOpens,
    openRate: rate(unique.opens, t.delivered),
    humanOpenRate: rate(unique.humanOpens, t.delivered),
    uniqueHumanClicks: unique.humanClicks,
    clickRate: rate(unique.humanClicks, t.delivered),
    clickToOpenRate: rate(unique.humanClicks, unique.humanOpens),
    uniqueVisitors: unique.visitors,
    attributedVisits: get('visit'),
    laterVisits: get('visit.later'),
    attributedSignups: get('signup'),
    callsInWindow: window.calls,
    walkInsInWindow: window.walkIns,
    windowEndsAt: window.endsAt,
    windowCutByNextSendAt: window.cutAt,
    creditedCalls: get('call'),
    creditedWalkIns: get('walk_in'),
    unsubscribes: get('unsubscribe'),
    complaints: t.complained,
    windowDays,
    experiment: null,
  };
}

/** Every sent issue side by side, newest first. */
export async function compareIssues(
  db: DB,
  options: { now?: number; limit?: number; issueIds?: readonly number[] } = {},
): Promise<ComparisonRow[]> {
  const settings = await getSettings(db, options.now === undefined ? {} : { now: options.now });
  const issues = await findSentIssues(db, options.limit, options.issueIds);
  if (issues.length === 0) return [];
  const ids = issues.map((i) => i.issueId);
  const windowMs = settings.attributionWindowDays * DAY_MS;
  const sendTimes = (await findSendTimes(db)).map((t) => t.sentAt);
  const ranges = issues.map((i) => offlineWindow(i.sentAt, windowMs, sendTimes));
  const [deliveries, sums, windows, experiments] = await Promise.all([
    countDeliveriesByIssue(db, ids),
    findTotals(db, ids, ISSUE_METRICS),
    // Calls and walk-ins (site-wide) in each issue's window after its send's quarter hour.
    Promise.all(ranges.map((r) => sumInRange(db, SITE, ['call', 'walk_in'], r.from, r.to))),
    findExperimentSummaries(db, ids),
  ]);
  const experimentOf = new Map(experiments.map((e) => [e.issueId, e]));
  const byIssue = new Map(deliveries.map((d) => [d.issueId, d]));
  const sumsByIssue = sumsFor(sums);
  const rows = issues.map((issue, i) =>
    comparisonRow(
      issue,
      byIssue.get(issue.issueId),
      sumsByIssue.get(issue.issueId),
      {
        calls: windows[i]!.get('call') ?? 0,
        walkIns: windows[i]!.get('walk_in') ?? 0,
        endsAt: ranges[i]!.to,
        cutAt: ranges[i]!.cutAt,
      },
      settings.attributionWindowDays,
    ),
  );
  for (const row of rows) row.experiment = experimentOf.get(row.issueId) ?? null;
  // The incremental figures of the issues with a holdout (one count each: few issues have one).
  for (const row of rows)
    if (row.experiment && row.experiment.holdoutShare > 0) {
      const result = await holdoutResult(db, row.issueId);
      row.holdoutVisits = result?.visits.effect ?? null;
      row.holdoutCalls = result?.calls.effect ?? null;
    }
  return rows;
}

/**
 * The window in which a send's calls and walk-ins are totalled: from its quarter-hour for
 * `windowMs`, cut at the quarter-hour of the next send (another issue, or this one sent again),
 * so the windows of issues sent closer together than the window never share an event.
 */
export function offlineWindow(
  sentAt: number,
  windowMs: number,
  sendTimes: readonly number[],
): { from: number; to: number; cutAt: number | null } {
  const from = quarterOf(sentAt);
  const next = sendTimes.filter((t) => quarterOf(t) > from).reduce((a, t) => Math.min(a, t), Infinity);
  return next !== Infinity && quarterOf(next) < from + windowMs
    ? { from, to: quarterOf(next), cutAt: next }
    : { from, to: from + windowMs, cutAt: null };
}

export interface CurveSeries {
  name: string;
  key: string;
  /**
   * [hours since the send's quarter-hour, cumulative count] at the end of each step of the
   * span, up to now: the last point of a curve still running is at the issue's age, with what
   * happened so far; none lies in the future.
   */
  points: [number, number][];
}

export interface LinkFigures {
  id: number;
  position: number;
  url: string;
  label: string | null;
  kind: string;
  humanClicks: number;
  botClicks: number;
  uniqueClickers: number;
}

export interface HeatmapFigures {
  key: string;
  name: string;
  /** 7 rows (Monday first) × 24 hours in the site's time zone. */
  values: number[][];
  total: number;
}

export interface IssueReport {
  issue: ComparisonRow;
  timeZone: string;
  generatedAt: number;
  funnel: { key: string; label: string; value: number; note: string }[];
  /** The span the curves cover (chosen, or by the issue's age). */
  curveSpan: CurveSpan;
  curves: CurveSeries[];
  /** Cumulative likely-human unique opens and human clickers as % of delivered, this issue and the others, over the same span, each up to its own age. */
  overlays: {
    openRate: (CurveSeries & { issueId: number; current: boolean })[];
    clickRate: (CurveSeries & { issueId: number; current: boolean })[];
  };
  heatmaps: HeatmapFigures[];
  links: LinkFigures[];
  /** Likely-human opens and human clicks by mail program and by device, Apple's prefetch apart. */
  mailClients: MailClientFigures;
  lift: { metric: 'visit' | 'call' | 'walk_in'; label: string; h24: LiftResult; h72: LiftResult }[];
  machine: {
    appleMppOpens: number;
    proxyOpens: number;
    scannerOpens: number;
    humanOpens: number;
    botClicks: number;
    humanClicks: number;
    /** Page views of machines: through a machine's click, or from a machine network with no reader's click. */
    machineViews: number;
    /** Machine opens (Apple's prefetch and scanners), bot clicks and machine page views by who made them, most first. */
    byOwner: MachineOwnerFigures[];
  };
}

export interface MachineOwnerFigures {
  role: NetworkRole;
  owner: string;
  opens: number;
  clicks: number;
  views: number;
}

/** Machine activity of an issue by owner, from the maintained counts (owner.open, owner.click, owner.view). */
async function machineByOwner(db: DB, issueId: number): Promise<MachineOwnerFigures[]> {
  const [opens, clicks, views] = await Promise.all([
    findLinkTotals(db, issueId, OWNER_METRIC.open),
    findLinkTotals(db, issueId, OWNER_METRIC.click),
    findLinkTotals(db, issueId, OWNER_METRIC.view),
  ]);
  const byKey = new Map<string, MachineOwnerFigures>();
  const add = (rows: { dim: string; n: number }[], field: 'opens' | 'clicks' | 'views') => {
    for (const r of rows) {
      if (r.n === 0) continue;
      let figures = byKey.get(r.dim);
      if (!figures) byKey.set(r.dim, (figures = { ...parseOwnerKey(r.dim), opens: 0, clicks: 0, views: 0 }));
      figures[field] += r.n;
    }
  };
  add(opens, 'opens');
  add(clicks, 'clicks');
  add(views, 'views');
  return [...byKey.values()].sort(
    (a, b) => b.opens + b.clicks + b.views - (a.opens + a.clicks + a.views) || a.owner.localeCompare(b.owner),
  );
}

/**
 * Running totals from 15-minute buckets at each step since `from` (the send's quarter-hour),
 * for `span` or until `until` (now, or where the window ends) if that comes first: the step
 * still running ends at `until` and holds what happened so far. Events before `from` are not shown.
 */
export function cumulativeSteps(
  buckets: readonly { bucket: number; n: number }[],
  from: number,
  span: { stepMs: number; spanMs: number },
  until: number,
): [number, number][] {
  const end = Math.min(from + span.spanMs, until);
  if (end <= from) return [];
  const steps = Math.ceil((end - from) / span.stepMs);
  const perStep = new Array<number>(steps).fill(0);
  for (const b of buckets) {
    const k = Math.floor((b.bucket - from) / span.stepMs);
    if (k >= 0 && k < steps && b.bucket < end) perStep[k]! += b.n;
  }
  let total = 0;
  return perStep.map((n, k) => [Math.min((k + 1) * span.stepMs, end - from) / HOUR_MS, (total += n)]);
}

/**
 * One issue's report. Buckets are 15 minutes of UTC: a send at 09:05 puts opens of 09:05–09:15
 * in the bucket starting 09:00, which belongs to hour 0 (the curves start at the send's bucket).
 */
export async function issueReport(
  db: DB,
  issueId: number,
  options: { now?: number; span?: CurveSpan } = {},
): Promise<IssueReport | undefined> {
  const now = options.now ?? Date.now();
  const settings = await getSettings(db, { now });
  const [row] = await compareIssues(db, { now, issueIds: [issueId] });
  if (!row) return undefined;
  // The issues overlaid on the curves: the twelve latest and this one.
  const comparison = await compareIssues(db, { now, limit: 12 });
  if (!comparison.some((r) => r.issueId === issueId)) comparison.push(row);
  const sentAt = quarterOf(row.sentAt);
  const curveSpan = options.span ?? curveSpanFor(now - sentAt);
  const span = CURVE_SPANS[curveSpan];
  const curveEnd = sentAt + span.spanMs;
  const windowEnd = row.windowEndsAt;

  const [
    issueBuckets,
    heatmapBuckets,
    siteBuckets,
    links,
    linkHuman,
    linkBot,
    linkClickers,
    sendTimes,
    agentOpens,
    agentClicks,
  ] = await Promise.all([
    // Curves: 15-minute rows of the seven days after the send; heatmaps: every event of the issue, per hour when the zone's offsets are whole hours.
    findCountBuckets(db, issueId, ['first.open', 'first.open_human', 'first.click', 'visit'], sentAt, curveEnd),
    findCountBuckets(
      db,
      issueId,
      ['open.human', 'open.proxy', 'click.human', 'visit'],
      0,
      Number.MAX_SAFE_INTEGER,
      wholeHourZone(settings.timeZone, sentAt) ? PER_HOUR : '',
    ),
    // Site-wide calls and walk-ins after the send (curves and heatmaps); the lift reads its own windows.
    findCountBuckets(db, SITE, ['call', 'walk_in'], sentAt, Math.max(windowEnd, curveEnd)),
    findRegisteredLinks(db, issueId),
    findLinkTotals(db, issueId, 'link.human'),
    findLinkTotals(db, issueId, 'link.bot'),
    findLinkTotals(db, issueId, 'link.clickers'),
    findSendTimes(db),
    findLinkTotals(db, issueId, AGENT_METRIC.open),
    findLinkTotals(db, issueId, AGENT_METRIC.click),
  ]);
  const only = (buckets: { metric: string; bucket: number; n: number }[], ...metrics: string[]) =>
    buckets.filter((b) => metrics.includes(b.metric));
  const afterSend = (buckets: { bucket: number; n: number }[], until: number) =>
    buckets.filter((b) => b.bucket >= sentAt && b.bucket < until);

  const steps = (buckets: { bucket: number; n: number }[], until = now) =>
    cumulativeSteps(buckets, sentAt, span, until);
  const curves: CurveSeries[] = [
    { key: 'uniqueOpens', name: 'Unique opens (all)', points: steps(only(issueBuckets, 'first.open')) },
    {
      key: 'uniqueHumanOpens',
      name: 'Unique opens (likely human)',
      points: steps(only(issueBuckets, 'first.open_human')),
    },
    { key: 'uniqueHumanClicks', name: 'Unique clickers', points: steps(only(issueBuckets, 'first.click')) },
    { key: 'attributedVisits', name: 'Visits', points: steps(only(issueBuckets, 'visit')) },
    // All calls and walk-ins, in the issue's window only (it ends where the next issue's begins).
    { key: 'calls', name: 'Phone calls (all)', points: steps(only(siteBuckets, 'call'), Math.min(now, windowEnd)) },
    { key: 'walkIns', name: 'Walk-ins (all)', points: steps(only(siteBuckets, 'walk_in'), Math.min(now, windowEnd)) },
  ];

  const heatmap = (key: string, name: string, buckets: { bucket: number; n: number }[]): HeatmapFigures => {
    const values = weekHourMatrix(buckets, settings.timeZone);
    return { key, name, values, total: values.flat().reduce((a, b) => a + b, 0) };
  };
  const heatmaps = [
    heatmap('opens', 'Opens (likely human)', only(heatmapBuckets, 'open.human', 'open.proxy')),
    heatmap('clicks', 'Clicks (human)', only(heatmapBuckets, 'click.human')),
    heatmap('visits', 'Visits', only(heatmapBuckets, 'visit')),
    heatmap('calls', 'Phone calls (all) in the issue’s window', afterSend(only(siteBuckets, 'call'), windowEnd)),
    heatmap('walkIns', 'Walk-ins (all) in the issue’s window', afterSend(only(siteBuckets, 'walk_in'), windowEnd)),
  ];

  const human = new Map(linkHuman.map((r) => [r.dim, r.n]));
  const bot = new Map(linkBot.map((r) => [r.dim, r.n]));
  const clickers = new Map(linkClickers.map((r) => [r.dim, r.n]));
  const linkFigures = links.map((l) => ({
    ...l,
    humanClicks: human.get(String(l.id)) ?? 0,
    botClicks: bot.get(String(l.id)) ?? 0,
    uniqueClickers: clickers.get(String(l.id)) ?? 0,
  }));

  const otherSendTimes = sendTimes.filter((s) => s.issueId !== issueId).map((s) => s.sentAt);
  // Earlier weeks before the first maintained site count have no data to compare with.
  const dataSince = await findFirstBucket(db, SITE, ['visit', 'pageview', 'call', 'walk_in']);
  const liftOf = async (metric: 'visit' | 'call' | 'walk_in', label: string, noun: { one: string; other: string }) => ({
    metric,
    label,
    ...(await minuteLifts(
      {
        sentAt: row.sentAt,
        otherSendTimes,
        timeZone: settings.timeZone,
        now,
        noun,
        ...(dataSince === undefined ? {} : { dataSince }),
      },
      (quarters, minutes) =>
        Promise.all([sumWindows(db, SITE, metric, quarters), sumMinuteWindows(db, SITE, metric, minutes)]),
    )),
  });

  const sums = await findTotals(
    db,
    [issueId],
    ['open.human', 'open.proxy', 'open.apple_mpp', 'open.scanner', 'click.human', 'click.bot', MACHINE_VIEW_METRIC],
  );
  const total = (metric: string) => sums.filter((s) => s.metric === metric).reduce((a, s) => a + s.n, 0);

  return {
    issue: row,
    timeZone: settings.timeZone,
    generatedAt: now,
    funnel: [
      {
        key: 'recipients',
        label: 'Recipients',
        value: row.recipients,
        note: 'People in the audience when the send started.',
      },
      { key: 'delivered', label: 'Delivered', value: row.delivered, note: 'Accepted by the receiving mail server.' },
      {
        key: 'uniqueOpens',
        label: 'Opened (any)',
        value: row.uniqueOpens,
        note: 'Deliveries with at least one pixel load, machines included, or a human click.',
      },
      {
        key: 'uniqueHumanOpens',
        label: 'Opened (likely human)',
        value: row.uniqueHumanOpens,
        note: 'Opened by a person or through a mail provider’s image proxy, or clicked by a person.',
      },
      {
        key: 'uniqueHumanClicks',
        label: 'Clicked',
        value: row.uniqueHumanClicks,
        note: 'Deliveries with at least one human click.',
      },
      {
        key: 'uniqueVisitors',
        label: 'Recipients who visited',
        value: row.uniqueVisitors,
        note: 'Deliveries whose reader came to the site through the issue: people, each once.',
      },
      {
        key: 'laterVisits',
        label: 'Later visits',
        value: row.laterVisits,
        note: 'Visits from the issue that started after the reader’s first landing: they came back.',
      },
    ],
    curveSpan,
    curves,
    overlays: await overlays(db, comparison, issueId, span, now),
    heatmaps,
    links: linkFigures,
    mailClients: mailClientFigures(agentOpens, agentClicks),
    lift: await Promise.all([
      liftOf('visit', 'Site visits', { one: 'visit', other: 'visits' }),
      liftOf('call', 'Phone calls', { one: 'call', other: 'calls' }),
      liftOf('walk_in', 'Walk-ins', { one: 'walk-in', other: 'walk-ins' }),
    ]),
    machine: {
      appleMppOpens: total('open.apple_mpp'),
      proxyOpens: total('open.proxy'),
      scannerOpens: total('open.scanner'),
      humanOpens: total('open.human'),
      botClicks: total('click.bot'),
      humanClicks: total('click.human'),
      machineViews: total(MACHINE_VIEW_METRIC),
      byOwner: await machineByOwner(db, issueId),
    },
  };
}

/** Likely-human open rate and click rate curves (% of delivered) of up to 12 issues including this one, each up to its own age. */
async function overlays(
  db: DB,
  comparison: ComparisonRow[],
  issueId: number,
  span: { stepMs: number; spanMs: number },
  now: number,
): Promise<IssueReport['overlays']> {
  const curves = await Promise.all(
    comparison.map(async (r) => {
      const sentAt = quarterOf(r.sentAt);
      const buckets = await findCountBuckets(
        db,
        r.issueId,
        ['first.open_human', 'first.click'],
        sentAt,
        sentAt + span.spanMs,
      );
      const asRate = (metric: string) =>
        cumulativeSteps(
          buckets.filter((b) => b.metric === metric),
          sentAt,
          span,
          now,
        ).map(([h, v]) => [h, r.delivered > 0 ? Math.round((1000 * v) / r.delivered) / 10 : 0] as [number, number]);
      const common = { issueId: r.issueId, current: r.issueId === issueId, name: r.subject };
      return {
        open: { ...common, key: `open-${r.issueId}`, points: asRate('first.open_human') },
        click: { ...common, key: `click-${r.issueId}`, points: asRate('first.click') },
      };
    }),
  );
  return { openRate: curves.map((c) => c.open), clickRate: curves.map((c) => c.click) };
}
