import { describe, expect, it } from 'vitest';
import {
  decideWinner,
  incrementalPer1000,
  newcombeDifference,
  normalQuantile,
  weeksNeeded,
  wilsonInterval,
  winnerComparisons,
  winnerZ,
  Z_95,
} from '#lib/experiments/statistics.ts';

/**
 * Hand-computed fixtures. z = 1.959964, z² = 3.841459. Wilson for x of n, p = x / n:
 *   centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) × √(p(1 − p)/n + z²/4n²).
 * The difference intervals also match the published values of Newcombe (1998), table II,
 * method 10 (four decimals).
 */
describe('normal quantiles', () => {
  it('gives the z of 95 %, 80 % power and the Bonferroni-widened intervals', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 6);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959964, 6);
    expect(normalQuantile(0.5)).toBe(0);
    // three variants: m = 3 pairs, 1 − 0.05/6 = 0.991667 → 2.393980; four: m = 6, 1 − 0.05/12 → 2.638257
    expect(winnerZ(2)).toBe(Z_95);
    expect(winnerZ(3)).toBeCloseTo(2.39398, 5);
    expect(winnerZ(4)).toBeCloseTo(2.638257, 5);
    expect(() => normalQuantile(0)).toThrow(RangeError);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });
});

describe('Wilson interval for a proportion', () => {
  it('0 of 10: starts at exactly 0 and is not empty', () => {
    // 1 + z²/10 = 1.384146; centre = (0 + 0.192073) / 1.384146 = 0.138766
    // half = 1.959964 / 1.384146 × √(0 + 3.841459/400) = 1.416009 × 0.097998 = 0.138766 → 0 to 0.277533
    const w = wilsonInterval(0, 10);
    expect(w.low).toBe(0);
    expect(w.high).toBeCloseTo(0.277533, 6);
  });

  it('10 of 10 (100 %): ends at exactly 1, mirror image of 0 of 10', () => {
    const w = wilsonInterval(10, 10);
    expect(w.low).toBeCloseTo(0.722467, 6);
    expect(w.high).toBe(1);
  });

  it('n = 0: nothing is known, the whole range', () => {
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });

  it('a tiny arm, 1 of 1', () => {
    // 1 + z² = 4.841459; centre = (1 + 1.920730) / 4.841459 = 0.603275
    // half = 1.959964 / 4.841459 × √(0 + 3.841459/4) = 0.404829 × 0.979982 = 0.396725 → 0.206549 to 1
    const w = wilsonInterval(1, 1);
    expect(w.low).toBeCloseTo(0.206549, 5);
    expect(w.high).toBe(1);
  });

  it('Newcombe (1998) table I: 81/263, 15/148, 0/20, 1/29', () => {
    // 81/263: p = 0.307985; 1 + z²/263 = 1.014606; centre = (0.307985 + 0.007303) / 1.014606 = 0.310749
    // half = 1.931748 × √(0.000811 + 0.0000139) = 1.931748 × 0.028710 = 0.055461 → 0.255288 to 0.366210
    const a = wilsonInterval(81, 263);
    expect(a.low).toBeCloseTo(0.2553, 4);
    expect(a.high).toBeCloseTo(0.3662, 4);
    const b = wilsonInterval(15, 148);
    expect(b.low).toBeCloseTo(0.0624, 4);
    expect(b.high).toBeCloseTo(0.1605, 4);
    expect(wilsonInterval(0, 20).high).toBeCloseTo(0.1611, 4);
    const d = wilsonInterval(1, 29);
    expect(d.low).toBeCloseTo(0.0061, 4);
    expect(d.high).toBeCloseTo(0.1718, 4);
  });

  it('a wider z gives a wider interval (3 of 10 at 95 % and at z = 2.394)', () => {
    // 95 %: 1 + z²/10 = 1.384146; centre = (0.3 + 0.192073) / 1.384146 = 0.355507
    // half = 1.416009 × √(0.021 + 0.009604) = 1.416009 × 0.174940 = 0.247717 → 0.107791 to 0.603222
    const w = wilsonInterval(3, 10);
    expect(w.low).toBeCloseTo(0.107791, 5);
    expect(w.high).toBeCloseTo(0.603222, 5);
    const wide = wilsonInterval(3, 10, winnerZ(3));
    expect(wide.low).toBeLessThan(w.low);
    expect(wide.high).toBeGreaterThan(w.high);
  });

  it('refuses counts that cannot be', () => {
    expect(() => wilsonInterval(11, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(1.5, 10)).toThrow(RangeError);
  });
});

describe('Newcombe hybrid score interval for a difference', () => {
  // low = d − √((pa − la)² + (ub − pb)²), high = d + √((ua − pa)² + (pb − lb)²)
  it('56/70 − 48/80 = 0.2 (0.0524 to 0.3339)', () => {
    // Wilson 56/70: 0.691834 to 0.876953; 48/80: 0.490455 to 0.700382
    // low = 0.2 − √(0.108166² + 0.100382²) = 0.2 − 0.147569 = 0.052431
    const d = newcombeDifference({ successes: 56, n: 70 }, { successes: 48, n: 80 });
    expect(d.difference).toBeCloseTo(0.2, 10);
    expect(d.low).toBeCloseTo(0.0524, 4);
    expect(d.high).toBeCloseTo(0.3339, 4);
  });

  it('9/10 − 3/10 and 6/7 − 2/7: small arms', () => {
    const a = newcombeDifference({ successes: 9, n: 10 }, { successes: 3, n: 10 });
    expect(a.low).toBeCloseTo(0.1705, 4);
    expect(a.high).toBeCloseTo(0.809, 4);
    const b = newcombeDifference({ successes: 6, n: 7 }, { successes: 2, n: 7 });
    expect(b.low).toBeCloseTo(0.0582, 4);
    expect(b.high).toBeCloseTo(0.8062, 4);
  });

  it('zero counts: 5/56 − 0/29, 0/10 − 0/20, 0/10 − 0/10', () => {
    const a = newcombeDifference({ successes: 5, n: 56 }, { successes: 0, n: 29 });
    expect(a.low).toBeCloseTo(-0.0381, 4);
    expect(a.high).toBeCloseTo(0.1926, 4);
    // both p = 0, so low = −(upper of 0/20) = −0.161125, high = upper of 0/10 = 0.277533
    const b = newcombeDifference({ successes: 0, n: 10 }, { successes: 0, n: 20 });
    expect(b.difference).toBe(0);
    expect(b.low).toBeCloseTo(-0.161125, 5);
    expect(b.high).toBeCloseTo(0.277533, 5);
    const c = newcombeDifference({ successes: 0, n: 10 }, { successes: 0, n: 10 });
    expect(c.low).toBeCloseTo(-0.277533, 5);
    expect(c.high).toBeCloseTo(0.277533, 5);
  });

  it('100 % against 0 %: 10/10 − 0/20 and 10/10 − 0/10, capped at 1', () => {
    // 10/10 − 0/10: low = 1 − √((1 − 0.722467)² + (0.277533 − 0)²) = 1 − 0.277533 × √2 = 1 − 0.392491 = 0.607509
    const a = newcombeDifference({ successes: 10, n: 10 }, { successes: 0, n: 20 });
    expect(a.low).toBeCloseTo(0.6791, 4);
    expect(a.high).toBe(1);
    const b = newcombeDifference({ successes: 10, n: 10 }, { successes: 0, n: 10 });
    expect(b.low).toBeCloseTo(0.607509, 5);
    expect(b.high).toBe(1);
  });

  it('n = 0 on either side: unknown, 0 with −1 to 1', () => {
    expect(newcombeDifference({ successes: 0, n: 0 }, { successes: 3, n: 10 })).toEqual({
      difference: 0,
      low: -1,
      high: 1,
    });
    expect(newcombeDifference({ successes: 3, n: 10 }, { successes: 0, n: 0 })).toEqual({
      difference: 0,
      low: -1,
      high: 1,
    });
  });

  it('swapping the arms mirrors the interval', () => {
    const ab = newcombeDifference({ successes: 56, n: 70 }, { successes: 48, n: 80 });
    const ba = newcombeDifference({ successes: 48, n: 80 }, { successes: 56, n: 70 });
    expect(ba.difference).toBeCloseTo(-ab.difference, 12);
    expect(ba.low).toBeCloseTo(-ab.high, 12);
    expect(ba.high).toBeCloseTo(-ab.low, 12);
  });
});

describe('declaring a winner', () => {
  it('two variants, B clearly better: the sentence of the issue', () => {
    // A 34/2000 = 1.7 %, B 62/2000 = 3.1 %: d = 0.014
    // Wilson 62/2000: 0.024257 to 0.039541; 34/2000: 0.012191 to 0.023661
    // low = 0.014 − √((0.031 − 0.024257)² + (0.023661 − 0.017)²) = 0.014 − 0.009478 = 0.004522
    // high = 0.014 + √((0.039541 − 0.031)² + (0.017 − 0.012191)²) = 0.014 + 0.009802 = 0.023802
    const decision = decideWinner([
      { key: 'A', successes: 34, n: 2000 },
      { key: 'B', successes: 62, n: 2000 },
    ]);
    expect(decision).toEqual({
      kind: 'winner',
      key: 'B',
      sentence: 'Variant B brought 1.4 more clickers per 100 delivered (0.5 to 2.4); it won.',
    });
  });

  it('two variants, B a little better but within noise: the first goes out', () => {
    // B 46/2000: d = 0.006, low = −0.002775 (below 0), high = 0.014944
    const decision = decideWinner([
      { key: 'A', successes: 34, n: 2000 },
      { key: 'B', successes: 46, n: 2000 },
    ]);
    expect(decision).toEqual({
      kind: 'within_noise',
      key: 'A',
      sentence:
        'Variant B brought 0.6 more clickers per 100 delivered (−0.3 to 1.5): within noise, so variant A, the first, goes to the rest.',
    });
  });

  it('the first variant best but within noise; opens as the measure', () => {
    const decision = decideWinner(
      [
        { key: 'A', successes: 46, n: 2000 },
        { key: 'B', successes: 34, n: 2000 },
      ],
      { measure: 'human_openers' },
    );
    expect(decision.kind).toBe('within_noise');
    expect(decision.key).toBe('A');
    expect(decision.sentence).toBe(
      'Variant A brought 0.6 more likely-human openers per 100 delivered (−0.3 to 1.5): within noise, so variant A, the first, goes to the rest.',
    );
  });

  it('tiny arms: 1 of 1 against 0 of 1 is within noise', () => {
    // Wilson 1/1: 0.206549 to 1; 0/1: 0 to 0.793451
    // low = 1 − √((1 − 0.206549)² + (0.793451 − 0)²) = 1 − 1.122109 = −0.122109
    const decision = decideWinner([
      { key: 'A', successes: 0, n: 1 },
      { key: 'B', successes: 1, n: 1 },
    ]);
    expect(decision.kind).toBe('within_noise');
    expect(decision.key).toBe('A');
    expect(decision.sentence).toBe(
      'Variant B brought 100.0 more clickers per 100 delivered (−12.2 to 100.0): within noise, so variant A, the first, goes to the rest.',
    );
  });

  it('100 % against 0 % with ten each is a winner', () => {
    // low = 0.607509 (above): "60.8 to 100.0"
    expect(
      decideWinner([
        { key: 'A', successes: 10, n: 10 },
        { key: 'B', successes: 0, n: 10 },
      ]),
    ).toEqual({
      kind: 'winner',
      key: 'A',
      sentence: 'Variant A brought 100.0 more clickers per 100 delivered (60.8 to 100.0); it won.',
    });
  });

  it('zero clickers everywhere: the same, within noise', () => {
    // 0/500 each: Wilson upper = 0.007624 → difference 0, −0.7624 to 0.7624 per 100
    expect(
      decideWinner([
        { key: 'A', successes: 0, n: 500 },
        { key: 'B', successes: 0, n: 500 },
      ]),
    ).toEqual({
      kind: 'within_noise',
      key: 'A',
      sentence:
        'The variants brought the same number of clickers per 100 delivered (difference 0.0, −0.8 to 0.8): within noise, so variant A, the first, goes to the rest.',
    });
  });

  it('an arm with nothing delivered: cannot decide, the first goes out', () => {
    const decision = decideWinner([
      { key: 'A', successes: 3, n: 100 },
      { key: 'B', successes: 9, n: 100 },
      { key: 'C', successes: 0, n: 0 },
    ]);
    expect(decision).toEqual({
      kind: 'within_noise',
      key: 'A',
      sentence:
        'Not every variant has been delivered yet (nothing delivered to variant C): within noise, so variant A, the first, goes to the rest.',
    });
  });

  it('three variants: the wider interval (z = 2.394) turns a 95 % win into noise', () => {
    // A 20/1000, B 62/1000, C 40/1000. Best B. B − A: low 0.0211 at z = 2.394 (above 0).
    // B − C at 95 %: d = 0.022, low = 0.002658 (would win as a two-variant test)
    // B − C at z = 2.394: low = −0.001737, high = 0.046277 → within noise, quoted against C
    expect(newcombeDifference({ successes: 62, n: 1000 }, { successes: 40, n: 1000 }).low).toBeCloseTo(0.002658, 5);
    const decision = decideWinner([
      { key: 'A', successes: 20, n: 1000 },
      { key: 'B', successes: 62, n: 1000 },
      { key: 'C', successes: 40, n: 1000 },
    ]);
    expect(decision).toEqual({
      kind: 'within_noise',
      key: 'A',
      sentence:
        'Variant B brought 2.2 more clickers per 100 delivered (−0.2 to 4.6) than variant C, the closest of the others: within noise, so variant A, the first, goes to the rest.',
    });
  });

  it('three variants, a clear winner against every other', () => {
    // A 30/1000, B 70/1000, C 40/1000 at z = 2.394: B − A low 0.016795; B − C low 0.005522, high 0.055138
    expect(
      decideWinner([
        { key: 'A', successes: 30, n: 1000 },
        { key: 'B', successes: 70, n: 1000 },
        { key: 'C', successes: 40, n: 1000 },
      ]),
    ).toEqual({
      kind: 'winner',
      key: 'B',
      sentence:
        'Variant B brought 3.0 more clickers per 100 delivered (0.6 to 5.5) than variant C, the closest of the others; it won.',
    });
  });

  it('four variants: the best must beat every other, not just the worst', () => {
    // C 80/1000 best; at z = 2.638: C − A low 0.000749 (above), C − B low −0.001486, C − D low −0.010388
    const decision = decideWinner([
      { key: 'A', successes: 50, n: 1000 },
      { key: 'B', successes: 52, n: 1000 },
      { key: 'C', successes: 80, n: 1000 },
      { key: 'D', successes: 60, n: 1000 },
    ]);
    expect(decision.kind).toBe('within_noise');
    expect(decision.key).toBe('A');
    expect(decision.sentence).toContain(
      'Variant C brought 2.0 more clickers per 100 delivered (−1.0 to 5.1) than variant D',
    );
  });

  it('the comparisons the rule makes, shown on the report: the best against every other, the quoted one the sentence’s', () => {
    // The four-variant fixture above: C − A low 0.000749, C − B low −0.001486, C − D low −0.010388 (z = 2.638).
    const arms = [
      { key: 'A', successes: 50, n: 1000 },
      { key: 'B', successes: 52, n: 1000 },
      { key: 'C', successes: 80, n: 1000 },
      { key: 'D', successes: 60, n: 1000 },
    ];
    const { best, z, pairs, decisive } = winnerComparisons(arms);
    expect(best.key).toBe('C');
    expect(z).toBeCloseTo(2.638257, 5);
    expect(pairs.map((p) => [p.arm, p.against, Math.round(p.difference * 1000) / 1000])).toEqual([
      ['C', 'A', 0.03],
      ['C', 'B', 0.028],
      ['C', 'D', 0.02],
    ]);
    expect(pairs.map((p) => p.low)).toEqual([
      expect.closeTo(0.000749, 5),
      expect.closeTo(-0.001486, 5),
      expect.closeTo(-0.010388, 5),
    ]);
    expect(decisive).toBe(pairs[2]);
    // The sentence quotes exactly that pair's figures.
    const per100 = (x: number) => (Math.round(x * 1000) / 10).toFixed(1).replace('-', '−');
    expect(decideWinner(arms).sentence).toContain(
      `${per100(decisive!.difference)} more clickers per 100 delivered (${per100(decisive!.low)} to ${per100(decisive!.high)}) than variant D`,
    );
    // An arm with nothing delivered is never the best, and no comparison decides yet.
    const early = winnerComparisons([
      { key: 'A', successes: 0, n: 0 },
      { key: 'B', successes: 2, n: 50 },
      { key: 'C', successes: 1, n: 50 },
    ]);
    expect([early.best.key, early.pairs.map((p) => p.against), early.decisive]).toEqual(['B', ['A', 'C'], null]);
  });

  it('a tie for the best: the earlier variant is the best, and it is within noise', () => {
    const decision = decideWinner([
      { key: 'A', successes: 5, n: 100 },
      { key: 'B', successes: 5, n: 100 },
    ]);
    expect(decision.kind).toBe('within_noise');
    expect(decision.sentence).toMatch(/^The variants brought the same number of clickers/);
  });

  it('one arm is not a test', () => {
    expect(() => decideWinner([{ key: 'A', successes: 1, n: 10 }])).toThrow(RangeError);
  });
});

describe('incremental effect against a holdout', () => {
  it('per 1,000 recipients with the Newcombe interval × 1,000', () => {
    // recipients 270/900 = 0.3, held out 20/100 = 0.2: d = 0.1 → 100 more per 1,000
    // Wilson 270/900: 0.270963 to 0.330737; 20/100: 0.133367 to 0.288829
    // low = 0.1 − √(0.029037² + 0.088829²) = 0.1 − 0.093455 = 0.006545 → 6.545 per 1,000
    // high = 0.1 + √(0.030737² + 0.066633²) = 0.1 + 0.073381 = 0.173381 → 173.381
    const effect = incrementalPer1000({ successes: 270, n: 900 }, { successes: 20, n: 100 });
    expect(effect.difference).toBeCloseTo(100, 6);
    expect(effect.low).toBeCloseTo(6.545, 2);
    expect(effect.high).toBeCloseTo(173.381, 2);
  });

  it('nobody held out: unknown', () => {
    expect(incrementalPer1000({ successes: 5, n: 100 }, { successes: 0, n: 0 })).toEqual({
      difference: 0,
      low: -1000,
      high: 1000,
    });
  });
});

describe('weeks needed to see an effect', () => {
  it('normal approximation, 80 % power, α 0.05, unpooled', () => {
    // (1.959964 + 0.841621)² = 7.848880
    // p₀ = 0.10, d = 0.01 (p₁ = 0.11); 900 recipients and 100 held out a week
    // variance = 0.11 × 0.89 / 900 + 0.1 × 0.9 / 100 = 0.000108778 + 0.0009 = 0.001008778
    // weeks = ⌈7.848880 × 0.001008778 / 0.0001⌉ = ⌈79.178⌉ = 80
    expect(weeksNeeded({ baseline: 0.1, effect: 0.01, treatedPerWeek: 900, comparisonPerWeek: 100 })).toBe(80);
    // the same with an even split of 1,000: 0.11 × 0.89 / 500 + 0.09 / 500 = 0.0003758 → ⌈29.5⌉ = 30
    expect(weeksNeeded({ baseline: 0.1, effect: 0.01, treatedPerWeek: 500, comparisonPerWeek: 500 })).toBe(30);
  });

  it('a large effect still takes at least one week', () => {
    expect(weeksNeeded({ baseline: 0, effect: 1, treatedPerWeek: 10, comparisonPerWeek: 10 })).toBe(1);
  });

  it('no effect, or nobody in a group: no estimate', () => {
    expect(weeksNeeded({ baseline: 0.1, effect: 0, treatedPerWeek: 900, comparisonPerWeek: 100 })).toBeNull();
    expect(weeksNeeded({ baseline: 0.1, effect: 0.01, treatedPerWeek: 900, comparisonPerWeek: 0 })).toBeNull();
  });
});
