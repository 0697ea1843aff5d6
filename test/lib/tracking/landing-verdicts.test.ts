import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue, TEST_SECRET } from '../../helpers/tracking.ts';
import { IPS, trackingApp } from '../../helpers/networks.ts';
import { recordClick } from '#lib/tracking/tracking.service.ts';
import { recordPageView } from '#lib/analytics/page-views.service.ts';
import { VisitorHasher } from '#lib/analytics/visitor-hash.service.ts';
import { findTotals } from '#lib/counts/range-reads.ts';
import type { DB } from '#lib/db/database.ts';
import { agentFacts } from '#lib/tracking/classify-agent.ts';
import { trackingThresholdDefaults } from '#lib/settings/settings.ts';
import { Browser, CHROME_UA } from '../../helpers/cookie-browser.ts';

const MIN = 60_000;
const DAY = 86_400_000;

async function setUp(db: DB) {
  const sentAt = Date.UTC(2026, 9, 6, 9, 30);
  const issue = await seedIssue(db, 'http://127.0.0.1:4321', sentAt - DAY);
  const delivery = await seedDelivery(db, issue.issueId, sentAt);
  const app = trackingApp(db);
  const visitors = new VisitorHasher(db);
  const deps = {
    pageViews: app.pageViews,
    visitors,
    attribution: { secret: TEST_SECRET, attributionWindowDays: () => 7 },
    networks: app.networks,
  };
  /** A click through the redirect, and the page it leads to fetched by the same browser. */
  const follow = async (browser: Browser, kind: 'site' | 'external' | 'tel' | 'honeypot', at: number) => {
    const clicked = await recordClick(
      app,
      { deliveryId: delivery.deliveryId, linkId: issue.links[kind].id, userAgent: browser.userAgent, ip: browser.ip },
      at,
    );
    browser.take(clicked?.setCookie);
    if (kind === 'site' || kind === 'honeypot')
      await view(browser, new URL(issue.links[kind].url).pathname + new URL(issue.links[kind].url).search, at + 800);
  };
  const view = (browser: Browser, url: string, at: number) =>
    recordPageView(
      deps,
      {
        url,
        referrer: undefined,
        userAgent: browser.userAgent,
        ownHost: '127.0.0.1:4321',
        ip: browser.ip,
        cookie: browser.header,
      },
      at,
    );
  // The issue's counts, and the site's since this set-up (the suite's tests share one database).
  const read = async () => {
    const totals = await findTotals(
      db,
      [issue.issueId, 0],
      ['visit', 'first.visit', 'visit.later', 'view.machine', 'pageview', 'first.click'],
    );
    return new Map(totals.map((t) => [`${t.issueId === 0 ? 'site' : 'issue'}:${t.metric}`, t.n]));
  };
  const baseline = await read();
  const figures = async () =>
    Object.fromEntries([...(await read())].map(([k, n]) => [k, n - (baseline.get(k) ?? 0)]).filter(([, n]) => n !== 0));
  return { sentAt, issue, delivery, app, follow, view, figures };
}

describeEachDatabase('landing pages follow the click’s verdict', (db) => {
  it('a sandbox following the redirect lands as a machine: no visit, no attribution, shown as machine activity', async () => {
    const { sentAt, issue, app, follow, view, figures } = await setUp(db());
    const sandbox = new Browser(IPS.amazon);
    await follow(sandbox, 'site', sentAt + 25_000);
    // Another sandbox fetches the link's page directly, utm tags and all, without the redirect's cookies.
    await view(
      new Browser(IPS.proofpoint),
      `/articles/widget-batteries-explained/?utm_campaign=${issue.slug}`,
      sentAt + 40_000,
    );
    await app.writer.close();
    expect(await figures()).toEqual({ 'issue:view.machine': 2, 'site:view.machine': 2 });
    const views = await db().selectFrom('page_views').select(['machine', 'issue_id', 'net']).orderBy('id').execute();
    expect(views.map((v) => [v.machine?.split(':')[0], Number(v.issue_id), v.net])).toEqual([
      ['through a machine’s click', issue.issueId, 'cloud'],
      [
        'from Proofpoint, Inc. (AS26211), a mail security gateway, with no reader’s click',
        issue.issueId,
        'security_gateway',
      ],
    ]);
    expect(await db().selectFrom('visits').select('id').execute()).toEqual([]);
  });

  it('a reader’s landing is an attributed visit; when their network then sweeps the message, the landing becomes the machine’s and the counts move with it', async () => {
    const { sentAt, delivery, app, follow, view, figures } = await setUp(db());
    const reader = new Browser(IPS.bt);
    await follow(reader, 'site', sentAt + 2 * 3_600_000);
    await view(reader, '/articles/', sentAt + 2 * 3_600_000 + 2 * MIN);
    const proxied = new Browser(IPS.zscaler);
    await follow(proxied, 'site', sentAt + 2 * MIN);
    expect(await figures()).toEqual({
      'issue:visit': 2,
      'issue:first.visit': 1,
      'issue:first.click': 1,
      'site:visit': 2,
      'site:pageview': 3,
    });
    // Two more links from the same proxy within the window: a sweep, and its first click was no reader's.
    await follow(proxied, 'external', sentAt + 2 * MIN + 9000);
    await follow(proxied, 'tel', sentAt + 2 * MIN + 17_000);
    expect(await figures()).toEqual({
      'issue:visit': 1,
      'issue:first.visit': 1,
      'issue:first.click': 1,
      'issue:view.machine': 1,
      'site:visit': 1,
      'site:pageview': 2,
      'site:view.machine': 1,
    });
    // The proxy's page again with its marker, after the verdict: a machine's view from the start.
    await view(proxied, '/articles/', sentAt + 2 * MIN + 20_000);
    await app.writer.close();
    expect(await figures()).toEqual({
      'issue:visit': 1,
      'issue:first.visit': 1,
      'issue:first.click': 1,
      'issue:view.machine': 2,
      'site:visit': 1,
      'site:pageview': 2,
      'site:view.machine': 2,
    });
    const d = await db()
      .selectFrom('deliveries')
      .select(['first_visit_at'])
      .where('id', '=', delivery.deliveryId)
      .executeTakeFirstOrThrow();
    expect(Number(d.first_visit_at) - sentAt).toBe(2 * 3_600_000 + 800);
  });

  it('a later visit needs a human click: one reached through a click re-labelled later goes with it', async () => {
    const { sentAt, app, follow, view, figures } = await setUp(db());
    const proxied = new Browser(IPS.zscaler);
    await follow(proxied, 'site', sentAt + 30 * MIN);
    // The same browser comes back the next day with the attribution cookie: a later visit.
    proxied.cookies.delete('ff_click');
    await view(proxied, '/', sentAt + DAY);
    expect(await figures()).toMatchObject({ 'issue:visit': 2, 'issue:visit.later': 1 });
    await follow(new Browser(IPS.zscaler), 'honeypot', sentAt + DAY + MIN);
    await app.writer.close();
    const after = await figures();
    expect(after['issue:visit']).toBeUndefined();
    expect(after['issue:visit.later']).toBeUndefined();
    expect(after['issue:first.visit']).toBeUndefined();
    expect(after['issue:view.machine']).toBe(3);
  });
});

describeEachDatabase('a batch of hits and page views together', (db) => {
  it('commits both (PostgreSQL: their deliveries and visitors locked up front, in order)', async () => {
    const sentAt = Date.UTC(2026, 9, 6, 9, 30);
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const a = await seedDelivery(db(), issue.issueId, sentAt);
    const b = await seedDelivery(db(), issue.issueId, sentAt);
    const app = trackingApp(db());
    const at = sentAt + 3_600_000;
    const source = { owner: app.networks.lookup(IPS.bt), agent: agentFacts(CHROME_UA) };
    const view = (visitor: string, deliveryId: number) =>
      app.pageViews.write({
        at: at + 1000,
        path: '/',
        referrer_host: null,
        utm_source: null,
        utm_medium: null,
        utm_campaign: null,
        utm_content: null,
        utm_term: null,
        visitor_hash: visitor,
        device: 'desktop',
        is_bot: 0,
        attribution: { issueId: issue.issueId, deliveryId, subscriberId: null, at },
        windowMs: 7 * DAY,
      });
    // One event-loop turn: the writer takes them as one batch.
    await Promise.all([
      app.hits.write({
        type: 'open',
        deliveryId: b.deliveryId,
        at,
        personTracking: true,
        source,
        thresholds: trackingThresholdDefaults,
      }),
      view('v-2', a.deliveryId),
      app.hits.write({
        type: 'open',
        deliveryId: a.deliveryId,
        at,
        personTracking: true,
        source,
        thresholds: trackingThresholdDefaults,
      }),
      view('v-1', b.deliveryId),
    ]);
    await app.writer.close();
    expect(
      await db().selectFrom('opens').select('delivery_id').where('issue_id', '=', issue.issueId).execute(),
    ).toHaveLength(2);
    expect(
      await db()
        .selectFrom('visits')
        .select('visitor_key')
        .where('issue_id', '=', issue.issueId)
        .orderBy('visitor_key')
        .execute(),
    ).toEqual([{ visitor_key: 'h:v-1' }, { visitor_key: 'h:v-2' }]);
  });
});
