import type { DB } from '../db/database.ts';
import { fail, ok } from '../outcome.ts';
import type { IssueHooks } from '../sending/sending.ts';
import { updateIssueInStatus } from './issues.repository.ts';
import {
  checkIssueForSending,
  checkVariantsForSending,
  freezeIssue,
  getIssue,
  IssueNotReadyError,
  type IssueFailure,
  loadSnapshot,
  variantSnapshot,
} from './issues.service.ts';
import { findArm, findArms, findExperiment, storeArmRendering } from '../experiments/experiments.repository.ts';
import { createPersonalizer, type Personalizer } from './personalize.ts';

export interface IssueSendingPortDeps {
  secret: string;
  /**
   * Every page path of the site (see checks.ts), for the own-site link check before a send is
   * accepted and again when it starts. Required, so the worker freezing a scheduled issue checks
   * the same pages a route does; undefined only where the process has no built site (astro dev,
   * the demo generator), and the check then says it was not made.
   */
  knownPaths: () => Promise<ReadonlySet<string> | undefined>;
}

/**
 * The one port between the sending engine and the issues domain (the engine's IssueHooks),
 * built once per process in the composition root (AppContext.issueSending) and shared by the
 * routes, actions and the send worker: the pre-send checks, the freeze when a send starts,
 * a personaliser compiled once per issue from the frozen snapshot (the process's one
 * compiled-issue cache), and the issue's status moved along with its send inside the engine's
 * own transactions.
 */
export function createIssueSendingPort(deps: IssueSendingPortDeps): IssueHooks {
  const composers = new Map<number | string, Promise<Personalizer>>();
  const checkOptions = async () => {
    const knownPaths = await deps.knownPaths();
    return knownPaths ? { knownPaths } : {};
  };
  return {
    async checkIssue(db, issueId, variants = []) {
      const issue = await getIssue(db, issueId);
      if (issue && (issue.status === 'sent' || issue.status === 'cancelled'))
        return fail('conflict', `This issue is ${issue.status}: it cannot be sent again.`);
      const options = await checkOptions();
      // Checking mails nothing, so a mail failure cannot come from it.
      const refusal = (f: IssueFailure) => fail(f.reason === 'mail-failed' ? 'conflict' : f.reason, f.message);
      const checked = await checkIssueForSending(db, issueId, options);
      if (!checked.ok) return refusal(checked);
      const named = variants.map((variant, i) => ({ ...variant, name: String.fromCharCode(65 + i) }));
      const variantsChecked = await checkVariantsForSending(db, issueId, named, options);
      if (!variantsChecked.ok) return refusal(variantsChecked);
      return ok(checked.value);
    },
    async prepareIssue(db, issueId, now) {
      try {
        const options = await checkOptions();
        await freezeIssue(db, issueId, now, { ...options, secret: deps.secret });
        // An A/B test's variants are checked and rendered once too, when sending starts, and stored with them.
        const unrendered = (await findArms(db, issueId)).flatMap((arm) =>
          arm.subject === null || arm.html !== null
            ? []
            : [
                {
                  name: arm.arm,
                  subject: arm.subject,
                  preheader: arm.preheader ?? '',
                  bodyMarkdown: arm.body_markdown,
                },
              ],
        );
        if (unrendered.length === 0) return { ok: true };
        const checked = await checkVariantsForSending(db, issueId, unrendered, options, now);
        if (!checked.ok) return { ok: false, message: checked.message };
        for (const [i, rendering] of checked.value.entries())
          await storeArmRendering(db, issueId, unrendered[i]!.name, rendering);
        return { ok: true };
      } catch (error) {
        if (error instanceof IssueNotReadyError) return { ok: false, message: error.message };
        throw error;
      }
    },
    /**
     * Compiled once per issue (and experiment arm) and process; each call of the result makes one
     * recipient's message. A variant arm gets its stored rendering; the rest of an A/B test gets
     * the winner's (its deliveries become due only once the winner is recorded).
     */
    composerFor(db: DB, issueId: number, arm?: string | null): Promise<Personalizer> {
      const key =
        arm === 'A' || arm === 'B' || arm === 'C' || arm === 'D' || arm === 'rest' ? `${issueId}:${arm}` : issueId;
      let composer = composers.get(key);
      if (!composer) {
        composer = (async () => {
          const snapshot = await loadSnapshot(db, issueId);
          if (!snapshot) throw new IssueNotReadyError(`Issue ${issueId} is not frozen: start the send first.`);
          let variant = key === issueId ? undefined : arm!;
          if (variant === 'rest') {
            const experiment = await findExperiment(db, issueId);
            const ab = (await findArms(db, issueId)).some((a) => a.subject !== null);
            if (ab && !experiment?.winner_arm)
              throw new IssueNotReadyError(`Issue ${issueId}: the rest waits for the A/B test's winner.`);
            variant = ab ? experiment!.winner_arm! : undefined;
          }
          if (variant === undefined) return createPersonalizer(snapshot, { secret: deps.secret });
          const row = await findArm(db, issueId, variant);
          if (!row?.subject || row.html === null || row.text === null || row.link_ids === null)
            throw new IssueNotReadyError(`Issue ${issueId}: variant ${variant} is not rendered.`);
          const frozen = await variantSnapshot(db, snapshot, {
            subject: row.subject,
            html: row.html,
            text: row.text,
            linkIds: JSON.parse(row.link_ids) as number[],
          });
          return createPersonalizer(frozen, { secret: deps.secret });
        })();
        composer.catch(() => composers.delete(key));
        composers.set(key, composer);
      }
      return composer;
    },
    async setIssueStatus(db, issueId, from, to, now) {
      await updateIssueInStatus(db, issueId, from, {
        status: to,
        updated_at: now,
        ...(to === 'sent' ? { sent_at: now } : {}),
      });
      // Nothing more is composed once the send is over (or undone back to a draft, to be frozen again).
      if (to !== 'sending' && to !== 'scheduled')
        for (const key of composers.keys())
          if (key === issueId || String(key).startsWith(`${issueId}:`)) composers.delete(key);
    },
  };
}
