/** Newsletter topics a subscriber can choose; ids are stored, labels shown. */
export const TOPICS = [
  { id: 'guides', label: 'Widget guides and repair tips' },
  { id: 'offers', label: 'Offers and workshop evenings' },
  { id: 'store-news', label: 'Store news' },
] as const;

export type TopicId = (typeof TOPICS)[number]['id'];

const known = new Set<string>(TOPICS.map((t) => t.id));

export function isTopic(value: string): value is TopicId {
  return known.has(value);
}

/** Known topics from untrusted input, deduplicated; unknown ones are reported, not stored. */
export function parseTopics(values: readonly string[]): { topics: TopicId[]; unknown: string[] } {
  const topics = new Set<TopicId>();
  const unknown: string[] = [];
  for (const raw of values) {
    const v = raw.trim().toLowerCase();
    if (v === '') continue;
    if (isTopic(v)) topics.add(v);
    else unknown.push(raw.slice(0, 40));
  }
  return { topics: [...topics], unknown };
}

export const CONSENT_TEXT_VERSION = '2026-11-26';
export const CONSENT_TEXT =
  'I agree to receive the Frobozz Electric newsletter by email. I can unsubscribe at any time with one click from any issue.';
