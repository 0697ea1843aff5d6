import type { DB } from '../db/database.ts';
import { fail, ok } from '../outcome.ts';
import type { IssueHooks } from '../sending/sending.ts';
import { updateIssueInStatus } from './issues.repository.ts';
import { checkIssueForSending, freezeIssue, getIssue, IssueNotReadyError, loadSnapshot } from './issues.service.ts';
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
  const composers = new Map<number, Promise<Personalizer>>();
  const checkOptions = async () => {
    const knownPaths = await deps.knownPaths();
    return knownPaths ? { knownPaths } : {};
  };
  return {
    async checkIssue(db, issueId) {
      const issue = await getIssue(db, issueId);
      if (issue && (issue.status === 'sent' || issue.status === 'cancelled'))
        return fail('conflict', `This issue is ${issue.status}: it cannot be sent again.`);
      const checked = await checkIssueForSending(db, issueId, await checkOptions());
      // Checking mails nothing, so a mail failure cannot come from it.
      return checked.ok
        ? ok(checked.value)
        : fail(checked.reason === 'mail-failed' ? 'conflict' : checked.reason, checked.message);
    },
    async prepareIssue(db, issueId, now) {
      try {
        await freezeIssue(db, issueId, now, await checkOptions());
        return { ok: true };
      } catch (error) {
        if (error instanceof IssueNotReadyError) return { ok: false, message: error.message };
        throw error;
      }
    },
    /** Compiled once per issue and process; each call of the result makes one recipient's message. */
    composerFor(db: DB, issueId: number): Promise<Personalizer> {
      let composer = composers.get(issueId);
      if (!composer) {
        composer = loadSnapshot(db, issueId).then((snapshot) => {
          if (!snapshot) throw new IssueNotReadyError(`Issue ${issueId} is not frozen: start the send first.`);
          return createPersonalizer(snapshot, { secret: deps.secret });
        });
        composer.catch(() => composers.delete(issueId));
        composers.set(issueId, composer);
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
      if (to !== 'sending' && to !== 'scheduled') composers.delete(issueId);
    },
  };
}
