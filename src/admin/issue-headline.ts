/**
 * The key figures at the top of an issue's report. They lead with what the issue added — its
 * own visits and signups, and for calls and walk-ins the lift over a normal week, or where no
 * lift can be given the ones credited to it — then how far it reached. The shop's calls and
 * walk-ins in the issue's window are the shop's traffic, not the issue's result: they are
 * named as such, apart, and never the headline.
 */
import type { DefinitionKey } from '../lib/reports/definitions.ts';
import type { IssueReport } from '../lib/reports/issue-report.service.ts';
import type { LiftResult } from '../lib/reports/lift.ts';
import { countOf, nounFor, type Noun } from '../lib/text/counts.ts';
import { formatTime } from './format.ts';
import { formatAmount, formatCount, formatRate, headlineLift } from './reports.ts';

export interface HeadlineTile {
  key: string;
  /** The number, large. */
  figure: string;
  /** What it counts, next to the number. */
  label: string;
  /** A line under it. */
  detail: string;
  definition: DefinitionKey;
  /** A figure that is no result (a difference within normal variation): shown quieter. */
  muted?: boolean;
}

const forms = (noun: Noun) => (typeof noun === 'string' ? { one: noun, other: `${noun}s` } : noun);

const PEOPLE: Noun = { one: 'person', other: 'people' };
const signed = (n: number) => (formatAmount(n) === '0' ? '0' : n > 0 ? `+${formatAmount(n)}` : `−${formatAmount(-n)}`);
const JUDGEMENT: Record<LiftResult['verdict'], string> = {
  above: 'more than normal variation explains',
  below: 'a bigger drop than normal variation explains',
  noise: 'within normal variation',
  'no-baseline': 'no normal week to compare with',
};

/** Why a lift cannot head the report: no normal week, or another issue's hours overlap. */
function noLiftBecause(lift: { h24: LiftResult; h72: LiftResult }): string {
  if (lift.h24.verdict !== 'no-baseline' && lift.h24.observedTouchedBy.length > 0)
    return 'another issue went out in the same hours, so no lift of its own can be given';
  return 'no normal week to compare with, so no lift can be given';
}

function offlineTile(
  key: string,
  noun: Noun,
  lift: { h24: LiftResult; h72: LiftResult } | undefined,
  credited: number,
): HeadlineTile {
  const chosen = lift && headlineLift(lift);
  const creditedText = `${formatCount(credited)} credited to this issue`;
  if (!chosen) {
    return {
      key,
      figure: formatCount(credited),
      label: `${nounFor(credited, noun)} credited to this issue`,
      detail: lift
        ? `Its tracked number or a row naming it; ${noLiftBecause(lift)}.`
        : 'Its tracked number or a row naming it.',
      definition: 'offline',
    };
  }
  const { hours, result } = chosen;
  const more = (result.lift ?? 0) >= 0;
  const range = `${signed(result.low!)} to ${signed(result.high!)}`;
  const when = result.windowComplete
    ? `In the ${hours} hours after the send`
    : `So far (the ${hours}-hour window is still open)`;
  // A difference inside normal variation is no result: it is not worded as one.
  const label =
    result.verdict === 'noise'
      ? `${forms(noun).other}: about as many as a normal week`
      : `${nounFor(Math.abs(result.lift!), noun, 1)} ${more ? 'more' : 'fewer'} than a normal week`;
  return {
    key,
    figure: signed(result.lift!),
    label,
    detail: `${when}: ${range}, ${JUDGEMENT[result.verdict]}. ${creditedText}.`,
    definition: 'lift',
    muted: result.verdict === 'noise',
  };
}

export function issueHeadline(
  report: IssueReport,
  now: number,
): { added: HeadlineTile[]; reach: HeadlineTile[]; shopTraffic: string } {
  const row = report.issue;
  const liftOf = (metric: 'call' | 'walk_in') => report.lift.find((l) => l.metric === metric);
  const added: HeadlineTile[] = [
    {
      key: 'visits',
      figure: formatCount(row.attributedVisits),
      label: `${nounFor(row.attributedVisits, 'visit')} from this issue`,
      detail: `${countOf(row.uniqueVisitors, 'recipient')} visited; ${countOf(row.laterVisits, 'later visit')}.`,
      definition: 'attributedVisit',
    },
    offlineTile('calls', { one: 'phone call', other: 'phone calls' }, liftOf('call'), row.creditedCalls),
    offlineTile('walkIns', 'walk-in', liftOf('walk_in'), row.creditedWalkIns),
    {
      key: 'signups',
      figure: formatCount(row.attributedSignups),
      label: `${nounFor(row.attributedSignups, 'signup')} from this issue`,
      detail: `${countOf(row.unsubscribes, 'unsubscribe')}.`,
      definition: 'signup',
    },
  ];
  const reach: HeadlineTile[] = [
    {
      key: 'delivered',
      figure: formatCount(row.delivered),
      label: 'delivered',
      detail: `Of ${countOf(row.recipients, 'recipient')}${row.bounced > 0 ? `; ${formatCount(row.bounced)} bounced` : ''}.`,
      definition: 'delivery',
    },
    {
      key: 'opened',
      figure: formatRate(row.humanOpenRate),
      label: 'opened (likely human)',
      detail: `${countOf(row.uniqueHumanOpens, PEOPLE)}; ${formatRate(row.openRate)} with machines.`,
      definition: 'uniqueOpens',
    },
    {
      key: 'clicked',
      figure: formatRate(row.clickRate),
      label: 'clicked',
      detail: `${countOf(row.uniqueHumanClicks, PEOPLE)}; ${formatRate(row.clickToOpenRate)} of openers.`,
      definition: 'uniqueClicks',
    },
  ];
  const tz = report.timeZone;
  const span =
    row.windowCutByNextSendAt !== null
      ? `from the send until the next issue went out (${formatTime(row.windowCutByNextSendAt, tz)})`
      : now < row.windowEndsAt
        ? `since the send (its ${countOf(row.windowDays, 'day')} are still running)`
        : `in the ${countOf(row.windowDays, 'day')} after the send`;
  const shopTraffic = `All the shop’s calls and walk-ins ${span}, not only from this issue: ${countOf(row.callsInWindow, { one: 'phone call', other: 'phone calls' })} and ${countOf(row.walkInsInWindow, 'walk-in')}.`;
  return { added, reach, shopTraffic };
}
