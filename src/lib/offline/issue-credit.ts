import type { DB } from '../db/database.ts';
import { isSlug } from '../issues/issue.ts';
import { findIssueBySlug } from '../issues/issues.repository.ts';

/**
 * Crediting offline events to newsletter issues.
 *
 * - A CSV row may name an issue by its slug: `findIssueIdsBySlugs` looks them up in the issues
 *   (src/lib/issues); an unknown slug rejects the row.
 * - A webhook call to an issue's "tracked phone number" should be credited to that issue. The
 *   issues table has no such number yet (it was not on main when offline events were built), so
 *   `creditIssueByNumber` credits no call for now and answers null. Each webhook call keeps its
 *   `to_number`, so calls can be credited afterwards. To finish it: a migration adding a nullable
 *   `tracked_phone` to `issues` (normalised like `normalizePhone` in call-webhook.ts), the field in
 *   the issue form and footer, and one query here.
 */

/** The issue whose tracked phone number is `toNumber` (normalised, e.g. "+441632960001"); null when none. */
export async function creditIssueByNumber(_db: DB, toNumber: string | null): Promise<number | null> {
  if (!toNumber) return null;
  return null; // No issue has a tracked phone number yet (see above).
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
