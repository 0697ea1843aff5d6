import type { LiftResult } from './lift.ts';
import type { ComparisonRow, IssueReport } from './issue-report.service.ts';
import { WEEKDAYS } from './week-hour.ts';
import type { ArmMeasure, ExperimentReport } from './experiment-report.service.ts';
import type { HoldoutOutcomeResult, HoldoutResult } from './holdout-result.service.ts';
import type { CadenceAdvice } from './regular-cadence.ts';
import type { CallOutcomes } from './call-outcomes.service.ts';
import type { DoorReport } from './door-report.service.ts';

/**
 * The JSON shapes of /api/reports/issues and /api/issues/:id/report, kept beside the domain so
 * the routes stay a few lines each. Field names are snake_case, times epoch milliseconds,
 * rates fractions of 1 (null before anything was delivered) — like the rest of the API.
 */
export function comparisonRowJson(row: ComparisonRow) {
  return {
    id: row.issueId,
    slug: row.slug,
    subject: row.subject,
    sent_at: row.sentAt,
    send_state: row.state,
    recipients: row.recipients,
    delivered: row.delivered,
    bounced: row.bounced,
    unique_opens: row.uniqueOpens,
    unique_human_opens: row.uniqueHumanOpens,
    open_rate: row.openRate,
    human_open_rate: row.humanOpenRate,
    unique_human_clicks: row.uniqueHumanClicks,
    click_rate: row.clickRate,
    click_to_open_rate: row.clickToOpenRate,
    unique_visitors: row.uniqueVisitors,
    attributed_visits: row.attributedVisits,
    later_visits: row.laterVisits,
    attributed_signups: row.attributedSignups,
    calls_in_window: row.callsInWindow,
    walk_ins_in_window: row.walkInsInWindow,
    window_ends_at: row.windowEndsAt,
    window_cut_by_next_send_at: row.windowCutByNextSendAt,
    credited_calls: row.creditedCalls,
    credited_walk_ins: row.creditedWalkIns,
    unsubscribes: row.unsubscribes,
    complaints: row.complaints,
    window_days: row.windowDays,
    experiment: row.experiment
      ? {
          variants: row.experiment.variants,
          holdout_share: row.experiment.holdoutShare,
          state: row.experiment.state,
          winner_arm: row.experiment.winnerArm,
          decided_how: row.experiment.decidedHow,
          // With a holdout: recipients minus held out per 1,000 identifiable people, with the 95 % interval.
          incremental_visitors_per_1000: row.holdoutVisits ?? null,
          incremental_callers_per_1000: row.holdoutCalls ?? null,
        }
      : null,
  };
}

export function comparisonJson(
  rows: readonly ComparisonRow[],
  context: { timeZone: string; generatedAt: number; sort: { column: string; dir: string } },
) {
  return {
    time_zone: context.timeZone,
    generated_at: context.generatedAt,
    sort: context.sort,
    issues: rows.map(comparisonRowJson),
  };
}

function liftJson(lift: LiftResult) {
  return {
    sent_at: lift.sentAt,
    from: lift.from,
    to: lift.to,
    window_complete: lift.windowComplete,
    observed: lift.observed,
    expected: lift.expected,
    lift: lift.lift,
    low: lift.low,
    high: lift.high,
    relative: lift.relative,
    verdict: lift.verdict,
    weeks_used: lift.weeksUsed,
    weeks_excluded: lift.weeksExcluded.map((w) => ({
      weeks_back: w.weeksBack,
      reason: w.reason,
      from: w.from,
      to: w.to,
      ...(w.sendAt === undefined ? {} : { send_at: w.sendAt }),
    })),
    observed_touched_by: lift.observedTouchedBy,
    sentence: lift.sentence,
  };
}

const series = (s: { key: string; name: string; points: [number, number][] }) => ({
  key: s.key,
  name: s.name,
  points: s.points,
});

/**
 * One issue's report: its comparison row, funnel, curves (points are [hours since the send's
 * quarter-hour, cumulative value] at each step of `curve_span`, up to now: the last point of an
 * issue still running is at its age), heatmaps (7 × 24, Monday first, site time zone), links,
 * mail programs and devices, lift and machine activity.
 */
export function issueReportJson(
  report: IssueReport,
  extra: { experiment?: ExperimentReport | null; cadence?: CadenceAdvice | null } = {},
) {
  return {
    issue: comparisonRowJson(report.issue),
    time_zone: report.timeZone,
    generated_at: report.generatedAt,
    funnel: report.funnel.map((s) => ({ key: s.key, label: s.label, value: s.value })),
    curve_span: report.curveSpan,
    curves: report.curves.map(series),
    overlays: {
      human_open_rate_percent: report.overlays.openRate.map((s) => ({
        issue_id: s.issueId,
        current: s.current,
        ...series(s),
      })),
      click_rate_percent: report.overlays.clickRate.map((s) => ({
        issue_id: s.issueId,
        current: s.current,
        ...series(s),
      })),
    },
    heatmaps: report.heatmaps.map((h) => ({
      key: h.key,
      name: h.name,
      total: h.total,
      weekdays: WEEKDAYS,
      values: h.values,
    })),
    links: report.links.map((l) => ({
      id: l.id,
      position: l.position,
      kind: l.kind,
      label: l.label,
      url: l.url,
      human_clicks: l.humanClicks,
      bot_clicks: l.botClicks,
      unique_clickers: l.uniqueClickers,
    })),
    // Likely-human opens and human clicks by mail program and by device; Apple's prefetch is its own row (key apple_mpp).
    mail_clients: report.mailClients.clients.map((r) => ({
      key: r.key,
      name: r.name,
      human_opens: r.opens,
      human_clicks: r.clicks,
      apple_mpp_opens: r.prefetches,
    })),
    devices: report.mailClients.devices.map((r) => ({
      key: r.key,
      name: r.name,
      human_opens: r.opens,
      human_clicks: r.clicks,
      apple_mpp_opens: r.prefetches,
    })),
    lift: report.lift.map((l) => ({ metric: l.metric, label: l.label, h24: liftJson(l.h24), h72: liftJson(l.h72) })),
    machine: {
      apple_mpp_opens: report.machine.appleMppOpens,
      proxy_opens: report.machine.proxyOpens,
      scanner_opens: report.machine.scannerOpens,
      human_opens: report.machine.humanOpens,
      bot_clicks: report.machine.botClicks,
      human_clicks: report.machine.humanClicks,
      machine_views: report.machine.machineViews,
      by_owner: report.machine.byOwner.map((o) => ({
        role: o.role,
        owner: o.owner,
        opens: o.opens,
        clicks: o.clicks,
        views: o.views,
      })),
    },
    experiment: extra.experiment ? experimentJson(extra.experiment) : null,
    regular_cadence: extra.cadence ? cadenceJson(extra.cadence) : null,
  };
}

const armMeasureJson = (m: ArmMeasure) => ({ count: m.count, rate: m.rate, low: m.low, high: m.high });

/**
 * An issue's experiment: per arm its size, delivered and each measure (count, rate of delivered,
 * 95 % Wilson interval; `later_visits` and `calls_matched` are events beside the people of
 * `later_visitors` and `callers`), the best variant against each other one (Newcombe, at
 * `difference_confidence`; `quoted`: the pair the sentence quotes),
 * the winner rule on the counts as they stand, and curves by hours since each arm's send.
 */
export function experimentJson(e: ExperimentReport) {
  return {
    kind: e.kind,
    state: e.state,
    measure: e.measure,
    test_share: e.testShare,
    holdout_share: e.holdoutShare,
    wait_ms: e.waitMs,
    winner_arm: e.winnerArm,
    decided_at: e.decidedAt,
    decided_how: e.decidedHow,
    arms: e.arms.map((a) => ({
      arm: a.arm,
      name: a.name,
      subject: a.subject,
      size: a.size,
      delivered: a.delivered,
      sent_at: a.sentAt,
      human_openers: armMeasureJson(a.humanOpeners),
      human_clickers: armMeasureJson(a.clickers),
      visitors: armMeasureJson(a.visitors),
      later_visitors: armMeasureJson(a.laterVisitors),
      later_visits: a.laterVisits,
      callers: armMeasureJson(a.callers),
      calls_matched: a.callsMatched,
      signups: armMeasureJson(a.signups),
      curves: a.curves.map(series),
    })),
    differences: e.differences.map((d) => ({
      arm: d.arm,
      against: d.against,
      difference: d.difference,
      low: d.low,
      high: d.high,
      quoted: d.quoted,
    })),
    difference_confidence: e.differenceConfidence,
    decision: e.decision,
    holdout_result: e.holdoutResult && holdoutResultJson(e.holdoutResult),
  };
}

/** The holdout result: per outcome, per arm the identifiable share and rate (Wilson), the effect per 1,000 (Newcombe) and the sentence. */
function holdoutResultJson(h: HoldoutResult) {
  const outcome = (o: HoldoutOutcomeResult) => ({
    name: o.name,
    arms: o.arms.map((a) => ({
      arm: a.arm,
      size: a.size,
      identifiable: a.identifiable,
      identifiable_share: a.identifiableShare,
      people: a.people,
      rate: a.rate,
      low: a.low,
      high: a.high,
    })),
    effect_per_1000: o.effect,
    sentence: o.sentence,
  });
  return {
    from: h.from,
    to: h.to,
    complete: h.complete,
    visits: outcome(h.visits),
    calls: outcome(h.calls),
    calls_by_arm: h.callsByArm,
    not_compared: h.notCompared,
  };
}

/** "More than usual?" for a weekly newsletter: why no lift, the holdout result, the options and their weeks. */
export function cadenceJson(c: CadenceAdvice) {
  return {
    explanation: c.explanation,
    holdout: c.holdout,
    options: c.options.map((o) => ({ key: o.key, text: o.text, weeks: o.weeks })),
  };
}

/**
 * The calls credited to the issue told apart, as the report page's panel shows them: answered,
 * missed or not reported by the source; first-time, repeat or the caller's number not known.
 */
export function callOutcomesJson(calls: CallOutcomes) {
  return {
    credited: calls.credited,
    answered: calls.answered,
    missed: calls.missed,
    answered_not_reported: calls.answeredUnknown,
    first_time_callers: calls.firstTime,
    repeat_callers: calls.repeat,
    caller_not_known: calls.callerUnknown,
  };
}

/** People through the door as the report page shows them (null lift and empty curves without a counter). */
export function doorReportJson(door: DoorReport) {
  return {
    counters: door.counters,
    window: { door_in: door.window.doorIn, door_out: door.window.doorOut, walk_ins: door.window.walkIns },
    curves: door.curves.map((c) => ({ key: c.key, name: c.name, points: c.points })),
    heatmap: { total: door.heatmap.total, weekdays: WEEKDAYS, values: door.heatmap.values },
    lift: door.lift ? { h24: liftJson(door.lift.h24), h72: liftJson(door.lift.h72) } : null,
  };
}
