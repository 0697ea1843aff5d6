import type { StatementPlan } from '../events/statement-plan.ts';
import type { CountDeltas } from '../counts/ledger.ts';
import { SITE } from '../counts/buckets.ts';
import { countView, MACHINE_VIEW_METRIC } from '../analytics/view-counts.ts';
import {
  agentDim,
  AGENT_METRIC,
  hasClickedLink,
  moveFirst,
  nullableNumber,
  OPEN_METRIC,
  readFirsts,
  recomputeOpenFirsts,
  SET_CLICKED,
  SET_FIRST_VISIT,
  withoutClickedLink,
} from './delivery-firsts.ts';
import { isMachineNetwork, OWNER_METRIC, type StoredSource } from './hit-source.ts';

/**
 * A delivery got its machine verdict: the stored hits of that machine (same network and, where
 * people browse from it too, the same agent family) that still count as a reader's become the
 * machine's — human opens become scanner opens, human clicks bot clicks, and the page views those
 * clicks led to (and the visits they started) machine activity. The delivery's first times, its
 * clicked links and every maintained count follow, in the same transaction.
 */
const EARLIEST_HUMAN_CLICK = `select min("at") as "at" from "clicks" where "delivery_id" = ? and "class" = 'human'`;
const HUMAN_CLICK_ON_LINK = `select 1 as "found" from "clicks" where "delivery_id" = ? and "link_id" = ? and "class" = 'human' limit 1`;
const EARLIEST_VISIT = 'select min("started_at") as "at" from "visits" where "delivery_id" = ?';
/**
 * "Known since" (issue 19) when it was one of the clicks taken back: the subscriber's earliest
 * click still a person's that named them (it set the reader cookie), or null — found through
 * their deliveries (clicks keep no per-person index).
 */
const readerKnownAgain = (times: number) =>
  `update "subscribers" set "reader_known_at" = (select min("c"."at") from "deliveries" as "d" join "clicks" as "c" on "c"."delivery_id" = "d"."id" where "d"."subscriber_id" = ? and "c"."subscriber_id" = ? and "c"."class" = 'human') where "id" = ? and "reader_known_at" in (${inList(times)})`;

interface HitRow {
  at: number | string;
  client: string | null;
  device: string | null;
}
type ClickRow = HitRow & { link_id: number | string; subscriber_id: number | string | null };

const inList = (n: number) => new Array(n).fill('?').join(', ');

/** `stored` says what the delivery had before (from its row): with no reader's open or click stored there is nothing to read. */
export function* relabelMachineHits(
  deliveryId: number,
  issueId: number,
  machine: StoredSource & { reason: string; owner: string },
  stored: { opens: boolean; clicks: boolean },
  deltas: CountDeltas,
): StatementPlan {
  const reason = `the machine caught on this message: ${machine.reason}`;
  const anyAgent = isMachineNetwork(machine.role);
  const match = `coalesce("asn", -1) = ? and "net" = ?${anyAgent ? '' : ' and "agent" = ?'}`;
  const source = anyAgent ? [machine.asn ?? -1, machine.role] : [machine.asn ?? -1, machine.role, machine.family];

  const opens = stored.opens
    ? ((yield {
        all: `select "at", "client", "device" from "opens" where "delivery_id" = ? and "class" = 'human' and ${match}`,
        params: [deliveryId, ...source],
      }) as HitRow[])
    : [];
  if (opens.length > 0) {
    yield {
      run: `update "opens" set "class" = 'scanner', "reason" = ? where "delivery_id" = ? and "class" = 'human' and ${match}`,
      params: [reason, deliveryId, ...source],
    };
    for (const o of opens) {
      deltas.at(issueId, OPEN_METRIC.human, Number(o.at), -1);
      deltas.at(issueId, OPEN_METRIC.scanner, Number(o.at), 1);
      deltas.add(issueId, AGENT_METRIC.open, agentDim('human', o), 0, -1);
      deltas.add(issueId, AGENT_METRIC.open, agentDim('scanner', o), 0, 1);
      deltas.add(issueId, OWNER_METRIC.open, machine.owner, 0);
    }
  }

  const clicks = stored.clicks
    ? ((yield {
        all: `select "at", "link_id", "client", "device", "subscriber_id" from "clicks" where "delivery_id" = ? and "class" = 'human' and ${match}`,
        params: [deliveryId, ...source],
      }) as ClickRow[])
    : [];
  if (clicks.length > 0)
    yield* relabelClicks(deliveryId, issueId, clicks, reason, match, source, machine.owner, deltas);
  if (opens.length > 0 || clicks.length > 0) yield* recomputeOpenFirsts(issueId, deliveryId, deltas);
}

function* relabelClicks(
  deliveryId: number,
  issueId: number,
  clicks: ClickRow[],
  reason: string,
  match: string,
  source: unknown[],
  owner: string,
  deltas: CountDeltas,
): StatementPlan {
  yield {
    run: `update "clicks" set "class" = 'bot', "reason" = ? where "delivery_id" = ? and "class" = 'human' and ${match}`,
    params: [reason, deliveryId, ...source],
  };
  // The reader cookie those clicks set was a machine's: who is known, and since when, follows.
  const named = clicks.filter((c) => c.subscriber_id !== null);
  if (named.length > 0) {
    const subscriberId = Number(named[0]!.subscriber_id);
    const times = [...new Set(named.map((c) => Number(c.at)))];
    yield { run: readerKnownAgain(times.length), params: [subscriberId, subscriberId, subscriberId, ...times] };
  }
  for (const c of clicks) {
    deltas.add(issueId, OWNER_METRIC.click, owner, 0);
    deltas.at(issueId, 'click.human', Number(c.at), -1);
    deltas.at(issueId, 'click.bot', Number(c.at), 1);
    deltas.add(issueId, 'link.human', String(c.link_id), 0, -1);
    deltas.add(issueId, 'link.bot', String(c.link_id), 0, 1);
    deltas.add(issueId, AGENT_METRIC.click, agentDim('human', c), 0, -1);
    deltas.add(issueId, AGENT_METRIC.click, agentDim('bot', c), 0, 1);
  }
  const before = yield* readFirsts(deliveryId);
  let links = before?.clicked_links ?? null;
  for (const linkId of new Set(clicks.map((c) => Number(c.link_id)))) {
    const still = yield { get: HUMAN_CLICK_ON_LINK, params: [deliveryId, linkId] };
    if (still !== undefined || !hasClickedLink(links, linkId)) continue;
    links = withoutClickedLink(links, linkId);
    deltas.add(issueId, 'link.clickers', String(linkId), 0, -1);
  }
  const earliest = (yield { get: EARLIEST_HUMAN_CLICK, params: [deliveryId] }) as
    { at: number | string | null } | undefined;
  const after = nullableNumber(earliest?.at);
  if (before && (before.first_clicked_at !== after || before.clicked_links !== links)) {
    yield { run: SET_CLICKED, params: [after, links, deliveryId] };
    moveFirst(deltas, issueId, 'first.click', before.first_clicked_at, after, before.arm);
  }
  yield* relabelViewsOfClicks(
    deliveryId,
    issueId,
    clicks.map((c) => Number(c.at)),
    reason,
    owner,
    deltas,
  );
}

/**
 * The page views that clicks of a delivery led to (the redirect's marker names the click) become
 * a machine's, and the visits they started are no visits: their counts go, the delivery's first
 * visit moves to its earliest remaining one.
 */
export function* relabelViewsOfClicks(
  deliveryId: number,
  issueId: number,
  clickTimes: number[],
  reason: string,
  owner: string,
  deltas: CountDeltas,
): StatementPlan {
  if (clickTimes.length === 0) return;
  const times = inList(clickTimes.length);
  const views = (yield {
    all: `select "id", "at", "path", "utm_campaign", "referrer_host", "issue_id" from "page_views" where "click_delivery_id" = ? and "click_at" in (${times}) and "machine" is null and "is_bot" = 0`,
    params: [deliveryId, ...clickTimes],
  }) as {
    id: number | string;
    at: number | string;
    path: string;
    utm_campaign: string | null;
    referrer_host: string | null;
    issue_id: number | string | null;
  }[];
  if (views.length > 0) {
    yield {
      run: `update "page_views" set "machine" = ? where "id" in (${inList(views.length)})`,
      params: [`through a click ${reason}`.slice(0, 300), ...views.map((v) => v.id)],
    };
    for (const v of views) {
      const at = Number(v.at);
      countView(
        deltas,
        { at, path: v.path, utm_campaign: v.utm_campaign, referrer_host: v.referrer_host },
        nullableNumber(v.issue_id),
        -1,
      );
      deltas.at(SITE, MACHINE_VIEW_METRIC, at);
      deltas.at(issueId, MACHINE_VIEW_METRIC, at);
      deltas.add(issueId, OWNER_METRIC.view, owner, 0);
    }
  }
  const visits = (yield {
    all: `select "id", "started_at", "issue_id", "is_later" from "visits" where "delivery_id" = ? and "click_at" in (${times})`,
    params: [deliveryId, ...clickTimes],
  }) as {
    id: number | string;
    started_at: number | string;
    issue_id: number | string | null;
    is_later: number | string;
  }[];
  if (visits.length === 0) return;
  yield { run: `delete from "visits" where "id" in (${inList(visits.length)})`, params: visits.map((v) => v.id) };
  const before = yield* readFirsts(deliveryId);
  for (const v of visits) {
    const startedAt = Number(v.started_at);
    deltas.atToTheMinute(SITE, 'visit', startedAt, -1);
    const visitIssue = nullableNumber(v.issue_id);
    if (visitIssue === null) continue;
    deltas.at(visitIssue, 'visit', startedAt, -1);
    if (Number(v.is_later) === 1) deltas.at(visitIssue, 'visit.later', startedAt, -1);
    if (Number(v.is_later) === 1 && before?.arm) deltas.add(visitIssue, 'arm.visit_later', before.arm, 0, -1);
  }
  const earliest = (yield { get: EARLIEST_VISIT, params: [deliveryId] }) as { at: number | string | null } | undefined;
  const after = nullableNumber(earliest?.at);
  if (before && before.first_visit_at !== after) {
    yield { run: SET_FIRST_VISIT, params: [after, deliveryId] };
    moveFirst(deltas, issueId, 'first.visit', before.first_visit_at, after, before.arm);
  }
}
