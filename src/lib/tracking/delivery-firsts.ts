import type { ClickClass, OpenClass } from '../db/schema.ts';
import type { CountDeltas } from '../counts/ledger.ts';
import type { ArmMetric, PlainMetric, TotalByDimMetric } from '../counts/metrics.ts';
import type { Step } from '../events/statement-plan.ts';

/**
 * A delivery's first-event times and the maintained unique counts that follow them
 * ("first.open", "first.open_human", "first.click", "first.visit" in the bucket of the first
 * time): when a first time moves, its count moves from the old bucket to the new one. Shared by
 * the hit writer, the page-view writer and the tests' row inserters (test/helpers/event-rows.ts).
 */
export interface Firsts {
  first_any_open_at: number | null;
  first_opened_at: number | null;
  first_clicked_at: number | null;
  first_visit_at: number | null;
  clicked_links: string | null;
  /** The delivery's experiment arm (issue 19), read with its first times; absent where a row is read without it. */
  arm?: string | null;
}

/** A deliveries row's first times as numbers (PostgreSQL answers bigint columns as strings). */
export type FirstsRow = Record<Exclude<keyof Firsts, 'clicked_links' | 'arm'>, number | bigint | string | null> & {
  clicked_links: string | null;
  arm?: string | null;
};

export const nullableNumber = (v: number | bigint | string | null | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

export function firstsOf(row: FirstsRow): Firsts {
  return {
    first_any_open_at: nullableNumber(row.first_any_open_at),
    first_opened_at: nullableNumber(row.first_opened_at),
    first_clicked_at: nullableNumber(row.first_clicked_at),
    first_visit_at: nullableNumber(row.first_visit_at),
    clicked_links: row.clicked_links ?? null,
    arm: row.arm ?? null,
  };
}

export const DELIVERY_FIRSTS =
  'select "first_any_open_at", "first_opened_at", "first_clicked_at", "first_visit_at", "clicked_links", "arm" from "deliveries" where "id" = ?';
export const SET_FIRST_OPENS = 'update "deliveries" set "first_any_open_at" = ?, "first_opened_at" = ? where "id" = ?';
export const SET_CLICKED = 'update "deliveries" set "first_clicked_at" = ?, "clicked_links" = ? where "id" = ?';
/** Opened (any, and likely human): the earliest open of the class, or human click. */
export const EARLIEST_ANY_OPEN = `select min("at") as "at" from (select "at" from "opens" where "delivery_id" = ? union all select "at" from "clicks" where "delivery_id" = ? and "class" = 'human') as "t"`;
export const EARLIEST_HUMAN_OPEN = `select min("at") as "at" from (select "at" from "opens" where "delivery_id" = ? and "class" in ('human', 'proxy') union all select "at" from "clicks" where "delivery_id" = ? and "class" = 'human') as "t"`;

/**
 * After hits were re-labelled: the delivery's opened times from its stored rows (a human click
 * counts as opened), and the unique counts moved with them.
 */
export function* recomputeOpenFirsts(
  issueId: number,
  deliveryId: number,
  deltas: CountDeltas,
): Generator<Step, void, unknown> {
  const before = yield* readFirsts(deliveryId);
  if (!before) return;
  const any = nullableNumber(
    ((yield { get: EARLIEST_ANY_OPEN, params: [deliveryId, deliveryId] }) as { at: number | string | null } | undefined)
      ?.at,
  );
  const human = nullableNumber(
    (
      (yield { get: EARLIEST_HUMAN_OPEN, params: [deliveryId, deliveryId] }) as
        { at: number | string | null } | undefined
    )?.at,
  );
  if (before.first_any_open_at === any && before.first_opened_at === human) return;
  yield { run: SET_FIRST_OPENS, params: [any, human, deliveryId] };
  moveFirst(deltas, issueId, 'first.open', before.first_any_open_at, any, before.arm);
  moveFirst(deltas, issueId, 'first.open_human', before.first_opened_at, human, before.arm);
}
export const SET_FIRST_VISIT = 'update "deliveries" set "first_visit_at" = ? where "id" = ?';

export function* readFirsts(deliveryId: number): Generator<Step, Firsts | undefined, unknown> {
  const row = (yield { get: DELIVERY_FIRSTS, params: [deliveryId] }) as FirstsRow | undefined;
  return row && firstsOf(row);
}

/** The per-arm copy of each first-time count (issue 19). */
const ARM_FIRST: Partial<Record<PlainMetric, ArmMetric>> = {
  'first.open_human': 'arm.open_human',
  'first.click': 'arm.click',
  'first.visit': 'arm.visit',
};

/** A first time moved from `from` to `to` (null: none): its count moves, and its arm's count when the delivery is in an experiment arm. */
export function moveFirst(
  deltas: CountDeltas,
  issueId: number,
  metric: PlainMetric,
  from: number | null,
  to: number | null,
  arm: string | null = null,
): void {
  if (from === to) return;
  if (from !== null) deltas.at(issueId, metric, from, -1);
  if (to !== null) deltas.at(issueId, metric, to, 1);
  const armMetric = arm === null ? undefined : ARM_FIRST[metric];
  if (armMetric === undefined) return;
  if (from !== null) deltas.armAt(issueId, armMetric, arm!, from, -1);
  if (to !== null) deltas.armAt(issueId, armMetric, arm!, to, 1);
}

const earlier = (current: number | null, at: number): number => (current === null || at < current ? at : current);

export const isHumanOpen = (c: OpenClass): boolean => c === 'human' || c === 'proxy';

/** `deliveries.clicked_links` (",12,15,"): the links its reader clicked, for unique clickers per link. */
export const hasClickedLink = (list: string | null, linkId: number): boolean => list?.includes(`,${linkId},`) ?? false;
const withClickedLink = (list: string | null, linkId: number): string => `${list ?? ','}${linkId},`;
export function withoutClickedLink(list: string | null, linkId: number): string | null {
  const rest = (list ?? '').replace(`,${linkId},`, ',');
  return rest === ',' || rest === '' ? null : rest;
}

// The count names per class, made once: a name built per hit is a new string that every Map lookup must hash.
export const OPEN_METRIC: Record<OpenClass, PlainMetric> = {
  human: 'open.human',
  proxy: 'open.proxy',
  apple_mpp: 'open.apple_mpp',
  scanner: 'open.scanner',
};
export const CLICK_METRIC: Record<ClickClass, PlainMetric> = { human: 'click.human', bot: 'click.bot' };
export const LINK_METRIC: Record<ClickClass, TotalByDimMetric> = { human: 'link.human', bot: 'link.bot' };

/** An open's effect on its delivery's first open times (kept current in `firsts`) and on the unique counts; true when they moved. */
export function moveOpenFirsts(
  issueId: number,
  at: number,
  cls: OpenClass,
  firsts: Firsts,
  deltas: CountDeltas,
): boolean {
  const anyOpen = earlier(firsts.first_any_open_at, at);
  const humanOpen = isHumanOpen(cls) ? earlier(firsts.first_opened_at, at) : firsts.first_opened_at;
  if (anyOpen === firsts.first_any_open_at && humanOpen === firsts.first_opened_at) return false;
  moveFirst(deltas, issueId, 'first.open', firsts.first_any_open_at, anyOpen, firsts.arm);
  moveFirst(deltas, issueId, 'first.open_human', firsts.first_opened_at, humanOpen, firsts.arm);
  firsts.first_any_open_at = anyOpen;
  firsts.first_opened_at = humanOpen;
  return true;
}

/**
 * A human click's effect on its delivery's first click time and clicked links (kept current in
 * `firsts`), and on the unique counts; true when they moved. A delivery with a human click
 * counts as opened (likely human) from then, images or not: no rate passes 100 %.
 */
export function moveClickFirsts(
  issueId: number,
  linkId: number,
  at: number,
  firsts: Firsts,
  deltas: CountDeltas,
): boolean {
  const opened = moveOpenFirsts(issueId, at, 'human', firsts, deltas);
  const firstClick = earlier(firsts.first_clicked_at, at);
  const newClicker = !hasClickedLink(firsts.clicked_links, linkId);
  if (firstClick === firsts.first_clicked_at && !newClicker) return opened;
  moveFirst(deltas, issueId, 'first.click', firsts.first_clicked_at, firstClick, firsts.arm);
  if (newClicker) {
    deltas.add(issueId, 'link.clickers', String(linkId), 0);
    firsts.clicked_links = withClickedLink(firsts.clicked_links, linkId);
  }
  firsts.first_clicked_at = firstClick;
  return true;
}

/**
 * Opens and clicks by class, mail program and device (issue 17, item 20): one total per issue and
 * "<class>|<client>|<device>" (`agentDim`), moved with the class when a verdict re-labels a hit.
 */
export const AGENT_METRIC = { open: 'agent.open', click: 'agent.click' } as const satisfies Record<
  string,
  TotalByDimMetric
>;

/** A hit's mail program and device labels as its row keeps them (null on rows stored before they were). */
export interface HitAgentLabels {
  client?: string | null;
  device?: string | null;
}

export const agentDim = (cls: string, labels: HitAgentLabels): string =>
  `${cls}|${labels.client ?? 'unknown'}|${labels.device ?? 'unknown'}`;

export function countOpen(
  issueId: number,
  at: number,
  cls: OpenClass,
  deltas: CountDeltas,
  labels: HitAgentLabels = {},
): void {
  deltas.at(issueId, OPEN_METRIC[cls], at);
  deltas.add(issueId, AGENT_METRIC.open, agentDim(cls, labels), 0);
}

export function countClick(
  issueId: number,
  linkId: number,
  at: number,
  cls: ClickClass,
  deltas: CountDeltas,
  labels: HitAgentLabels = {},
): void {
  deltas.at(issueId, CLICK_METRIC[cls], at);
  deltas.add(issueId, LINK_METRIC[cls], String(linkId), 0);
  deltas.add(issueId, AGENT_METRIC.click, agentDim(cls, labels), 0);
}
