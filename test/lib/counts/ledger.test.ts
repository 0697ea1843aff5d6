import { describe, expect, it } from 'vitest';
import { CountDeltas } from '#lib/counts/ledger.ts';
import { DAY_MS, HOUR_MS, PER_DAY, PER_HOUR, QUARTER_MS, splitByDays, splitRange, TOTAL } from '#lib/counts/buckets.ts';
import type { PlainMetric } from '#lib/counts/metrics.ts';

/** The pieces a range is read in: contiguous, covering it exactly, each aligned to its grain. */
describe('splitRange', () => {
  const size = { '': QUARTER_MS, [PER_HOUR]: HOUR_MS, [PER_DAY]: DAY_MS } as Record<string, number>;
  const base = Date.UTC(2026, 10, 1);
  const cases: [number, number][] = [
    [base, base + 3 * DAY_MS],
    [base + 15 * 60_000, base + 2 * DAY_MS + 45 * 60_000],
    [base + 9 * HOUR_MS + 15 * 60_000, base + 9 * HOUR_MS + 45 * 60_000],
    [base + 23 * HOUR_MS + 45 * 60_000, base + DAY_MS + 15 * 60_000],
    [base, base],
    [base + 5 * HOUR_MS, base + 7 * DAY_MS + 5 * HOUR_MS],
  ];
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 300; i++) {
    const a = base + Math.floor(random() * 40 * 96) * QUARTER_MS;
    cases.push([a, a + Math.floor(random() * 20 * 96) * QUARTER_MS]);
  }
  it('covers every range exactly with aligned pieces, days in the middle', () => {
    for (const [from, to] of cases) {
      const pieces = splitRange(from, to);
      let at = from;
      for (const p of pieces) {
        expect(p.from).toBe(at);
        expect(p.from % size[p.grain]!).toBe(0);
        expect(p.to % size[p.grain]!).toBe(0);
        expect(p.to).toBeGreaterThan(p.from);
        at = p.to;
      }
      expect(at).toBe(Math.max(from, to));
      expect(pieces.length).toBeLessThanOrEqual(5);
      if (to - from >= 2 * DAY_MS) expect(pieces.some((p) => p.grain === PER_DAY)).toBe(true);
    }
  });
  it('splitByDays: hours at the ends, whole UTC days between', () => {
    expect(splitByDays(base + 5 * HOUR_MS, base + 3 * DAY_MS + 2 * HOUR_MS)).toEqual({
      hours: [
        [base + 5 * HOUR_MS, base + DAY_MS],
        [base + 3 * DAY_MS, base + 3 * DAY_MS + 2 * HOUR_MS],
      ],
      days: [base + DAY_MS, base + 3 * DAY_MS],
    });
    expect(splitByDays(base + 5 * HOUR_MS, base + 9 * HOUR_MS)).toEqual({
      hours: [[base + 5 * HOUR_MS, base + 9 * HOUR_MS]],
      days: null,
    });
    expect(splitByDays(base, base + 2 * DAY_MS)).toEqual({ hours: [], days: [base, base + 2 * DAY_MS] });
  });
});

/** The deltas a batch collects: the same sums however its rows interleave issues, metrics and buckets. */
describe('CountDeltas', () => {
  it('sums plain metrics at every grain and per-dim counts, whatever the order of calls', () => {
    const base = Date.UTC(2026, 10, 1, 23, 50);
    const calls: [number, PlainMetric, number, number][] = [];
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 2000; i++)
      calls.push([
        1 + Math.floor(random() * 3),
        random() < 0.5 ? 'open.human' : 'click.bot',
        base + Math.floor(random() * 40) * 60_000,
        random() < 0.2 ? -1 : 1,
      ]);
    const deltas = new CountDeltas();
    const expected = new Map<string, number>();
    const expect1 = (key: string, n: number) => expected.set(key, (expected.get(key) ?? 0) + n);
    for (const [issueId, metric, at, n] of calls) {
      deltas.at(issueId, metric, at, n);
      expect1(`${issueId} ${metric} ${at - (at % QUARTER_MS)}`, n);
      expect1(`${issueId} ${metric}${PER_HOUR} ${at - (at % HOUR_MS)}`, n);
      expect1(`${issueId} ${metric}${PER_DAY} ${at - (at % DAY_MS)}`, n);
      expect1(`${issueId} ${metric}${TOTAL} 0`, n);
      const dim = String(issueId * 10 + Math.floor(random() * 3));
      const bucket = random() < 0.3 ? 3_600_000 : 0;
      deltas.add(issueId, 'link.human', dim, bucket, n);
      expect1(`${issueId} link.human/${dim} ${bucket}`, n);
    }
    const got = new Map(
      deltas.rows().map((r) => [`${r.issue_id} ${r.metric}${r.dim ? '/' + r.dim : ''} ${r.bucket}`, r.n]),
    );
    expect(got).toEqual(new Map([...expected].filter(([, n]) => n !== 0)));
  });
});
