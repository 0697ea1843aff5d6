import { createHmac, randomBytes } from 'node:crypto';
import { issueInputSchema } from '../issues/issue.ts';
import { fail, ok, type Outcome } from '../outcome.ts';
import type { ExperimentMeasure } from '../db/schema.ts';

export type { ExperimentDecidedHow, ExperimentMeasure, ExperimentState } from '../db/schema.ts';

/**
 * An experiment on a send, as asked for (the send page, `POST /api/issues/:id/send`), and the
 * pure rules behind it: the arms, their sizes for an audience, and who is in which arm.
 */

export const VARIANT_KEYS = ['A', 'B', 'C', 'D'] as const;
export type VariantKey = (typeof VARIANT_KEYS)[number];
export type ArmKey = VariantKey | 'rest' | 'holdout';

export const MIN_VARIANTS = 2;
export const MAX_VARIANTS = 4;
/** The largest share of the audience a test, or a holdout, may take. */
export const MAX_SHARE = 0.5;
/** The holdout when one is chosen without a share: the API's `holdout: {}` and the send page's prefilled field. */
export const DEFAULT_HOLDOUT_SHARE = 0.1;
export const MAX_WAIT_MS = 7 * 86_400_000;
/** Each variant and the holdout need at least this many people, or their figures say nothing. */
export const MIN_ARM_SIZE = 10;
/**
 * The `next_attempt_at` of the rest's deliveries while the test runs: never due, so no worker
 * claims them; set to the decision time when the winner is chosen (same transaction).
 */
export const REST_WAITS_UNTIL = Number.MAX_SAFE_INTEGER;

export interface Variant {
  subject: string;
  preheader: string;
  /** The variant's own body; null: the issue's. */
  bodyMarkdown: string | null;
}

export interface ExperimentOptions {
  /** None, or 2–4 (A, B, …). */
  variants: Variant[];
  /** Share of the audience the variants split evenly; 0 without variants. */
  testShare: number;
  holdoutShare: number;
  waitMs: number;
  measure: ExperimentMeasure;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;

function readShare(value: unknown, field: string, label: string): Outcome<number> {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_SHARE)
    return fail(
      'invalid',
      `The ${label} must be more than 0 % and at most ${percent(MAX_SHARE)} of the audience (a fraction, e.g. 0.2 for 20 %).`,
      { field },
    );
  return ok(value);
}

const EXPERIMENT_KEYS = ['variants', 'test_share', 'wait_ms', 'measure', 'holdout_share', 'holdout'];

/**
 * The holdout asked for: `holdout_share` (a fraction), or `holdout: true` / `holdout: {}` /
 * `holdout: {share}` — a holdout without a share is DEFAULT_HOLDOUT_SHARE, the send page's default
 * too. 0 when none (`holdout_share` absent, null or 0; `holdout` absent, null or false).
 */
function readHoldout(input: Record<string, unknown>): Outcome<number> {
  const { holdout } = input;
  const share = input.holdout_share;
  const noShare = share === undefined || share === null || share === 0;
  if (holdout === undefined || holdout === null || holdout === false)
    return noShare ? ok(0) : readShare(share, 'experiment.holdout_share', 'holdout share');
  if (holdout !== true && !isObject(holdout))
    return fail(
      'invalid',
      `A holdout is {"holdout": {}} (${percent(DEFAULT_HOLDOUT_SHARE)} of the audience) or {"holdout": {"share": 0.2}}, or false for none.`,
      { field: 'experiment.holdout' },
    );
  const asked = holdout === true ? undefined : holdout.share;
  const extra = holdout === true ? undefined : Object.keys(holdout).find((key) => key !== 'share');
  if (extra !== undefined)
    return fail('invalid', `The holdout has no field “${extra.slice(0, 40)}”: use share.`, {
      field: `experiment.holdout.${extra.slice(0, 40)}`,
    });
  if (!noShare)
    return fail('invalid', 'Give the holdout share once: holdout.share or holdout_share, not both.', {
      field: 'experiment.holdout_share',
    });
  if (asked === undefined || asked === null) return ok(DEFAULT_HOLDOUT_SHARE);
  return readShare(asked, 'experiment.holdout.share', 'holdout share');
}

/**
 * Checks `{variants?: [{subject, preheader?, body_markdown?}], test_share?, wait_ms?, measure?,
 * holdout_share? | holdout?: true | {share?}}` (API names). Absent or null: no experiment. Each
 * refusal names its field, an unknown field too (a misspelt one would otherwise be ignored).
 */
export function readExperiment(input: unknown): Outcome<ExperimentOptions | null> {
  if (input === undefined || input === null) return ok(null);
  if (!isObject(input))
    return fail(
      'invalid',
      'The experiment must be an object such as {"variants": [{"subject": "…"}, {"subject": "…"}], "test_share": 0.2, "wait_ms": 14400000} or {"holdout_share": 0.1}.',
      { field: 'experiment' },
    );
  const unknown = Object.keys(input).find((key) => !EXPERIMENT_KEYS.includes(key));
  if (unknown !== undefined)
    return fail(
      'invalid',
      `The experiment has no field “${unknown.slice(0, 40)}”: use ${EXPERIMENT_KEYS.join(', ')}.`,
      { field: `experiment.${unknown.slice(0, 40)}` },
    );
  const rawVariants = input.variants;
  const variants: Variant[] = [];
  if (rawVariants !== undefined && rawVariants !== null) {
    if (!Array.isArray(rawVariants) || rawVariants.length < MIN_VARIANTS || rawVariants.length > MAX_VARIANTS)
      return fail(
        'invalid',
        `An A/B test has ${MIN_VARIANTS} to ${MAX_VARIANTS} variants (each a subject, optionally a preheader and a body).`,
        { field: 'experiment.variants' },
      );
    for (const [i, raw] of rawVariants.entries()) {
      const key = VARIANT_KEYS[i]!;
      const field = `experiment.variants.${i}`;
      if (!isObject(raw))
        return fail('invalid', `Variant ${key} must be an object such as {"subject": "…"}.`, { field });
      const subject = issueInputSchema.shape.subject.safeParse(raw.subject ?? '');
      if (!subject.success)
        return fail('invalid', `Variant ${key}: ${subject.error.issues[0]!.message}`, { field: `${field}.subject` });
      const preheader = issueInputSchema.shape.preheader.safeParse(raw.preheader ?? '');
      if (!preheader.success)
        return fail('invalid', `Variant ${key}: ${preheader.error.issues[0]!.message}`, {
          field: `${field}.preheader`,
        });
      const body = raw.body_markdown ?? null;
      let bodyMarkdown: string | null = null;
      if (body !== null && body !== '') {
        const parsed = issueInputSchema.shape.body_markdown.safeParse(body);
        if (!parsed.success)
          return fail('invalid', `Variant ${key}: ${parsed.error.issues[0]!.message}`, {
            field: `${field}.body_markdown`,
          });
        bodyMarkdown = parsed.data?.trim() ? parsed.data : null;
      }
      variants.push({ subject: subject.data, preheader: preheader.data ?? '', bodyMarkdown });
    }
  }
  let testShare = 0;
  let waitMs = 0;
  let measure: ExperimentMeasure = 'human_clickers';
  if (variants.length > 0) {
    const share = readShare(input.test_share, 'experiment.test_share', 'test share');
    if (!share.ok) return share;
    testShare = share.value;
    const wait = input.wait_ms;
    if (typeof wait !== 'number' || !Number.isSafeInteger(wait) || wait <= 0 || wait > MAX_WAIT_MS)
      return fail(
        'invalid',
        'The wait before the winner goes out must be more than 0 and at most 7 days (wait_ms: milliseconds, e.g. 14400000 for 4 hours).',
        { field: 'experiment.wait_ms' },
      );
    waitMs = wait;
    const m = input.measure ?? 'human_clickers';
    if (m !== 'human_clickers' && m !== 'human_openers')
      return fail(
        'invalid',
        'The winning measure is "human_clickers" (likely-human clickers per delivered, the default) or "human_openers" (likely-human openers per delivered).',
        { field: 'experiment.measure' },
      );
    measure = m;
  } else if (input.test_share !== undefined || input.wait_ms !== undefined || input.measure !== undefined) {
    return fail(
      'invalid',
      `An A/B test needs ${MIN_VARIANTS} to ${MAX_VARIANTS} variants: a test share, wait or measure alone tests nothing.`,
      { field: 'experiment.variants' },
    );
  }
  const holdout = readHoldout(input);
  if (!holdout.ok) return holdout;
  const holdoutShare = holdout.value;
  if (variants.length === 0 && holdoutShare === 0)
    return fail('invalid', 'Choose an A/B test (2 to 4 variants), a holdout share, or both — or no experiment.', {
      field: 'experiment',
    });
  if (variants.length > 0 && testShare + holdoutShare >= 1)
    return fail('invalid', 'The test and the holdout together leave nobody to get the winner: make one smaller.', {
      field: 'experiment.test_share',
    });
  return ok({ variants, testShare, holdoutShare, waitMs, measure });
}

export interface ArmPlan {
  key: ArmKey;
  share: number;
}

/** The arms of an experiment in assignment order: the variants, the holdout, the rest. */
export function armPlan(
  options: Pick<ExperimentOptions, 'testShare' | 'holdoutShare'> & { variants: number },
): ArmPlan[] {
  const arms: ArmPlan[] = [];
  for (let i = 0; i < options.variants; i++)
    arms.push({ key: VARIANT_KEYS[i]!, share: options.testShare / options.variants });
  if (options.holdoutShare > 0) arms.push({ key: 'holdout', share: options.holdoutShare });
  const used = options.variants > 0 ? options.testShare : 0;
  arms.push({ key: 'rest', share: Math.max(0, 1 - used - options.holdoutShare) });
  return arms;
}

/**
 * Arm sizes for an audience of `n` by the largest remainder: each arm gets the whole part of
 * n × share, and the people left over go one each to the arms with the largest fractions
 * (ties: the earlier arm). Sizes add up to n and no two variants differ by more than one.
 */
export function armSizes(plan: readonly ArmPlan[], n: number): Map<ArmKey, number> {
  // Rounded to 1e-9 first, so 0.29 × 100 is 29 and not 28.999….
  const quotas = plan.map((arm) => Math.round(n * arm.share * 1e9) / 1e9);
  const sizes = quotas.map(Math.floor);
  let left = n - sizes.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, i) => ({ i, frac: q - Math.floor(q) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) sizes[order[k]!.i]!++;
  return new Map(plan.map((arm, i) => [arm.key, sizes[i]!]));
}

/** The smallest audience in which every variant and the holdout get MIN_ARM_SIZE people. */
export function minimumAudience(plan: readonly ArmPlan[]): number {
  const small = plan.filter((arm) => arm.key !== 'rest');
  if (small.length === 0) return 1;
  const smallest = Math.min(...small.map((arm) => arm.share));
  // An arm gets at most one more than the whole part of n × share: no smaller n can do.
  for (let n = Math.max(1, Math.floor((MIN_ARM_SIZE - 1) / smallest)); ; n++) {
    const sizes = armSizes(plan, n);
    if (small.every((arm) => sizes.get(arm.key)! >= MIN_ARM_SIZE)) return n;
  }
}

export function newSeed(): string {
  return randomBytes(16).toString('hex');
}

/** A recipient's place in the random order: HMAC-SHA256(seed, subscriber id), hex. */
export function assignmentKey(seed: string, subscriberId: number): string {
  return createHmac('sha256', seed).update(String(subscriberId)).digest('hex');
}

/**
 * Who is in which arm: the subscribers ordered by assignmentKey, cut by the arm sizes in plan
 * order. The same seed and people give the same arms, whatever order they come in.
 */
export function assignArms(
  seed: string,
  plan: readonly ArmPlan[],
  subscriberIds: readonly number[],
): Map<ArmKey, number[]> {
  const ordered = subscriberIds
    .map((id) => ({ id, key: assignmentKey(seed, id) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id));
  const sizes = armSizes(plan, ordered.length);
  const arms = new Map<ArmKey, number[]>();
  let at = 0;
  for (const arm of plan) {
    const size = sizes.get(arm.key)!;
    arms.set(
      arm.key,
      ordered.slice(at, at + size).map((r) => r.id),
    );
    at += size;
  }
  return arms;
}

/** The refusal when an audience is too small for the arms, naming the minimum. */
export function checkAudienceSize(options: ExperimentOptions, audience: number): Outcome<null> {
  const plan = armPlan({ ...options, variants: options.variants.length });
  const minimum = minimumAudience(plan);
  if (audience >= minimum) return ok(null);
  const parts = [
    ...(options.variants.length > 0
      ? [`an A/B test of ${options.variants.length} variants sharing ${percent(options.testShare)} of the audience`]
      : []),
    ...(options.holdoutShare > 0 ? [`a holdout of ${percent(options.holdoutShare)}`] : []),
  ];
  return fail(
    'invalid',
    `This audience has ${audience.toLocaleString('en')} ${audience === 1 ? 'person' : 'people'}: ${parts.join(' and ')} need${parts.length === 1 ? 's' : ''} at least ${minimum.toLocaleString('en')} (${MIN_ARM_SIZE} in each arm). Choose larger shares, fewer variants, or a larger audience.`,
    { field: options.variants.length > 0 ? 'experiment.test_share' : 'experiment.holdout_share' },
  );
}
