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
  heading: string;
  kind: ColumnKind;
  definition?: DefinitionKey;
  value: (row: ComparisonRow) => string | number | null;
}

const count = (key: string, heading: string, definition: DefinitionKey, value: (r: ComparisonRow) => number): ComparisonColumn => ({ key, heading, kind: 'count', definition, value });
const rate = (key: string, heading: string, definition: DefinitionKey, value: (r: ComparisonRow) => number | null): ComparisonColumn => ({ key, heading, kind: 'rate', definition, value });

export const COMPARISON_COLUMNS: readonly ComparisonColumn[] = [
  { key: 'subject', heading: 'Issue', kind: 'text', value: (r) => r.subject },
  { key: 'sent', heading: 'Sent', kind: 'time', value: (r) => r.sentAt },
  count('recipients', 'Recipients', 'recipients', (r) => r.recipients),
  count('delivered', 'Delivered', 'delivery', (r) => r.delivered),
  count('bounced', 'Bounced', 'delivery', (r) => r.bounced),
  count('opens', 'Unique opens (all)', 'uniqueOpens', (r) => r.uniqueOpens),
  rate('open-rate', 'Open rate (all)', 'uniqueOpens', (r) => r.openRate),
  count('human-opens', 'Unique opens (likely human)', 'uniqueOpens', (r) => r.uniqueHumanOpens),
  rate('human-open-rate', 'Open rate (likely human)', 'uniqueOpens', (r) => r.humanOpenRate),
  count('clicks', 'Unique human clicks', 'uniqueClicks', (r) => r.uniqueHumanClicks),
  rate('click-rate', 'Click rate', 'uniqueClicks', (r) => r.clickRate),
  rate('click-to-open', 'Click-to-open', 'uniqueClicks', (r) => r.clickToOpenRate),
  count('visits', 'Attributed visits', 'attributedVisit', (r) => r.attributedVisits),
  count('later-visits', 'Later visits', 'laterVisit', (r) => r.laterVisits),
  count('signups', 'Attributed signups', 'signup', (r) => r.attributedSignups),
  count('calls', 'Calls in the window', 'offline', (r) => r.callsInWindow),
  count('credited-calls', 'Calls credited', 'offline', (r) => r.creditedCalls),
  count('walk-ins', 'Walk-ins in the window', 'offline', (r) => r.walkInsInWindow),
  count('credited-walk-ins', 'Walk-ins credited', 'offline', (r) => r.creditedWalkIns),
  count('unsubscribes', 'Unsubscribes', 'unsubscribe', (r) => r.unsubscribes),
];

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
export function parseComparisonSort(params: URLSearchParams): { ok: true; sort: ComparisonSort } | { ok: false; message: string } {
  const sortParam = params.get('sort');
  const dirParam = params.get('dir');
  const column = sortParam === null || sortParam === '' ? findColumn(DEFAULT_SORT.column)! : findColumn(sortParam);
  if (!column) return { ok: false, message: `There is no column “${sortParam!.slice(0, 40)}” to sort by. Use one of: ${COMPARISON_COLUMNS.map((c) => c.key).join(', ')}.` };
  if (dirParam !== null && dirParam !== '' && dirParam !== 'asc' && dirParam !== 'desc') return { ok: false, message: `The sort direction must be “asc” or “desc”, not “${dirParam.slice(0, 40)}”.` };
  const dir = dirParam === 'asc' || dirParam === 'desc' ? dirParam : sortParam ? firstDirection(column) : DEFAULT_SORT.dir;
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
  const header = COMPARISON_COLUMNS.map((c) => (c.kind === 'rate' ? `${c.heading} (%)` : c.kind === 'time' ? `${c.heading} (${timeZone})` : c.heading));
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
