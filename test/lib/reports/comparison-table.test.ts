import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  COMPARISON_COLUMNS,
  comparisonCsv,
  parseComparisonSort,
  sortComparison,
} from '#lib/reports/comparison-table.ts';
import type { ComparisonRow } from '#lib/reports/issue-report.service.ts';
import { distinctNames, liftDifference, parseRangeDays } from '#admin/reports.ts';
import type { LiftResult } from '#lib/reports/lift.ts';

function row(issueId: number, fields: Partial<ComparisonRow>): ComparisonRow {
  return {
    issueId,
    slug: `issue-${issueId}`,
    subject: `Issue ${issueId}`,
    sentAt: Date.UTC(2026, 10, issueId, 9),
    state: 'finished',
    recipients: 10,
    delivered: 10,
    bounced: 0,
    uniqueOpens: 5,
    uniqueHumanOpens: 4,
    openRate: 0.5,
    humanOpenRate: 0.4,
    uniqueHumanClicks: 2,
    clickRate: 0.2,
    clickToOpenRate: 0.5,
    uniqueVisitors: 1,
    attributedVisits: 1,
    laterVisits: 0,
    attributedSignups: 0,
    callsInWindow: 0,
    walkInsInWindow: 0,
    creditedCalls: 0,
    creditedWalkIns: 0,
    unsubscribes: 0,
    complaints: 0,
    windowDays: 7,
    windowEndsAt: Date.UTC(2026, 10, issueId + 7, 9),
    windowCutByNextSendAt: null,
    ...fields,
  };
}

const params = (query: string) => new URLSearchParams(query);

describe('sorting the comparison', () => {
  it('reads ?sort and ?dir; a heading sorts numbers largest first and text A to Z by default; no parameters → newest first', () => {
    expect(parseComparisonSort(params(''))).toEqual({ ok: true, sort: { column: 'sent', dir: 'desc' } });
    expect(parseComparisonSort(params('sort=clicks'))).toEqual({ ok: true, sort: { column: 'clicks', dir: 'desc' } });
    expect(parseComparisonSort(params('sort=subject'))).toEqual({ ok: true, sort: { column: 'subject', dir: 'asc' } });
    expect(parseComparisonSort(params('sort=click-rate&dir=asc'))).toEqual({
      ok: true,
      sort: { column: 'click-rate', dir: 'asc' },
    });
  });

  it('refuses an unknown column or direction with a sentence naming what is allowed', () => {
    const column = parseComparisonSort(params('sort=password'));
    expect(column).toMatchObject({ ok: false });
    expect(!column.ok && column.message).toContain(
      'There is no column “password” to sort by. Use one of: subject, sent, recipients',
    );
    const dir = parseComparisonSort(params('sort=clicks&dir=sideways'));
    expect(!dir.ok && dir.message).toBe('The sort direction must be “asc” or “desc”, not “sideways”.');
  });

  it('sorts by the column, unknown rates last in both directions, ties newest first', () => {
    const rows = [
      row(1, { clickRate: 0.3 }),
      row(2, { clickRate: null, delivered: 0 }),
      row(3, { clickRate: 0.1 }),
      row(4, { clickRate: 0.3 }),
    ];
    expect(sortComparison(rows, { column: 'click-rate', dir: 'desc' }).map((r) => r.issueId)).toEqual([4, 1, 3, 2]);
    expect(sortComparison(rows, { column: 'click-rate', dir: 'asc' }).map((r) => r.issueId)).toEqual([3, 4, 1, 2]);
    expect(sortComparison(rows, { column: 'sent', dir: 'asc' }).map((r) => r.issueId)).toEqual([1, 2, 3, 4]);
    const named = [
      row(1, { subject: 'widgets' }),
      row(2, { subject: 'Batteries' }),
      row(3, { subject: 'Issue 10' }),
      row(4, { subject: 'Issue 9' }),
    ];
    expect(sortComparison(named, { column: 'subject', dir: 'asc' }).map((r) => r.subject)).toEqual([
      'Batteries',
      'Issue 9',
      'Issue 10',
      'widgets',
    ]);
  });
});

describe('the comparison as CSV', () => {
  it('has the page’s columns, rates as percentages, the sent time in the site’s zone, and defuses formulas', () => {
    const rows = [
      row(1, {
        subject: '=HYPERLINK("http://evil.example")',
        sentAt: Date.UTC(2026, 6, 1, 8, 5),
        openRate: 0.625,
        clickToOpenRate: null,
      }),
      row(2, { subject: 'Winter, “widgets”' }),
    ];
    const csv = comparisonCsv(rows, 'Europe/London');
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const [header, first, second] = parse(csv.slice(1));
    expect(header).toHaveLength(COMPARISON_COLUMNS.length);
    expect(header!.slice(0, 4)).toEqual(['Issue', 'Sent (Europe/London)', 'Recipients', 'Delivered']);
    expect(header).toContain('Open rate (all) (%)');
    const cell = (r: string[], heading: string) => r[header!.indexOf(heading)];
    expect(cell(first!, 'Issue')).toBe('\'=HYPERLINK("http://evil.example")');
    expect(cell(first!, 'Sent (Europe/London)')).toBe('2026-07-01 09:05');
    expect(cell(first!, 'Open rate (all) (%)')).toBe('62.5');
    expect(cell(first!, 'Click-to-open (%)')).toBe('');
    expect(cell(second!, 'Issue')).toBe('Winter, “widgets”');
    expect(cell(second!, 'Unique human clicks')).toBe('2');
  });
});

describe('report page helpers', () => {
  it('?days is 7, 30 or 90; anything else is refused and the default shown', () => {
    expect(parseRangeDays(params(''))).toEqual({ ok: true, days: 30 });
    expect(parseRangeDays(params('days=90'))).toEqual({ ok: true, days: 90 });
    for (const bad of ['5', '30.0', '-7', 'all', '1e2'])
      expect(parseRangeDays(params(`days=${bad}`))).toMatchObject({ ok: false, days: 30 });
  });

  it('a lift is a difference with its interval, never a bare number', () => {
    const base = { observed: 140, expected: 96, relative: 0.46, verdict: 'above' } as LiftResult;
    expect(liftDifference({ ...base, lift: 44, low: 18.9, high: 69.1 })).toBe('+44 (+19 to +69)');
    expect(liftDifference({ ...base, lift: -2.5, low: -6.25, high: 1.2 })).toBe('−2.5 (−6.3 to +1.2)');
    expect(liftDifference({ ...base, lift: null, low: null, high: null, expected: null })).toBe('no baseline');
  });

  it('issues sharing a subject are told apart by their day, then their id', () => {
    const series = [
      { name: 'News', id: 1, day: '2026-11-01' },
      { name: 'News', id: 2, day: '2026-11-08' },
      { name: 'Other', id: 3, day: '2026-11-08' },
      { name: 'Twice', id: 4, day: '2026-11-09' },
      { name: 'Twice', id: 5, day: '2026-11-09' },
    ];
    expect(
      distinctNames(
        series,
        (s) => s.day,
        (s) => s.id,
      ).map((s) => s.name),
    ).toEqual(['News (2026-11-01)', 'News (2026-11-08)', 'Other', 'Twice (2026-11-09) #4', 'Twice (2026-11-09) #5']);
  });
});
