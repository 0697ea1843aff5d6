import type { IssueLinkKind } from '../lib/db/schema.ts';
import { createIssue } from '../lib/issues/issues.service.ts';
import { findLinksByIssue } from '../lib/issues/issues.repository.ts';
import { requestSend, sendOfIssue } from '../lib/sending/send.service.ts';
import { SendWorker } from '../lib/sending/worker.ts';
import { countDeliveriesByStatus, findSentDeliveries } from '../lib/sending/deliveries.repository.ts';
import { MailSendError, type SentMail } from '../lib/mail/transport.ts';
import type { OutgoingMail } from '../lib/mail/message.ts';
import { unsubscribe } from '../lib/subscribers/subscribers.service.ts';
import { findArm, findExperiment, variantsPending } from '../lib/experiments/experiments.repository.ts';
import { isOpenAt } from './opening-hours.ts';
import type { IssueScript } from './issue-scripts.ts';
import { addressFor, AGENTS, appleMailAgent, hasApplePrivacy, type Person } from './people.ts';
import type { Random } from './random.ts';
import { awake, DAY_MS, daytimeOn, HOUR_MS, MINUTE_MS, readingDelay } from './rhythms.ts';
import type { Browser, DemoHistory } from './history.ts';

// The newsletter's part of the history: each issue written, scheduled, sent, and read (or not).

export interface PlannedIssue {
  script: IssueScript;
  /** 1, 2, … in sending order. */
  number: number;
  sendAt: number;
  /** The experiment the marketer sets on the send (issue 19), in the API's shape; dropped if the audience is too small for it. */
  experiment?: DemoExperiment;
  /** How much more (or less) readers take to each variant's subject than to an ordinary one (A/B tests; 1 when absent). */
  variantAppeal?: Record<string, number>;
  /** The random stream its readers' draws follow. */
  readers?: Random;
  /** Known once the marketer has created it. */
  id?: number;
  slug?: string;
}

export type DemoExperiment =
  { holdout_share: number } | { variants: { subject: string }[]; test_share: number; wait_ms: number };

/** The wait of an A/B test, or undefined (no test, or a holdout only). */
export const testWaitOf = (issue: PlannedIssue): number | undefined =>
  issue.experiment && 'variants' in issue.experiment ? issue.experiment.wait_ms : undefined;

export interface SentIssue {
  id: number;
  subject: string;
  sentAt: number;
  sent: number;
  bounced: number;
}

interface IssueLink {
  id: number;
  url: string;
  kind: IssueLinkKind;
  position: number;
}

/** The send worker's clock advances this much per accepted message: a 5,000-recipient send takes a minute or so. */
const MS_PER_MESSAGE = 12;

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** Mail Privacy Protection fetches come from Apple's 17.0.0.0/8. */
const appleProxyAddress = (random: Random) => `17.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;

const digitsOf = (phone: string) => phone.replace(/\D/g, '');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The marketer writes the issue three days ahead and schedules it the evening before. */
export function planComposing(h: DemoHistory, issue: PlannedIssue): void {
  const composeAt = issue.sendAt - 3 * DAY_MS + 2 * HOUR_MS;
  const scheduleAt = issue.sendAt - 15 * HOUR_MS;
  const hooks = h.app.issueSending;
  h.replay.add({
    at: composeAt,
    lane: 'marketer',
    run: async (at) => {
      const { script } = issue;
      const input = {
        subject: script.subject,
        preheader: script.preheader,
        body_markdown: script.bodyMarkdown,
        featured_articles: script.featured,
        tracked_phone: script.trackedPhone,
      };
      const created = await createIssue(h.app.db, input, { articles: h.catalog, createdBy: h.staff.marketer }, at);
      if (!created.ok)
        throw new Error(
          `demo issue “${script.subject}” not created: ${created.message} ${JSON.stringify(created.fields ?? {})}`,
        );
      issue.id = created.value.id;
      issue.slug = created.value.slug;
    },
  });
  h.replay.add({
    at: scheduleAt,
    lane: 'marketer',
    run: async (at) => {
      const audience = issue.script.topics ? { topics: issue.script.topics } : {};
      const request = { issueId: issue.id!, audience, at: issue.sendAt, createdBy: h.staff.marketer };
      let scheduled = await requestSend(
        h.app.db,
        hooks,
        issue.experiment ? { ...request, experiment: issue.experiment } : request,
        at,
      );
      // A list too small for the holdout's minimum: the issue goes out without it.
      if (!scheduled.ok && issue.experiment) {
        issue.experiment = undefined;
        scheduled = await requestSend(h.app.db, hooks, request, at);
      }
      // The demo's own seed for the random split (the audience freezes at the send): the same history every run.
      if (scheduled.ok && issue.experiment)
        await h.app.db
          .updateTable('experiments')
          .set({ seed: `demo-${h.scale.seed}-${issue.number}` })
          .where('issue_id', '=', issue.id!)
          .execute();
      if (!scheduled.ok) throw new Error(`demo issue “${issue.script.subject}” not scheduled: ${scheduled.message}`);
    },
  });
}

/**
 * Sends a scheduled issue with the real send worker — claims, re-checks, personalisation,
 * group-committed outcomes, bounces suppressed — on a clock that starts at the send time,
 * to a mailer that accepts every message without delivering it (addresses that no longer
 * exist are refused with a 550, as a server would).
 */
export async function sendIssue(
  h: DemoHistory,
  issue: PlannedIssue,
  options: { from?: number; variantsOnly?: boolean } = {},
): Promise<SentIssue> {
  const from = options.from ?? issue.sendAt;
  const dead = new Set(h.cast.people.filter((p) => p.dead).map((p) => p.email));
  const mailer = {
    async send(mail: OutgoingMail): Promise<SentMail> {
      const address = typeof mail.to === 'string' ? (/<([^>]+)>\s*$/.exec(mail.to)?.[1] ?? mail.to) : mail.to.address;
      if (dead.has(address)) {
        throw new MailSendError('Recipient address rejected', {
          code: 'EENVELOPE',
          command: 'RCPT TO',
          responseCode: 550,
          response: `550 5.1.1 <${address}>: Recipient address rejected: User unknown in virtual mailbox table`,
        });
      }
      return {
        messageId: mail.headers?.['Message-ID'] ?? '',
        accepted: [address],
        rejected: [],
        response: '250 2.0.0 Ok: queued (demo: not delivered)',
      };
    },
  };
  let worker: SendWorker | undefined = undefined;
  worker = new SendWorker({
    db: h.app.db,
    mailer,
    hooks: h.app.issueSending,
    // Nothing waits on a network here: a wide pool makes claims of many rows at once.
    concurrency: 32,
    leaseMs: 6 * HOUR_MS,
    pollMs: 5,
    retryBaseMs: 60_000,
    maxAttempts: 5,
    pauseAfterFailures: 1_000_000,
    log: (line) => {
      if (/fail|paus/i.test(line)) h.log(line);
    },
    clock: () => from + (worker?.sent ?? 0) * MS_PER_MESSAGE,
    random: () => 0.5,
  });
  await worker.start();
  try {
    for (let waited = 0; ; waited += 5) {
      const send = await sendOfIssue(h.app.db, issue.id!);
      if (send?.state === 'finished') break;
      // An A/B test's variants all settled (the audience frozen, none queued or being sent): the rest wait for the decision.
      if (
        options.variantsOnly &&
        send?.state === 'running' &&
        (await findArm(h.app.db, issue.id!, 'A'))?.size != null &&
        !(await variantsPending(h.app.db, issue.id!))
      )
        break;
      if (send?.state === 'paused' || send?.state === 'cancelled')
        throw new Error(`demo send of “${issue.script.subject}” ${send.state}: ${send.paused_reason ?? ''}`);
      if (waited > 300_000) throw new Error(`demo send of “${issue.script.subject}” did not finish in 5 minutes`);
      await sleep(5);
    }
  } finally {
    await worker.stop();
  }
  const counts = await countDeliveriesByStatus(h.app.db, issue.id!);
  return {
    id: issue.id!,
    subject: issue.script.subject,
    sentAt: issue.sendAt,
    sent: counts.sent,
    bounced: counts.bounced,
  };
}

/** What readers did with a sent issue: opens, clicks, visits, later visits, calls from its phone link, signups, unsubscribes. */
export async function planReading(
  h: DemoHistory,
  issue: PlannedIssue,
  part: 'all' | 'variants' | 'rest' = 'all',
): Promise<void> {
  // The variants' readers of an A/B test are planned before the decision, the rest's after it, on one stream.
  const random = (issue.readers ??= h.random(`issue:${issue.number}`));
  const arms = await armsOf(h, issue);
  const links: IssueLink[] = (await findLinksByIssue(h.app.db, issue.id!)).map((l) => ({
    id: Number(l.id),
    url: l.url,
    kind: l.kind,
    position: l.position,
  }));
  const received = (await findSentDeliveries(h.app.db, issue.id!))
    .map((d) => ({ ...d, person: d.subscriberId === null ? undefined : h.people.get(d.subscriberId) }))
    .filter((d): d is typeof d & { person: Person } => d.person !== undefined);
  const deliveries = received
    .filter((d) => part === 'all' || (part === 'rest') === (arms.of.get(d.id) === 'rest'))
    .sort((a, b) => a.person.index - b.person.index);
  for (const { id: deliveryId, sentAt, person } of deliveries) {
    // The subject they got: their variant's, the winner's for the rest.
    const arm = arms.of.get(deliveryId);
    const appeal =
      issue.script.appeal * (issue.variantAppeal?.[arm === 'rest' ? (arms.winner ?? '') : (arm ?? '')] ?? 1);
    const lane = `p:${person.index}`;
    if (person.client === 'scanned') planScanner(h, person, deliveryId, sentAt, links, random);
    if (person.client === 'apple' && random.chance(0.97) && hasApplePrivacy(person)) {
      const fetched = random.logNormal(80_000, 0.7);
      h.open(
        lane,
        sentAt + (fetched >= 15_000 && fetched <= 9 * MINUTE_MS ? fetched : random.between(15_000, 4 * MINUTE_MS)),
        deliveryId,
        AGENTS.applePrefetch,
        appleProxyAddress(random),
      );
    }
    if (!random.chance(Math.min(0.95, person.readiness * appeal))) continue;
    const readAt = awake(sentAt + readingDelay(random), h.timeZone, random);
    planPixel(h, person, lane, deliveryId, readAt, random);
    if (random.chance(person.client === 'gmail' || person.client === 'yahoo' ? 0.12 : 0.25))
      planPixel(h, person, lane, deliveryId, readAt + random.logNormal(5 * HOUR_MS, 0.9), random);
    if (random.chance(Math.min(0.7, 0.11 * person.clickiness * appeal ** 1.4)))
      planClicks(h, issue, person, deliveryId, readAt, links, random);
    if (random.chance(0.0035 / Math.sqrt(appeal))) {
      const at = readAt + random.between(1, 8) * MINUTE_MS;
      h.replay.add({
        at,
        lane,
        run: async (at) => {
          if (
            (await unsubscribe(h.app.db, person.subscriberId!, { method: 'one-click', issueId: issue.id! }, at)) ===
            'unsubscribed'
          )
            h.counts.unsubscribes++;
        },
      });
    }
  }
  // Forwarded once everyone has it: as many as all its recipients give.
  if (part !== 'variants') planForwards(h, issue, received.length, links, random);
}

/** Each delivery's arm (none without an experiment) and the A/B test's winner once decided. */
async function armsOf(h: DemoHistory, issue: PlannedIssue): Promise<{ of: Map<number, string>; winner?: string }> {
  if (!issue.experiment) return { of: new Map() };
  const rows = await h.app.db
    .selectFrom('deliveries')
    .select(['id', 'arm'])
    .where('issue_id', '=', issue.id!)
    .where('arm', 'is not', null)
    .execute();
  const winner = (await findExperiment(h.app.db, issue.id!))?.winner_arm ?? undefined;
  return { of: new Map(rows.map((r) => [Number(r.id), r.arm!])), winner };
}

/** The pixel as the reader's mail client loads it (Apple's proxy again, Gmail's or Yahoo's proxy, the client itself, or not at all). */
function planPixel(h: DemoHistory, person: Person, lane: string, deliveryId: number, at: number, random: Random): void {
  if (person.client === 'apple') {
    if (!hasApplePrivacy(person)) h.open(lane, at, deliveryId, appleMailAgent(person), person.homeIp);
    else if (random.chance(0.35)) h.open(lane, at, deliveryId, AGENTS.applePrefetch, appleProxyAddress(random));
  } else if (person.client === 'gmail')
    h.open(lane, at, deliveryId, AGENTS.gmailProxy, `66.249.${random.int(80, 95)}.${random.int(1, 254)}`);
  else if (person.client === 'yahoo')
    h.open(lane, at, deliveryId, AGENTS.yahooProxy, `98.136.${random.int(0, 255)}.${random.int(1, 254)}`);
  else if (person.client !== 'blocked') h.open(lane, at, deliveryId, person.mailAgent, person.homeIp);
}

/** A link scanner in front of a company mailbox: it fetches the pixel and follows every link, honeypot included, within a second of arrival. */
function planScanner(
  h: DemoHistory,
  person: Person,
  deliveryId: number,
  sentAt: number,
  links: IssueLink[],
  random: Random,
): void {
  const lane = `p:${person.index}`;
  const userAgent = person.scanner === 'named' ? AGENTS.namedScanner : AGENTS.chromeWindows;
  const ip = addressFor('scanner', person.index + 1);
  const arrival = sentAt + random.between(1500, 3000);
  h.open(lane, arrival, deliveryId, userAgent, ip);
  let at = arrival + random.between(400, 900);
  for (const link of links) {
    h.click(lane, at, person, deliveryId, link.id, { userAgent, ip }, false);
    at += random.between(60, 160);
  }
}

/** A reader clicks one to three links, minutes apart: site links land on the site (and some come back later), the phone link makes a call. */
function planClicks(
  h: DemoHistory,
  issue: PlannedIssue,
  person: Person,
  deliveryId: number,
  readAt: number,
  links: IssueLink[],
  random: Random,
): void {
  const lane = `p:${person.index}`;
  const weight = (l: IssueLink) =>
    l.kind === 'site'
      ? l.position <= 2
        ? 5
        : 3
      : l.kind === 'tel'
        ? 0.8
        : l.kind === 'external'
          ? 0.7
          : l.kind === 'mailto'
            ? 0.3
            : 0;
  const candidates = links.filter((l) => weight(l) > 0);
  const wanted = random.weighted([
    [1, 70],
    [2, 24],
    [3, 6],
  ]);
  const chosen: IssueLink[] = [];
  while (chosen.length < Math.min(wanted, candidates.length)) {
    const link = random.weighted(candidates.filter((l) => !chosen.includes(l)).map((l) => [l, weight(l)] as const));
    chosen.push(link);
  }
  const visitor: Browser = { userAgent: person.browser, ip: person.homeIp, cookie: () => person.cookie };
  let at = readAt + Math.min(2 * HOUR_MS, Math.max(15_000, random.logNormal(75_000, 0.9)));
  for (const link of chosen) {
    h.click(lane, at, person, deliveryId, link.id, visitor, true);
    if (link.kind === 'site') {
      const landedAt = at + random.between(1000, 4000);
      const webmail = person.client === 'gmail' && !person.mobile ? 'https://mail.google.com/' : undefined;
      h.pageView(lane, landedAt, { url: pathOf(link.url), referrer: webmail, ...visitor });
      const leftAt = h.browse(lane, landedAt, Math.min(4, random.poisson(1.2)), visitor, random);
      if (random.chance(0.025))
        h.planSignup(
          lane,
          leftAt + random.between(1, 6) * MINUTE_MS,
          {
            source: `article:${new URL(link.url).pathname}`,
            campaign: issue.slug ?? null,
            cookie: () => person.cookie,
          },
          random,
        );
      if (random.chance(0.22 * Math.sqrt(issue.script.appeal))) planLaterVisits(h, lane, at, visitor, random);
    } else if (link.kind === 'tel') {
      const callAt = at + random.between(30_000, 3 * MINUTE_MS);
      // The footer's tracked number reaches the call-tracking provider; the store's own number is answered at the counter.
      const tracked = digitsOf(link.url) === digitsOf(issue.script.trackedPhone);
      if (isOpenAt(callAt, h.timeZone, h.week)) {
        if (tracked) h.trackedCall(callAt, issue.script.trackedPhone, random);
        else h.tap(callAt, 'call', random.chance(0.7) ? true : null, random);
      }
    }
    at += random.between(2, 15) * MINUTE_MS;
  }
}

/** Back on their own, a day to six days later, carrying the issue's cookie. */
function planLaterVisits(h: DemoHistory, lane: string, clickedAt: number, visitor: Browser, random: Random): void {
  const returns = random.chance(0.3) ? 2 : 1;
  for (let i = 0; i < returns; i++) {
    const at = daytimeOn(clickedAt + random.between(0.7, 6) * DAY_MS, h.timeZone, random);
    if (at - clickedAt < 2 * HOUR_MS) continue;
    h.pageView(lane, at, { url: random.chance(0.5) ? '/' : random.pick(h.articlePaths), ...visitor });
    h.browse(lane, at, Math.min(3, random.poisson(0.8)), visitor, random);
  }
}

/** Issues forwarded to friends: visits landing with the issue's utm_campaign and no cookie; some of these friends sign up. */
function planForwards(
  h: DemoHistory,
  issue: PlannedIssue,
  recipients: number,
  links: IssueLink[],
  random: Random,
): void {
  const siteLinks = links.filter((l) => l.kind === 'site');
  if (siteLinks.length === 0) return;
  const forwards = random.poisson(recipients * 0.01 * issue.script.appeal);
  for (let i = 0; i < forwards; i++) {
    const lane = `f:${issue.number}:${i}`;
    const ip = addressFor('forward', issue.number * 100_000 + i + 1);
    const userAgent = random.pick([AGENTS.iphone, AGENTS.android, AGENTS.chromeWindows, AGENTS.safariMac]);
    const at = awake(issue.sendAt + readingDelay(random) + random.between(1, 30) * HOUR_MS, h.timeZone, random);
    const link = random.pick(siteLinks);
    h.pageView(lane, at, { url: pathOf(link.url), userAgent, ip });
    const leftAt = h.browse(lane, at, Math.min(3, random.poisson(0.9)), { userAgent, ip }, random);
    if (random.chance(0.18))
      h.planSignup(
        lane,
        leftAt + random.between(1, 5) * MINUTE_MS,
        { source: `article:${new URL(link.url).pathname}`, campaign: issue.slug ?? null, cookie: () => undefined },
        random,
      );
  }
}
