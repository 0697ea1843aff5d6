import type { DB } from '../db/database.ts';
import { checkIssueForSending, freezeIssue, IssueNotReadyError, loadSnapshot, markIssueSent, type IssueOutcome } from './issues.service.ts';
import { createPersonalizer, type Personalizer } from './personalize.ts';
import type { CheckResult } from './checks.ts';

/**
 * What the sending engine needs from the issues domain, in one object (the shape of its
 * IssueHooks): check before accepting a send, freeze when sending starts, a composer over the
 * frozen snapshot, and the archive entry when the last delivery is done.
 *
 *   const hooks = issueSendingHooks({ secret: app.secret, knownPaths: () => knownSitePaths(app.db) });
 *
 * `knownPaths` (the site's page paths) comes from the route when there is one; the worker has
 * none, and then own-site links are not re-checked when it freezes a scheduled issue.
 */
export function issueSendingHooks(deps: { secret: string; knownPaths?: () => Promise<ReadonlySet<string>> }) {
  const composers = new Map<number, Promise<Personalizer>>();
  return {
    async checkIssue(db: DB, issueId: number): Promise<IssueOutcome<CheckResult[]>> {
      return checkIssueForSending(db, issueId, deps.knownPaths ? { knownPaths: await deps.knownPaths() } : {});
    },
    async prepareIssue(db: DB, issueId: number, now: number): Promise<{ ok: true } | { ok: false; message: string }> {
      try {
        await freezeIssue(db, issueId, now, deps.knownPaths ? { knownPaths: await deps.knownPaths() } : {});
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
    async finishIssue(db: DB, issueId: number, now: number): Promise<void> {
      await markIssueSent(db, issueId, now);
      composers.delete(issueId);
    },
  };
}
