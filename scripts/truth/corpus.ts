/**
 * A labelled corpus of real agents' hits (issue 15's format): each case is one recipient's
 * message — the hits it got, with their timing, agent and address — and the right class of each
 * open and click, citing the public source it comes from.
 *
 *   {"cases":[{"name","source","events":[{"kind":"open"|"click","after_send_s":N,"ua":"…","ip":"…",
 *     "method":"GET"|"HEAD","link":"article"|"article2"|"article3"|"tel"|"honeypot"|"unsubscribe"}],
 *     "expect":{"opens":["human"|"proxy"|"apple_mpp"|"scanner",…],"clicks":["human"|"bot",…]}}]}
 */
export type OpenLabel = 'human' | 'proxy' | 'apple_mpp' | 'scanner';
export type ClickLabel = 'human' | 'bot';
export const OPEN_LABELS: readonly OpenLabel[] = ['human', 'proxy', 'apple_mpp', 'scanner'];
export const CLICK_LABELS: readonly ClickLabel[] = ['human', 'bot'];
export const LINKS = ['article', 'article2', 'article3', 'tel', 'honeypot', 'unsubscribe'] as const;
export type LinkName = (typeof LINKS)[number];
/** Links that land on a page of the site (a browser follows their redirect there). */
export const ARTICLE_LINKS: readonly LinkName[] = ['article', 'article2', 'article3'];

export interface CorpusEvent {
  kind: 'open' | 'click';
  after_send_s: number;
  ua: string;
  ip: string;
  method: 'GET' | 'HEAD';
  link?: LinkName;
}

export interface CorpusCase {
  name: string;
  source: string;
  events: CorpusEvent[];
  expect: { opens: OpenLabel[]; clicks: ClickLabel[] };
}

export interface Corpus {
  cases: CorpusCase[];
}

/** One event with its expected class: undefined for a hit that is right when not recorded (HEAD, the unsubscribe page). */
export interface LabelledEvent extends CorpusEvent {
  index: number;
  /** Recorded as an open or click row (a GET pixel, a GET on a tracked link). */
  recorded: boolean;
  expected: OpenLabel | ClickLabel | undefined;
}

export class CorpusError extends Error {}

const isRecordedClick = (e: CorpusEvent) => e.kind === 'click' && e.method === 'GET' && e.link !== 'unsubscribe';

/**
 * Each event with its expected class. `expect.clicks` may list HEAD and unsubscribe events or
 * not: when its length equals the number of all click events it maps by position over all of
 * them, when it equals the number without HEAD and unsubscribe it maps over those. HEAD opens
 * map by position over all opens the same way.
 */
export function labelEvents(c: CorpusCase): LabelledEvent[] {
  const opens = c.events.filter((e) => e.kind === 'open');
  const recordedOpens = opens.filter((e) => e.method === 'GET');
  const clicks = c.events.filter((e) => e.kind === 'click');
  const recordedClicks = clicks.filter(isRecordedClick);
  const openLabels = mapLabels(c, 'opens', opens, recordedOpens, c.expect.opens);
  const clickLabels = mapLabels(c, 'clicks', clicks, recordedClicks, c.expect.clicks);
  return c.events.map((e, index) => {
    const recorded = e.kind === 'open' ? e.method === 'GET' : isRecordedClick(e);
    const expected = (e.kind === 'open' ? openLabels : clickLabels).get(e);
    return { ...e, index, recorded, expected: recorded ? expected : undefined };
  });
}

function mapLabels<L>(
  c: CorpusCase,
  what: string,
  all: CorpusEvent[],
  recorded: CorpusEvent[],
  labels: L[],
): Map<CorpusEvent, L> {
  const map = new Map<CorpusEvent, L>();
  const over = labels.length === all.length ? all : labels.length === recorded.length ? recorded : undefined;
  if (!over)
    throw new CorpusError(
      `case “${c.name}”: expect.${what} has ${labels.length} labels for ${all.length} ${what} (${recorded.length} recorded): it must list one per ${what.slice(0, -1)} or one per recorded ${what.slice(0, -1)}`,
    );
  over.forEach((e, i) => map.set(e, labels[i]!));
  return map;
}

const fail = (where: string, message: string): never => {
  throw new CorpusError(`${where}: ${message}`);
};

/** The corpus, checked: every field of every case, with a message naming the case and the field. */
export function parseCorpus(text: string): Corpus {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CorpusError(`the corpus is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof data !== 'object' || data === null || !Array.isArray((data as { cases?: unknown }).cases))
    fail('the corpus', 'expected an object with a "cases" array');
  const cases = (data as { cases: unknown[] }).cases;
  if (cases.length === 0) fail('the corpus', 'has no cases');
  const names = new Set<string>();
  return {
    cases: cases.map((raw, i) => {
      const where = `case ${i + 1}`;
      if (typeof raw !== 'object' || raw === null) fail(where, 'is not an object');
      const c = raw as Record<string, unknown>;
      if (typeof c.name !== 'string' || c.name.trim() === '') fail(where, '"name" must be a non-empty string');
      const named = `${where} (“${c.name as string}”)`;
      if (names.has(c.name as string)) fail(named, 'the name is used by an earlier case');
      names.add(c.name as string);
      if (typeof c.source !== 'string' || c.source.trim() === '')
        fail(named, '"source" must cite where the behaviour is documented');
      if (!Array.isArray(c.events) || c.events.length === 0) fail(named, '"events" must be a non-empty array');
      const events = (c.events as unknown[]).map((e, j) => parseEvent(e, `${named}, event ${j + 1}`));
      const expect = c.expect as { opens?: unknown; clicks?: unknown } | undefined;
      if (typeof expect !== 'object' || expect === null)
        fail(named, '"expect" must be an object with "opens" and "clicks"');
      const opens = labelList(expect!.opens ?? [], OPEN_LABELS, `${named}, expect.opens`);
      const clicks = labelList(expect!.clicks ?? [], CLICK_LABELS, `${named}, expect.clicks`);
      const parsed: CorpusCase = {
        name: c.name as string,
        source: c.source as string,
        events,
        expect: { opens, clicks },
      };
      labelEvents(parsed); // the labels must map onto the events
      return parsed;
    }),
  };
}

function labelList<L extends string>(value: unknown, allowed: readonly L[], where: string): L[] {
  if (!Array.isArray(value)) fail(where, 'must be an array');
  return (value as unknown[]).map((v, i) =>
    allowed.includes(v as L) ? (v as L) : fail(`${where}[${i}]`, `“${String(v)}” is not one of ${allowed.join(', ')}`),
  );
}

function parseEvent(raw: unknown, where: string): CorpusEvent {
  if (typeof raw !== 'object' || raw === null) fail(where, 'is not an object');
  const e = raw as Record<string, unknown>;
  if (e.kind !== 'open' && e.kind !== 'click') fail(where, '"kind" must be "open" or "click"');
  if (
    typeof e.after_send_s !== 'number' ||
    !Number.isFinite(e.after_send_s) ||
    e.after_send_s < 0 ||
    e.after_send_s > 90 * 86_400
  )
    fail(where, '"after_send_s" must be a number of seconds from 0 to 90 days');
  if (typeof e.ua !== 'string') fail(where, '"ua" must be a string ("" for no user agent)');
  if (typeof e.ip !== 'string' || e.ip.length > 100) fail(where, '"ip" must be a string');
  const method = e.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') fail(where, '"method" must be "GET" or "HEAD"');
  if (e.kind === 'click' && !LINKS.includes(e.link as LinkName))
    fail(where, `a click's "link" must be one of ${LINKS.join(', ')}`);
  return {
    kind: e.kind as 'open' | 'click',
    after_send_s: e.after_send_s as number,
    ua: e.ua as string,
    ip: e.ip as string,
    method: method as 'GET' | 'HEAD',
    ...(e.kind === 'click' ? { link: e.link as LinkName } : {}),
  };
}

/** What the labels say the marketer's figures are. */
export interface TrueFigures {
  /** Deliveries opened by a person (a human or image-proxy open, or a human click). */
  humanOpeners: number;
  /** Deliveries with a human click. */
  humanClickers: number;
  /** Deliveries whose reader landed on the site through a human click on an article link. */
  attributedVisitors: number;
}

export function trueFigures(corpus: Corpus): TrueFigures {
  let humanOpeners = 0;
  let humanClickers = 0;
  let attributedVisitors = 0;
  for (const c of corpus.cases) {
    const events = labelEvents(c);
    const humanClick = events.some((e) => e.kind === 'click' && e.expected === 'human');
    if (humanClick || events.some((e) => e.kind === 'open' && (e.expected === 'human' || e.expected === 'proxy')))
      humanOpeners++;
    if (humanClick) humanClickers++;
    if (events.some((e) => e.kind === 'click' && e.expected === 'human' && ARTICLE_LINKS.includes(e.link!)))
      attributedVisitors++;
  }
  return { humanOpeners, humanClickers, attributedVisitors };
}
