import { fail, ok } from '../outcome.ts';
import { updateIssueInStatus } from '../issues/issues.repository.ts';
import { getIssue } from '../issues/issues.service.ts';
import { issueSendingHooks } from '../issues/sending-hooks.ts';
import type { IssueHooks } from './sending.ts';

/**
 * The sending engine's seam to the issues domain (its issueSendingHooks): the pre-send checks,
 * freezeIssue when sending starts, a personaliser compiled once per issue from the frozen
 * snapshot; and the issue's status moved along with its send (scheduled, sending, sent,
 * cancelled, back to draft) inside the engine's own transactions.
 *
 * `knownPaths` (the site's pages, for the own-site link check) comes from routes; the worker
 * process has none and checks without it.
 */
export function createIssueHooks(deps: { secret: string; knownPaths?: () => Promise<ReadonlySet<string>> }): IssueHooks {
  const issues = issueSendingHooks(deps);
  return {
    async checkIssue(db, issueId) {
      const issue = await getIssue(db, issueId);
      if (issue && (issue.status === 'sent' || issue.status === 'cancelled')) return fail('conflict', `This issue is ${issue.status}: it cannot be sent again.`);
      const checked = await issues.checkIssue(db, issueId);
      // Checking mails nothing, so a mail failure cannot come from it.
      return checked.ok ? ok(checked.value) : fail(checked.reason === 'mail-failed' ? 'conflict' : checked.reason, checked.message);
    },
    prepareIssue: (db, issueId, now) => issues.prepareIssue(db, issueId, now),
    composerFor: (db, issueId) => issues.composerFor(db, issueId),
    async setIssueStatus(db, issueId, from, to, now) {
      await updateIssueInStatus(db, issueId, from, { status: to, updated_at: now, ...(to === 'sent' ? { sent_at: now } : {}) });
    },
  };
}
