import type { DB } from '../db/database.ts';
import { isSlug } from '../issues/issue.ts';
import { findIssueBySlug } from '../issues/issues.repository.ts';

/**
 * Crediting offline events to newsletter issues.
 *
 * - A CSV row may name an issue by its slug: `findIssueIdsBySlugs` looks them up in the issues
 *   (src/lib/issues); an unknown slug rejects the row.
 * - A webhook call to an issue's tracked phone number (set in the issue form, shown in its
 *   footer) is credited to that issue by `creditedIssue`: the called number's keyed hash
 *   (`offline_events.to_hash`) equals the one stored on the issue's snapshot when it started going
 *   out (`issue_snapshots.tracked_phone_hash`, the same function: src/lib/phone/phone-hash.ts), so
 *   the called number is compared without being stored. Only an issue that had started going out
 *   by the time of the call counts: until then nobody had the number from it. Calls that match no
 *   issue keep their `to_hash` all the same.
 */

/**
 * The issue a call at `at` is credited to, of the issues whose tracked number hashes to the
 * called number's (findIssuesByTrackedPhoneHash: latest first): the one that most recently
 * started going out at or before the call. A number reused by a later issue credits calls to the
 * earlier one until the later one goes out. Null when none.
 */
export function creditedIssue(issues: readonly { id: number; created_at: number }[], at: number): number | null {
  return issues.find((issue) => issue.created_at <= at)?.id ?? null;
}

/** Issue ids by slug, for the slugs that name an issue (one look-up per distinct slug: a file names a handful). */
export async function findIssueIdsBySlugs(db: DB, slugs: Iterable<string>): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const slug of new Set(slugs)) {
    const issue = isSlug(slug) ? await findIssueBySlug(db, slug) : undefined;
    if (issue) found.set(slug, Number(issue.id));
  }
  return found;
}

/** What an issue slug looks like (the issues' own rule). */
export const isIssueSlug = isSlug;
