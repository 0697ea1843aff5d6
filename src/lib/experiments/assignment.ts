import type { Insertable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, ExperimentArmTable } from '../db/schema.ts';
import { armPlan, assignArms, newSeed, REST_WAITS_UNTIL, VARIANT_KEYS, type ExperimentOptions } from './experiment.ts';
import {
  findArms,
  findExperiment,
  findLedgerRecipients,
  insertExperiment,
  moveLedgerRows,
  putLedgerInRest,
  setArmSize,
} from './experiments.repository.ts';

type Db = DB | Transaction<Database>;

/** Stores the experiment asked for with a send (in the send request's transaction): state `testing`, a fresh seed. */
export async function createExperiment(
  db: Db,
  issueId: number,
  options: ExperimentOptions,
  now: number,
  seed = newSeed(),
): Promise<void> {
  const arms: Insertable<ExperimentArmTable>[] = options.variants.map((v, i) => ({
    issue_id: issueId,
    arm: VARIANT_KEYS[i]!,
    subject: v.subject,
    preheader: v.preheader,
    body_markdown: v.bodyMarkdown,
  }));
  if (options.holdoutShare > 0) arms.push({ issue_id: issueId, arm: 'holdout' });
  arms.push({ issue_id: issueId, arm: 'rest' });
  await insertExperiment(
    db,
    {
      issue_id: issueId,
      seed,
      test_share: options.testShare,
      holdout_share: options.holdoutShare,
      wait_ms: options.waitMs,
      measure: options.measure,
      state: 'testing',
      created_at: now,
    },
    arms,
  );
}

/**
 * Puts every ledger row of a send just frozen into its arm, in the freeze's own transaction (so
 * a crash leaves either no ledger or a ledger fully assigned, and one freeze runs per send):
 * recipients ordered by HMAC-SHA256(seed, subscriber id), cut by the arm sizes (variants, then
 * the holdout, then the rest). Held-out rows become `held_out` (never claimed); while an A/B
 * test runs the rest wait (never due) until the winner is decided. No experiment: nothing.
 */
export async function assignExperimentArms(db: Db, issueId: number, now: number): Promise<void> {
  const experiment = await findExperiment(db, issueId);
  if (!experiment) return;
  const variants = (await findArms(db, issueId)).filter((a) => (VARIANT_KEYS as readonly string[]).includes(a.arm));
  const plan = armPlan({
    testShare: Number(experiment.test_share),
    holdoutShare: Number(experiment.holdout_share),
    variants: variants.length,
  });
  const recipients = await findLedgerRecipients(db, issueId);
  const rowOf = new Map(recipients.map((r) => [r.subscriberId, r.id]));
  const assigned = assignArms(experiment.seed, plan, [...rowOf.keys()]);
  await putLedgerInRest(db, issueId, variants.length > 0 ? REST_WAITS_UNTIL : now);
  for (const [arm, subscribers] of assigned) {
    if (arm !== 'rest')
      await moveLedgerRows(
        db,
        issueId,
        subscribers.map((s) => rowOf.get(s)!),
        arm,
        arm === 'holdout',
        now,
      );
    await setArmSize(db, issueId, arm, subscribers.length);
  }
}

/** The experiment stored for an issue's send, as the options it was asked with (null: none). */
export async function storedExperimentOptions(db: Db, issueId: number): Promise<ExperimentOptions | null> {
  const experiment = await findExperiment(db, issueId);
  if (!experiment) return null;
  const arms = await findArms(db, issueId);
  return {
    variants: VARIANT_KEYS.flatMap((key) => {
      const arm = arms.find((a) => a.arm === key);
      return arm
        ? [{ subject: arm.subject ?? '', preheader: arm.preheader ?? '', bodyMarkdown: arm.body_markdown }]
        : [];
    }),
    testShare: Number(experiment.test_share),
    holdoutShare: Number(experiment.holdout_share),
    waitMs: Number(experiment.wait_ms),
    measure: experiment.measure,
  };
}

/** True when two experiment requests ask for the same thing (a repeated request is not a change). */
export function sameExperiment(a: ExperimentOptions | null, b: ExperimentOptions | null): boolean {
  const canonical = (o: ExperimentOptions | null) =>
    o === null
      ? 'none'
      : JSON.stringify([
          o.variants.map((v) => [v.subject, v.preheader, v.bodyMarkdown]),
          Math.round(o.testShare * 1e6),
          Math.round(o.holdoutShare * 1e6),
          o.waitMs,
          o.measure,
        ]);
  return canonical(a) === canonical(b);
}
