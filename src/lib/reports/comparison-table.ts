import { per1000 } from './holdout-result.service.ts';
import { stringify } from 'csv-stringify/sync';
import { localInputValue } from '../time/zoned-time.ts';
import type { DefinitionKey } from './definitions.ts';
import type { ComparisonRow } from './issue-report.service.ts';

/**
 * The comparison's columns — the page's table, its sort links and the CSV export share this
 * one list, so they cannot drift apart. Each numeric column names the definition it links to.
 */
export type ColumnKind = 'text' | 'time' | 'count' | 'rate';

export interface ComparisonColumn {
  key: string;
  /** Its full name: the CSV's header, the column chooser, the sort menu, a phone's label. */
  heading: string;
  /** Its name as the table's heading, short enough for one or two lines (default `heading`). */
  label?: string;
  kind: ColumnKind;
  definition?: DefinitionKey;
  /** What the column holds in a few words, beside its name where columns are chosen. */
  hint?: string;
  value: (row: ComparisonRow) => string | number | null;
}

type Named = string | { heading: string; label: string };
const names = (n: Named) => (typeof n === 'string' ? { heading: n } : n);
const count = (
  key: string,
  name: Named,
  definition: DefinitionKey,
  hint: string,
  value: (r: ComparisonRow) => number,
): ComparisonColumn => ({ key, ...names(name), kind: 'count', definition, hint, value });
const rate = (
  key: string,
  name: Named,
  definition: DefinitionKey,
  hint: string,
  value: (r: ComparisonRow) => number | null,
): ComparisonColumn => ({ key, ...names(name), kind: 'rate', definition, hint, value });

export const COMPARISON_COLUMNS: readonly ComparisonColumn[] = [
  { key: 'subject', heading: 'Issue', kind: 'text', value: (r) => r.subject },
  { key: 'sent', heading: 'Sent', kind: 'time', hint: 'When sending started', value: (r) => r.sentAt },
  count('recipients', 'Recipients', 'recipients', 'The audience when the send started', (r) => r.recipients),
  count('delivered', 'Delivered', 'delivery', 'Accepted by the receiving mail server', (r) => r.delivered),
  count('bounced', 'Bounced', 'delivery', 'Refused for good', (r) => r.bounced),
  count(
    'opens',
    { heading: 'Unique opens (all)', label: 'Opens (all)' },
    'uniqueOpens',
    'Opened at least once, machines included',
    (r) => r.uniqueOpens,
  ),
  rate('open-rate', 'Open rate (all)', 'uniqueOpens', 'Of delivered, machines included', (r) => r.openRate),
  count(
    'human-opens',
    { heading: 'Unique opens (likely human)', label: 'Opens' },
    'uniqueOpens',
    'Opened by a person or an image proxy, or clicked: people, each once',
    (r) => r.uniqueHumanOpens,
  ),
  rate(
    'human-open-rate',
    { heading: 'Open rate (likely human)', label: 'Open rate' },
    'uniqueOpens',
    'Likely-human openers, of delivered',
    (r) => r.humanOpenRate,
  ),
  count(
    'clicks',
    { heading: 'Unique human clicks', label: 'Clickers' },
    'uniqueClicks',
    'People with at least one human click',
    (r) => r.uniqueHumanClicks,
  ),
  rate('click-rate', 'Click rate', 'uniqueClicks', 'Of delivered', (r) => r.clickRate),
  rate(
    'click-to-open',
    'Click-to-open',
    'uniqueClicks',
    'Of likely-human openers; never above 100 %',
    (r) => r.clickToOpenRate,
  ),
  count('visits', 'Visits', 'attributedVisit', 'Visits from the issue, a shared link’s too', (r) => r.attributedVisits),
  count(
    'visitors',
    'Recipients who visited',
    'uniqueVisitors',
    'People who came to the site, each once',
    (r) => r.uniqueVisitors,
  ),
  count('later-visits', 'Later visits', 'laterVisit', 'They came back on their own', (r) => r.laterVisits),
  count('signups', 'Signups', 'signup', 'Confirmed signups from the issue', (r) => r.attributedSignups),
  count(
    'credited-calls',
    'Calls credited',
    'offline',
    'Tied to the issue: its tracked number or a row naming it',
    (r) => r.creditedCalls,
  ),
  count(
    'credited-walk-ins',
    'Walk-ins credited',
    'offline',
    'Tied to the issue by a row naming it',
    (r) => r.creditedWalkIns,
  ),
  count(
    'calls',
    { heading: 'All calls in its window', label: 'All calls' },
    'offline',
    'The shop’s calls, not only from this issue',
    (r) => r.callsInWindow,
  ),
  count(
    'walk-ins',
    { heading: 'All walk-ins in its window', label: 'All walk-ins' },
    'offline',
    'The shop’s walk-ins, not only from this issue',
    (r) => r.walkInsInWindow,
  ),
  count('unsubscribes', 'Unsubscribes', 'unsubscribe', 'Through this issue’s links', (r) => r.unsubscribes),
  {
    key: 'experiment',
    heading: 'Experiment',
    kind: 'text',
    definition: 'experimentArm',
    hint: 'A/B test, holdout, or both',
    value: (r) => experimentText(r.experiment),
  },
  {
    key: 'winner',
    heading: 'Winner',
    kind: 'text',
    definition: 'abWinner',
    hint: 'The variant that went to the rest, and why',
    value: (r) => winnerText(r.experiment),
  },
  {
    key: 'incremental-visitors',
    heading: 'Incremental visitors per 1,000 (holdout)',
    kind: 'text',
    definition: 'holdoutIdentified',
    hint: 'Recipients minus held out, readers known before the send, 95 % interval',
    value: (r) => incrementalText(r.holdoutVisits),
  },
  {
    key: 'incremental-callers',
    heading: 'Incremental callers per 1,000 (holdout)',
    kind: 'text',
    definition: 'holdoutIdentified',
    hint: 'Recipients minus held out, subscribers with a phone number on file, 95 % interval',
    value: (r) => incrementalText(r.holdoutCalls),
  },
];

/** "250.0 (−355.3 to 704.1)"; null without a holdout result. */
export function incrementalText(e: ComparisonRow['holdoutVisits'] | ComparisonRow['holdoutCalls']): string | null {
  if (!e) return null;
  return `${per1000(e.difference)} (${per1000(e.low)} to ${per1000(e.high)})`;
}

/** "A/B test of 2 variants, 10 % held out"; null without an experiment. */
export function experimentText(e: ComparisonRow['experiment']): string | null {
  if (!e) return null;
  const parts: string[] = [];
  if (e.variants >= 2) parts.push(`A/B test of ${e.variants} variants`);
  if (e.holdoutShare > 0) parts.push(`${Math.round(e.holdoutShare * 1000) / 10} % held out`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

const HOW: Record<string, string> = {
  auto: 'won',
  picked: 'picked',
  within_noise: 'within noise, the first',
  stopped: 'test stopped',
};

/** "Variant B (won)", "Variant A (within noise, the first)"; null without an A/B test or before a decision. */
export function winnerText(e: ComparisonRow['experiment']): string | null {
  if (!e || e.variants < 2) return null;
  if (!e.winnerArm) return e.decidedHow === 'stopped' ? 'none (test stopped)' : 'not decided yet';
  return `Variant ${e.winnerArm}${e.decidedHow ? ` (${HOW[e.decidedHow] ?? e.decidedHow})` : ''}`;
}

/** What the comparison shows until columns are chosen: what a marketer compares issues by. */
export const DEFAULT_COLUMNS: readonly string[] = [
  'subject',
  'sent',
  'delivered',
  'human-open-rate',
  'click-rate',
  'click-to-open',
  'visits',
  'visitors',
  'credited-calls',
  'credited-walk-ins',
];

/**
 * The columns asked for: `?cols=a,b` or `cols=a&cols=b` (a form's checkboxes), else `remembered`
 * (the last choice), else the defaults — in COMPARISON_COLUMNS order, the issue's name always
 * first. An unknown column is refused with a sentence naming the ones there are.
 */
export function parseComparisonColumns(
  params: URLSearchParams,
  remembered?: string | null,
): { ok: true; columns: string[]; chosen: boolean } | { ok: false; columns: string[]; message: string } {
  const asked = params
    .getAll('cols')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const fromMemory = asked.length === 0 && remembered ? remembered.split(',').filter((k) => findColumn(k)) : [];
  const keys = asked.length > 0 ? asked : fromMemory.length > 0 ? fromMemory : DEFAULT_COLUMNS;
  const unknown = keys.find((k) => !findColumn(k));
  if (unknown !== undefined)
    return {
      ok: false,
      columns: [...DEFAULT_COLUMNS],
      message: `There is no column “${unknown.slice(0, 40)}” to show. Use any of: ${COMPARISON_COLUMNS.map((c) => c.key).join(', ')}.`,
    };
  const wanted = new Set(['subject', ...keys]);
  return {
    ok: true,
    columns: COMPARISON_COLUMNS.filter((c) => wanted.has(c.key)).map((c) => c.key),
    chosen: asked.length > 0,
  };
}

export type SortDirection = 'asc' | 'desc';

export interface ComparisonSort {
  column: string;
  dir: SortDirection;
}

/** Newest first, as the service answers. */
export const DEFAULT_SORT: ComparisonSort = { column: 'sent', dir: 'desc' };

export function findColumn(key: string): ComparisonColumn | undefined {
  return COMPARISON_COLUMNS.find((c) => c.key === key);
}

/** The direction a first click on a heading sorts by: A→Z for text, largest first for numbers and times. */
export function firstDirection(column: ComparisonColumn): SortDirection {
  return column.kind === 'text' ? 'asc' : 'desc';
}

/**
 * `?sort=<column>&dir=asc|desc` from a URL; both optional. Anything else is refused with a
 * sentence naming what is allowed (the routes answer 400 with it).
 */
export function parseComparisonSort(
  params: URLSearchParams,
): { ok: true; sort: ComparisonSort } | { ok: false; message: string } {
  const sortParam = params.get('sort');
  const dirParam = params.get('dir');
  const column = sortParam === null || sortParam === '' ? findColumn(DEFAULT_SORT.column)! : findColumn(sortParam);
  if (!column)
    return {
      ok: false,
      message: `There is no column “${sortParam!.slice(0, 40)}” to sort by. Use one of: ${COMPARISON_COLUMNS.map((c) => c.key).join(', ')}.`,
    };
  if (dirParam !== null && dirParam !== '' && dirParam !== 'asc' && dirParam !== 'desc')
    return { ok: false, message: `The sort direction must be “asc” or “desc”, not “${dirParam.slice(0, 40)}”.` };
  const dir =
    dirParam === 'asc' || dirParam === 'desc' ? dirParam : sortParam ? firstDirection(column) : DEFAULT_SORT.dir;
  return { ok: true, sort: { column: column.key, dir } };
}

/**
 * The rows in the order asked for. Rates not yet known (nothing delivered) go last whichever
 * the direction; ties keep the newest issue first.
 */
export function sortComparison(rows: readonly ComparisonRow[], sort: ComparisonSort): ComparisonRow[] {
  const column = findColumn(sort.column) ?? findColumn(DEFAULT_SORT.column)!;
  const sign = sort.dir === 'asc' ? 1 : -1;
  const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
  return [...rows].sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
    } else {
      const order = typeof x === 'string' || typeof y === 'string' ? collator.compare(String(x), String(y)) : x - y;
      if (order !== 0) return sign * order;
    }
    return b.sentAt - a.sentAt || b.issueId - a.issueId;
  });
}

/** A rate as a percentage with one decimal (e.g. 62.5), or null when there is none yet. */
export function percent(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 10;
}

/**
 * The comparison as CSV: the page's columns in the page's order and sort, rates as
 * percentages, the sent time as the site's wall-clock time. Starts with a UTF-8 BOM for
 * spreadsheet programs; subjects that a spreadsheet would run as a formula get a leading `'`.
 */
export function comparisonCsv(rows: readonly ComparisonRow[], timeZone: string): string {
  const header = COMPARISON_COLUMNS.map((c) =>
    c.kind === 'rate' ? `${c.heading} (%)` : c.kind === 'time' ? `${c.heading} (${timeZone})` : c.heading,
  );
  const body = rows.map((row) =>
    COMPARISON_COLUMNS.map((c) => {
      const value = c.value(row);
      if (c.kind === 'time') return localInputValue(Number(value), timeZone).replace('T', ' ');
      if (c.kind === 'rate') return percent(value as number | null);
      return value;
    }),
  );
  return '\uFEFF' + stringify([header, ...body], { escape_formulas: true });
}
