/**
 * The people behind a figure of an issue report: which recipients (deliveries of the issue)
 * a figure counts, as a rule that names the issue, the figure and, for clickers, one link.
 * The same rule lists them in the admin, exports them as CSV and, stored with a send, is the
 * audience of a next issue ("everyone who clicked the winter guide").
 */

export const PEOPLE_FIGURES = ['opened', 'clicked', 'visited', 'later', 'not-opened'] as const;
export type PeopleFigure = (typeof PEOPLE_FIGURES)[number];

/** One figure of one issue; `link` only with `clicked` (the clickers of that link). */
export interface PeopleRule {
  issue: number;
  figure: PeopleFigure;
  link?: number;
}

export const PEOPLE_FIGURE_TEXT: Record<PeopleFigure, { label: string; definition: string }> = {
  opened: {
    label: 'Likely-human openers',
    definition:
      'Recipients with a human or image-proxy open, or a human click (the report’s likely-human unique opens).',
  },
  clicked: { label: 'Clickers', definition: 'Recipients with at least one human click (the report’s unique clicks).' },
  visited: {
    label: 'Recipients who visited',
    definition: 'Recipients whose own human click, or the attribution cookie it set, started a visit.',
  },
  later: {
    label: 'Recipients who came back later',
    definition:
      'Recipients with a visit from the issue that started after their first landing from it: the people behind the later visits (a forwarded link’s later visits have no recipient).',
  },
  'not-opened': {
    label: 'Delivered, no human open or click',
    definition:
      'Delivered messages with no likely-human open and no human click: machines’ opens (Apple’s prefetch, scanners) do not count as opened.',
  },
};

export function isPeopleFigure(value: unknown): value is PeopleFigure {
  return typeof value === 'string' && (PEOPLE_FIGURES as readonly string[]).includes(value);
}

/** The words for a rule, with the link's label when it has one: “Clickers of “Winter guide””. */
export function describePeopleRule(rule: PeopleRule, linkLabel?: string | null): string {
  const label = PEOPLE_FIGURE_TEXT[rule.figure].label;
  return rule.link !== undefined ? `${label} of “${linkLabel || `link ${rule.link}`}”` : label;
}

/** The query string of a rule's list: `figure=clicked&link=5`. */
export function peopleQuery(rule: Pick<PeopleRule, 'figure' | 'link'>): string {
  return rule.link === undefined ? `figure=${rule.figure}` : `figure=${rule.figure}&link=${rule.link}`;
}
