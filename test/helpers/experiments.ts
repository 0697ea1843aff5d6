import type { DB } from '../../src/lib/db/database.ts';
import { recordClick } from '../../src/lib/tracking/tracking.service.ts';
import { recordPageView } from '../../src/lib/analytics/page-views.service.ts';
import { VisitorHasher } from '../../src/lib/analytics/visitor-hash.service.ts';
import { IPS, trackingApp } from './networks.ts';
import { seedDelivery, seedIssue, TEST_SECRET, type SeededIssue } from './tracking.ts';
import { Browser } from './cookie-browser.ts';

/**
 * An issue with an A/B test and a holdout (issue 19), written straight into the ledger (arms,
 * experiment rows), and its readers' clicks and landings through real tracking:
 *
 *   arm      deliveries   clicks (network, after the arm's send)                  clickers visitors
 *   A        4            a0 BT +1 h (lands), a1 BT +2 h (lands), a2 Comcast +3 h   3        2
 *   B        4            b0 BT +1 h (lands), b1 Zscaler +2 min (lands)            2        2
 *   rest     2            r0 BT +1 h (lands); the rest went out 4 hours after A/B  1        1
 *   holdout  2            (held out: never sent)                                   0        0
 *
 * Later visits: a0 comes back a day and 2 hours after the send, b1 a day after (arms A and B, 1 each).
 * `sweep` then has a scanner from b1's network follow the hidden link: b1's click, landing and
 * later visit become a machine's.
 */
const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;

export type Arm = 'A' | 'B' | 'rest' | 'holdout';
export interface Seeded {
  issue: SeededIssue;
  arms: Record<Arm, { deliveryId: number; subscriberId: number }[]>;
}

export async function seedExperimentIssue(db: DB, SENT: number, siteUrl = 'http://127.0.0.1:4321'): Promise<Seeded> {
  const REST_SENT = SENT + 4 * H;
  const issue = await seedIssue(db, siteUrl, SENT - DAY);
  await db.updateTable('sends').set({ started_at: SENT }).where('issue_id', '=', issue.issueId).execute();
  const arms: Seeded['arms'] = { A: [], B: [], rest: [], holdout: [] };
  for (const [arm, n, sentAt] of [
    ['A', 4, SENT],
    ['B', 4, SENT],
    ['rest', 2, REST_SENT],
    ['holdout', 2, null],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const d = await seedDelivery(db, issue.issueId, sentAt ?? SENT);
      await db
        .updateTable('deliveries')
        .set(arm === 'holdout' ? { arm, status: 'held_out', sent_at: null } : { arm })
        .where('id', '=', d.deliveryId)
        .execute();
      arms[arm].push(d);
    }
  }
  await db
    .insertInto('experiments')
    .values({
      issue_id: issue.issueId,
      seed: 'seed',
      test_share: 0.6,
      holdout_share: 0.2,
      wait_ms: 4 * H,
      measure: 'human_clickers',
      state: 'finished',
      winner_arm: 'A',
      decided_at: REST_SENT,
      decided_how: 'within_noise',
      created_at: SENT - DAY,
    })
    .execute();
  await db
    .insertInto('experiment_arms')
    .values(
      (['A', 'B', 'rest', 'holdout'] as const).map((arm) => ({
        issue_id: issue.issueId,
        arm,
        subject: arm === 'A' ? 'Widgets for winter' : arm === 'B' ? 'Your widget, warmer' : null,
        preheader: null,
        body_markdown: null,
        size: arms[arm].length,
      })),
    )
    .execute();

  const app = trackingApp(db);
  const deps = {
    pageViews: app.pageViews,
    visitors: new VisitorHasher(db),
    attribution: { secret: TEST_SECRET, attributionWindowDays: () => 7 },
    networks: app.networks,
  };
  const view = (browser: Browser, url: string, at: number) =>
    recordPageView(
      deps,
      {
        url,
        referrer: undefined,
        userAgent: browser.userAgent,
        ownHost: new URL(siteUrl).host,
        ip: browser.ip,
        cookie: browser.header,
      },
      at,
    );
  const follow = async (
    browser: Browser,
    deliveryId: number,
    kind: 'site' | 'external' | 'tel',
    at: number,
    land = kind === 'site',
  ) => {
    const clicked = await recordClick(
      app,
      { deliveryId, linkId: issue.links[kind].id, userAgent: browser.userAgent, ip: browser.ip },
      at,
    );
    browser.take(clicked?.setCookie);
    const url = new URL(issue.links[kind].url);
    if (land) await view(browser, url.pathname + url.search, at + 800);
  };
  /** The same browser the next day, with the attribution cookie only: a later visit. */
  const comeBack = async (browser: Browser, at: number) => {
    browser.cookies.delete('ff_click');
    await view(browser, '/', at);
  };
  const a0 = new Browser(IPS.bt);
  await follow(a0, arms.A[0]!.deliveryId, 'site', SENT + H);
  await follow(new Browser('81.2.3.5'), arms.A[1]!.deliveryId, 'site', SENT + 2 * H);
  await follow(new Browser(IPS.comcast), arms.A[2]!.deliveryId, 'external', SENT + 3 * H);
  await follow(new Browser('81.2.3.6'), arms.B[0]!.deliveryId, 'site', SENT + H);
  const proxied = new Browser(IPS.zscaler);
  await follow(proxied, arms.B[1]!.deliveryId, 'site', SENT + 2 * MIN);
  await follow(new Browser('81.2.3.7'), arms.rest[0]!.deliveryId, 'site', REST_SENT + H);
  await comeBack(a0, SENT + DAY + 2 * H);
  await comeBack(proxied, SENT + DAY);
  await app.writer.close();
  return { issue, arms };
}

/** A scanner from b1's proxy network follows the hidden link: the verdict re-labels b1's click, landing and later visit as a machine's. */
export async function sweep(db: DB, seeded: Seeded, SENT: number): Promise<void> {
  const app = trackingApp(db);
  const scanner = new Browser(IPS.zscaler);
  await recordClick(
    app,
    {
      deliveryId: seeded.arms.B[1]!.deliveryId,
      linkId: seeded.issue.links.honeypot.id,
      userAgent: scanner.userAgent,
      ip: scanner.ip,
    },
    SENT + DAY + MIN,
  );
  await app.writer.close();
}

/** A finished holdout (no A/B test) on an issue, straight into the experiment tables, with its arms' sizes. */
export async function insertHoldoutExperiment(
  db: DB,
  issueId: number,
  options: { holdoutShare: number; rest: number; holdout: number; createdAt: number },
): Promise<void> {
  await db
    .insertInto('experiments')
    .values({
      issue_id: issueId,
      seed: 'seed',
      test_share: 0,
      holdout_share: options.holdoutShare,
      wait_ms: 0,
      measure: 'human_clickers',
      state: 'finished',
      winner_arm: null,
      decided_at: null,
      decided_how: null,
      created_at: options.createdAt,
    })
    .execute();
  await db
    .insertInto('experiment_arms')
    .values(
      (['rest', 'holdout'] as const).map((arm) => ({
        issue_id: issueId,
        arm,
        subject: null,
        preheader: null,
        body_markdown: null,
        size: options[arm],
      })),
    )
    .execute();
}

/** A call from the phone provider matched to a subscriber (their number on file), or to nobody; `undone`: taken back a minute later. */
export async function insertMatchedCall(
  db: DB,
  subscriberId: number | null,
  at: number,
  undone = false,
): Promise<void> {
  await db
    .insertInto('offline_events')
    .values({
      kind: 'call',
      at,
      recorded_at: at,
      source: 'webhook',
      recorded_by: null,
      mentioned_newsletter: null,
      note: null,
      issue_id: null,
      client_id: `webhook:${Math.random()}`,
      from_hash: null,
      to_hash: null,
      duration_s: null,
      undone_at: undone ? at + MIN : null,
      undone_by: null,
      subscriber_id: subscriberId,
    })
    .execute();
}
