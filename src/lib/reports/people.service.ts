import { stringify } from 'csv-stringify/sync';
import type { DB } from '../db/database.ts';
import { fail, ok, type Outcome } from '../outcome.ts';
import { getSettings } from '../settings/settings.service.ts';
import { findSentIssues } from './reports.repository.ts';
import { countPeople, findIssueLink, findPeople, findPeoplePage, type PersonRow } from './people.repository.ts';
import { describePeopleRule, isPeopleFigure, PEOPLE_FIGURES, type PeopleRule } from './people.ts';

/** A rule checked against the database: the issue went out, the link is one of its own. */
export interface CheckedPeopleRule {
  rule: PeopleRule;
  issue: { id: number; subject: string; slug: string };
  /** “Clickers of “Winter guide”” */
  description: string;
}

export const PER_PERSON_OFF_MESSAGE =
  'Per-person tracking is off (Settings): opens, clicks and visits are counted per issue only, so no list of people is shown and none can be an audience.';

const positiveInteger = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/**
 * Checks a rule as it comes from a query string, a form or JSON: a known figure, an issue that
 * went out, and for clickers of one link a link of that issue. Each refusal is one sentence.
 */
export async function checkPeopleRule(
  db: DB,
  input: { issue: unknown; figure: unknown; link?: unknown },
): Promise<Outcome<CheckedPeopleRule>> {
  if (!isPeopleFigure(input.figure)) {
    const shown =
      typeof input.figure === 'string' && input.figure !== ''
        ? `Unknown figure “${input.figure.slice(0, 40)}”`
        : 'No figure named';
    return fail('invalid', `${shown}: choose one of ${PEOPLE_FIGURES.join(', ')}.`, { field: 'figure' });
  }
  const issueId = positiveInteger(input.issue);
  if (issueId === undefined)
    return fail('invalid', 'The issue must be an issue id (a whole number).', { field: 'issue' });
  const hasLink = input.link !== undefined && input.link !== null && input.link !== '';
  const linkId = hasLink ? positiveInteger(input.link) : undefined;
  if (hasLink && linkId === undefined)
    return fail('invalid', 'The link must be a link id (a whole number).', { field: 'link' });
  if (linkId !== undefined && input.figure !== 'clicked')
    return fail('invalid', 'A link goes only with the clickers figure (figure=clicked).', { field: 'link' });
  const [sent] = await findSentIssues(db, 1, [issueId]);
  if (!sent) {
    const exists = await db.selectFrom('issues').select('id').where('id', '=', issueId).executeTakeFirst();
    return exists
      ? fail(
          'conflict',
          'This issue has not gone out yet: nobody has opened, clicked or visited from it, so there are no people to list.',
          { field: 'issue' },
        )
      : fail('not-found', 'There is no such issue.', { field: 'issue' });
  }
  const rule: PeopleRule =
    linkId === undefined
      ? { issue: issueId, figure: input.figure }
      : { issue: issueId, figure: input.figure, link: linkId };
  let linkLabel: string | undefined;
  if (linkId !== undefined) {
    const link = await findIssueLink(db, issueId, linkId);
    if (!link)
      return fail('invalid', `Link ${linkId} is not a link of this issue: choose one from its report’s links table.`, {
        field: 'link',
      });
    linkLabel = link.label;
  }
  return ok({
    rule,
    issue: { id: sent.issueId, subject: sent.subject, slug: sent.slug },
    description: describePeopleRule(rule, linkLabel),
  });
}

export type PeoplePage =
  | { perPersonTracking: false }
  | {
      perPersonTracking: true;
      /** The report's figure: every delivery it counts. */
      total: number;
      /** Of those, deliveries whose subscriber was deleted since: counted, not listable. */
      deleted: number;
      people: PersonRow[];
      page: number;
      pages: number;
    };

export const PEOPLE_PAGE_SIZE = 50;

/** One page (1-based) of the people behind a checked rule, or nobody when per-person tracking is off. */
export async function peoplePage(
  db: DB,
  rule: PeopleRule,
  page: number,
  pageSize = PEOPLE_PAGE_SIZE,
): Promise<PeoplePage> {
  if (!(await getSettings(db)).personTracking) return { perPersonTracking: false };
  const counts = await countPeople(db, rule);
  const pages = Math.max(1, Math.ceil(counts.named / pageSize));
  const current = Math.min(Math.max(1, page), pages);
  const people = await findPeoplePage(db, rule, (current - 1) * pageSize, pageSize);
  return {
    perPersonTracking: true,
    total: counts.total,
    deleted: counts.total - counts.named,
    people,
    page: current,
    pages,
  };
}

export const PEOPLE_CSV_COLUMNS = [
  'email',
  'name',
  'status',
  'first_opened_at',
  'first_clicked_at',
  'first_visit_at',
] as const;
const CSV_CHUNK = 1000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The people behind a checked rule as CSV, a chunk at a time (see exportSubscribersCsv):
 * a UTF-8 BOM, the header, then the rows, with values a spreadsheet would run as a formula
 * escaped (csv-stringify's escape_formulas). Nothing but the header when per-person tracking
 * is off. Answers the number of people written.
 */
export async function exportPeopleCsv(
  db: DB,
  rule: PeopleRule,
  write: (text: string) => void | Promise<void>,
): Promise<number> {
  await write('\uFEFF' + stringify([[...PEOPLE_CSV_COLUMNS]]));
  if (!(await getSettings(db)).personTracking) return 0;
  let after = 0;
  let written = 0;
  for (;;) {
    const people = await findPeople(db, rule, after, CSV_CHUNK);
    if (people.length === 0) break;
    await write(
      stringify(
        people.map((p) => [p.email, p.name, p.status, iso(p.openedAt), iso(p.clickedAt), iso(p.visitedAt)]),
        { escape_formulas: true },
      ),
    );
    written += people.length;
    after = people.at(-1)!.deliveryId;
    if (people.length < CSV_CHUNK) break;
  }
  return written;
}
