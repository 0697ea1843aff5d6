import { expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { createIssue, freezeIssue } from '#lib/issues/issues.service.ts';
import { issueReport } from '#lib/reports/issue-report.service.ts';
import { badgeText, issueClickMap } from '#lib/reports/click-map.ts';
import { recordClick, recordOpen } from '#lib/tracking/tracking.service.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { IPS, trackingApp } from '../../helpers/networks.ts';
import { useTestShop } from '../../helpers/shop.ts';
import { markIssueSent } from '../../helpers/sending.ts';
import { seedDelivery, seedIssue } from '../../helpers/tracking.ts';

/**
 * Issue 17, items 19 and 20, counted by hand and against the raw rows on both databases: the
 * click map's badges and the opens and clicks by mail program and device. Hits go through the
 * real hit writer with real agents (test/fixtures/truth/corpus.json, mail-client-device.test.ts).
 */
const MIN = 60_000;
const SENT = Date.UTC(2026, 9, 6, 9, 30);
const AGENTS = {
  appleMailIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1',
  applePrefetch: 'Mozilla/5.0',
  gmailProxy: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
  yahooProxy: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html',
  outlookWindows: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.6326; Pro)',
  outlookIphone: 'Outlook-iOS/711.2304115.prod.iphone (3.26.0)',
  thunderbird: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
  chromeAndroidPhone:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Mobile Safari/537.36',
  // Chrome's reduced agent on an Android tablet: the phone's without "Mobile".
  chromeAndroidTablet:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36 Edg/146.0.0.0',
  mimecast: 'Mozilla/5.0 (compatible; Mimecast URL Protect/1.0)',
};

/** The figures straight from the raw rows: likely-human opens, human clicks and Apple's prefetches per label. */
async function rawCounts(db: DB, issueId: number, column: 'client' | 'device') {
  const opens = await db
    .selectFrom('opens')
    .select([column, 'class'])
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('issue_id', '=', issueId)
    .groupBy([column, 'class'])
    .execute();
  const clicks = await db
    .selectFrom('clicks')
    .select([column])
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('issue_id', '=', issueId)
    .where('class', '=', 'human')
    .groupBy([column])
    .execute();
  const counts: Record<string, { opens: number; clicks: number; prefetches: number }> = {};
  const of = (label: string | null) => (counts[label ?? 'unknown'] ??= { opens: 0, clicks: 0, prefetches: 0 });
  for (const r of opens) {
    const label = (r as Record<string, string | null>)[column] ?? null;
    if (r.class === 'apple_mpp')
      (counts.apple_mpp ??= { opens: 0, clicks: 0, prefetches: 0 }).prefetches += Number(r.n);
    else if (r.class === 'human' || r.class === 'proxy') of(label).opens += Number(r.n);
  }
  for (const r of clicks) of((r as Record<string, string | null>)[column] ?? null).clicks += Number(r.n);
  return counts;
}

const nonZero = (rows: { key: string; opens: number; clicks: number; prefetches: number }[]) =>
  Object.fromEntries(
    rows
      .filter((r) => r.opens + r.clicks + r.prefetches > 0)
      .map((r) => [r.key, { opens: r.opens, clicks: r.clicks, prefetches: r.prefetches }]),
  );

describeEachDatabase('mail programs, devices and the click map', (db) => {
  it('counts likely-human opens and human clicks by mail program and device as the raw rows do, Apple’s prefetch apart, after a verdict too', async () => {
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', SENT - MIN);
    await db().updateTable('sends').set({ started_at: SENT }).where('issue_id', '=', issue.issueId).execute();
    const d: { deliveryId: number; subscriberId: number }[] = [];
    for (let i = 0; i < 10; i++) d.push(await seedDelivery(db(), issue.issueId, SENT));
    const app = trackingApp(db());
    const open = (i: number, agent: string, ip: string, after: number) =>
      recordOpen(app, { deliveryId: d[i]!.deliveryId, userAgent: agent, ip }, SENT + after);
    const click = (i: number, kind: 'site' | 'external' | 'honeypot', agent: string, ip: string, after: number) =>
      recordClick(
        app,
        { deliveryId: d[i]!.deliveryId, linkId: issue.links[kind].id, userAgent: agent, ip },
        SENT + after,
      );

    await open(8, AGENTS.mimecast, IPS.mimecast, 5_000); // a scanner: no one's
    await open(1, AGENTS.applePrefetch, IPS.apple, MIN); // Apple's prefetch
    await open(0, AGENTS.appleMailIphone, IPS.bt, 10 * MIN);
    await click(0, 'site', AGENTS.safariIphone, IPS.bt, 11 * MIN);
    await click(0, 'site', AGENTS.safariIphone, IPS.bt, 12 * MIN); // twice: two clicks, one person
    await open(2, AGENTS.gmailProxy, IPS.google, 30 * MIN);
    await click(2, 'external', AGENTS.chromeAndroidPhone, IPS.tmobile, 31 * MIN);
    await open(3, AGENTS.outlookWindows, IPS.comcast, 40 * MIN);
    await click(3, 'site', AGENTS.edgeWindows, IPS.comcast, 41 * MIN);
    await open(4, AGENTS.thunderbird, IPS.bt, 50 * MIN);
    await open(5, AGENTS.yahooProxy, IPS.yahoo, 60 * MIN);
    await open(6, AGENTS.outlookIphone, IPS.tmobile, 70 * MIN);
    await click(7, 'site', AGENTS.chromeAndroidTablet, IPS.bt, 120 * MIN);
    // Through a web security proxy: a browser's open looks like a reader's until the same machine clicks the hidden link.
    await open(9, AGENTS.edgeWindows, IPS.zscaler, 180 * MIN);
    await click(9, 'honeypot', AGENTS.edgeWindows, IPS.zscaler, 180 * MIN + 10_000);
    await app.writer.close();

    const classes = await db()
      .selectFrom('opens')
      .select(['delivery_id', 'class'])
      .where('delivery_id', '=', d[9]!.deliveryId)
      .execute();
    expect(classes.map((c) => c.class)).toEqual(['scanner']); // re-labelled by the verdict

    const report = (await issueReport(db(), issue.issueId, { now: SENT + 4 * 60 * MIN }))!;
    const { clients, devices } = report.mailClients;
    // By hand.
    expect(nonZero(clients)).toEqual({
      apple_mail: { opens: 1, clicks: 0, prefetches: 0 },
      gmail: { opens: 1, clicks: 0, prefetches: 0 },
      outlook: { opens: 2, clicks: 0, prefetches: 0 },
      yahoo: { opens: 1, clicks: 0, prefetches: 0 },
      thunderbird: { opens: 1, clicks: 0, prefetches: 0 },
      browser: { opens: 0, clicks: 5, prefetches: 0 },
      apple_mpp: { opens: 0, clicks: 0, prefetches: 1 },
    });
    expect(nonZero(devices)).toEqual({
      phone: { opens: 2, clicks: 3, prefetches: 0 },
      desktop: { opens: 2, clicks: 1, prefetches: 0 },
      tablet: { opens: 0, clicks: 1, prefetches: 0 },
      unknown: { opens: 2, clicks: 0, prefetches: 0 },
      apple_mpp: { opens: 0, clicks: 0, prefetches: 1 },
    });
    expect(clients.map((r) => r.name)).toEqual([
      'Apple Mail',
      'Gmail',
      'Outlook',
      'Yahoo Mail',
      'Thunderbird',
      'Other mail programs',
      'A web browser',
      'Unknown',
      'Apple Mail Privacy Protection (not a person’s open)',
    ]);
    // Against the raw rows.
    expect(nonZero(clients)).toEqual(await rawCounts(db(), issue.issueId, 'client'));
    expect(nonZero(devices)).toEqual(await rawCounts(db(), issue.issueId, 'device'));
    // The totals agree with the report's machine figures: every likely-human open and human click is in exactly one row.
    const sum = (
      rows: readonly { opens: number; clicks: number; prefetches: number }[],
      key: 'opens' | 'clicks' | 'prefetches',
    ) => rows.reduce((a, r) => a + r[key], 0);
    expect(sum(clients, 'opens')).toBe(report.machine.humanOpens + report.machine.proxyOpens);
    expect(sum(devices, 'clicks')).toBe(report.machine.humanClicks);
    expect(sum(clients, 'prefetches')).toBe(report.machine.appleMppOpens);
  });

  it('draws the email as it went out with each link’s human clicks and people, as the raw click rows count them, and records nothing', async () => {
    await useTestShop(db());
    const created = await createIssue(
      db(),
      {
        subject: 'The winter guide',
        preheader: 'Three things to check',
        body_markdown:
          'Read [the winter guide](/articles/winter-guide/) or visit [the Flathead Society](https://flathead-society.example/winter?ref=frobozz).',
        featured_articles: [],
      },
      { articles: new Map(), createdBy: null },
      SENT - 60 * MIN,
    );
    if (!created.ok) throw new Error(created.message);
    const snapshot = await freezeIssue(db(), created.value.id, SENT - MIN, { secret: 'mail-clients-test-secret' });
    const issueId = created.value.id;
    await markIssueSent(db(), issueId, SENT);
    const guide = snapshot.links.find((l) => l.label === 'the winter guide')!;
    const society = snapshot.links.find((l) => l.label === 'the Flathead Society')!;
    const honeypot = snapshot.links.find((l) => l.kind === 'honeypot')!;
    expect([guide, society, honeypot].every(Boolean)).toBe(true);

    const d: { deliveryId: number; subscriberId: number }[] = [];
    for (let i = 0; i < 4; i++) d.push(await seedDelivery(db(), issueId, SENT));
    const app = trackingApp(db());
    const click = (i: number, linkId: number, agent: string, ip: string, after: number) =>
      recordClick(app, { deliveryId: d[i]!.deliveryId, linkId, userAgent: agent, ip }, SENT + after);
    // The guide: reader 0 twice, readers 1 and 2 once (4 clicks, 3 people); the society: reader 2 (1 and 1).
    await click(0, guide.id, AGENTS.safariIphone, IPS.bt, 10 * MIN);
    await click(0, guide.id, AGENTS.safariIphone, IPS.bt, 11 * MIN);
    await click(1, guide.id, AGENTS.edgeWindows, IPS.comcast, 20 * MIN);
    await click(2, guide.id, AGENTS.chromeAndroidPhone, IPS.tmobile, 30 * MIN);
    await click(2, society.id, AGENTS.chromeAndroidPhone, IPS.tmobile, 31 * MIN);
    // A scanner follows every link in a second from a security gateway: bot clicks, on no badge.
    for (const [k, link] of [guide, society, honeypot].entries())
      await click(3, link.id, AGENTS.edgeWindows, IPS.proofpoint, 20_000 + k * 100);
    await app.writer.close();

    const report = (await issueReport(db(), issueId, { now: SENT + 2 * 60 * MIN }))!;
    const map = (await issueClickMap(db(), issueId, report.links))!;
    const badges = [
      ...map.html.matchAll(
        /data-click-map="(\d+)"[^>]*>[\s\S]*?<\/a><span class="ff-click-badge"[^>]*>([^<]*)<\/span>/g,
      ),
    ].map((m) => [Number(m[1]), m[2]]);
    // Straight from the raw rows: human clicks and distinct deliveries per link.
    const raw = await db()
      .selectFrom('clicks')
      .select(['link_id'])
      .select((eb) => [
        eb.fn.countAll<string>().as('clicks'),
        eb.fn.count<string>('delivery_id').distinct().as('people'),
      ])
      .where('issue_id', '=', issueId)
      .where('class', '=', 'human')
      .groupBy('link_id')
      .execute();
    const rawOf = (id: number) => raw.find((r) => Number(r.link_id) === id) ?? { clicks: 0, people: 0 };
    const expected = snapshot.links
      .filter((l) => l.kind !== 'honeypot')
      .map((l) => [
        l.position,
        badgeText({
          position: l.position,
          humanClicks: Number(rawOf(l.id).clicks),
          uniqueClickers: Number(rawOf(l.id).people),
        }),
      ]);
    expect(badges).toEqual(expected);
    // By hand, and in words.
    expect(badges).toContainEqual([guide.position, `${guide.position}: 4 clicks · 3 people`]);
    expect(badges).toContainEqual([society.position, `${society.position}: 1 click · 1 person`]);
    // The table's figures are the same counts.
    const row = (id: number) => report.links.find((l) => l.id === id)!;
    expect([row(guide.id).humanClicks, row(guide.id).uniqueClickers, row(guide.id).botClicks]).toEqual([4, 3, 1]);
    // Looking at the map records nothing: no pixel, no tracked link, no placeholder left.
    expect(map.html).not.toMatch(/\/t\/[oc]\/|\{\{|href="[^"#]*ff-click/);
    expect(map.html).toContain('the winter guide');
  });
});
