import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import {
  clickUrl,
  openUrl,
  testClickUrl,
  seedDelivery,
  seedIssue,
  TEST_SECRET,
  withDb,
  type SeededIssue,
} from '../helpers/tracking.ts';
import { makeClickToken, makeOpenToken } from '../../src/lib/tracking/tokens.ts';
import { apiKeyFor } from '../helpers/accounts.ts';
import { countRows } from '../helpers/rows.ts';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const MINUTE = 60_000;

/** The same token with its link id byte changed and the MAC kept: what tampering without the secret looks like. */
function alterLinkId(token: string, by: number): string {
  const bytes = Buffer.from(token, 'base64url');
  let at = 1;
  while (bytes[at]! & 0x80) at++;
  bytes[at + 1] = (bytes[at + 1]! + by) & 0x7f;
  return bytes.toString('base64url');
}

/** Real addresses and who owns them in the data set (TRUST_PROXY=1: the last X-Forwarded-For hop is the client). */
const IP = {
  eop: '40.107.22.10', // Microsoft Exchange Online Protection (AS8075), a mail security gateway
  aws: '3.80.0.10', // Amazon Web Services (AS14618), a cloud
  gmail: '66.249.84.72', // Google (AS15169), Gmail's image proxy
  apple: '17.58.101.4', // Apple (AS714)
  home: '73.1.2.3', // Comcast (AS7922), a home network
  mobile: '172.56.1.1', // T-Mobile USA (AS21928)
};
const android =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

async function get(url: string, init: { ua?: string; method?: string; ip?: string } = {}) {
  return fetch(url, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: { 'user-agent': init.ua ?? chrome, ...(init.ip ? { 'x-forwarded-for': init.ip } : {}) },
  });
}

/** The cookies a redirect set, as a browser sends them back. */
const cookiesOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

for (const dialect of testDialects()) {
  describe(`tracking fast path [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let issue: SeededIssue;
    let other: SeededIssue;

    const opensOf = (deliveryId: number) =>
      withDb(server.databaseUrl, (db) =>
        db
          .selectFrom('opens')
          .select(['class', 'reason', 'subscriber_id', 'issue_id'])
          .where('delivery_id', '=', deliveryId)
          .orderBy('id')
          .execute(),
      );
    const clicksOf = (deliveryId: number) =>
      withDb(server.databaseUrl, (db) =>
        db
          .selectFrom('clicks')
          .select(['class', 'reason', 'link_id'])
          .where('delivery_id', '=', deliveryId)
          .orderBy('id')
          .execute(),
      );
    const deliveryOf = (deliveryId: number) =>
      withDb(server.databaseUrl, (db) =>
        db
          .selectFrom('deliveries')
          .select(['first_opened_at', 'first_clicked_at'])
          .where('id', '=', deliveryId)
          .executeTakeFirstOrThrow(),
      );
    const count = (table: 'opens' | 'clicks') => withDb(server.databaseUrl, (db) => countRows(db, table));
    const delivery = (sentAgoMs: number) =>
      withDb(server.databaseUrl, (db) => seedDelivery(db, issue.issueId, Date.now() - sentAgoMs));

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-track-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { SECRET: TEST_SECRET, SEND_WORKER: '0', TRUST_PROXY: '1' },
      });
      ({ issue, other } = await withDb(server.databaseUrl, async (db) => ({
        issue: await seedIssue(db, server.url),
        other: await seedIssue(db, server.url),
      })));
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('the pixel answers 200 with a 43-byte GIF and no-store, and stores one human open', async () => {
      const { deliveryId, subscriberId } = await delivery(10 * MINUTE);
      const res = await get(openUrl(server.url, deliveryId));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(res.headers.get('cache-control')).toMatch(/no-store/);
      expect((await res.arrayBuffer()).byteLength).toBe(43);
      expect(await opensOf(deliveryId)).toEqual([
        {
          class: 'human',
          reason: expect.stringMatching(/^reader: Chrome on Linux, /),
          subscriber_id: subscriberId,
          issue_id: issue.issueId,
        },
      ]);
      expect((await deliveryOf(deliveryId)).first_opened_at).not.toBeNull();
      // HEAD: answered, never counted.
      const head = await get(openUrl(server.url, deliveryId), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await opensOf(deliveryId)).toHaveLength(1);
    });

    it('the pixel reads the agent and, behind a trusted proxy, the client address the way every other route does', async () => {
      const { deliveryId } = await delivery(10 * MINUTE);
      // Apple's prefetcher through our proxy (TRUST_PROXY=1): the address is the last hop the proxy saw.
      const apple = await fetch(openUrl(server.url, deliveryId), {
        headers: { 'User-Agent': 'Mozilla/5.0', 'X-Forwarded-For': `203.0.113.9, ${IP.apple}` },
      });
      expect(apple.status).toBe(200);
      // A client naming an Apple address itself, in front of the proxy, is not believed.
      const spoofed = await fetch(openUrl(server.url, deliveryId), {
        headers: { 'user-agent': chrome, 'x-forwarded-for': `${IP.apple}, ${IP.home}` },
      });
      expect(spoofed.status).toBe(200);
      expect((await opensOf(deliveryId)).map((o) => [o.class, o.reason])).toEqual([
        [
          'apple_mpp',
          expect.stringMatching(/^Apple Mail Privacy Protection: Apple \(AS714\) fetched it \d+ min after delivery$/),
        ],
        ['human', 'reader: Chrome on Linux, Comcast Cable Communications, LLC (AS7922)'],
      ]);
    });

    it('bad input: malformed, tampered, test, click-kind and giant tokens → still 200 and the GIF, nothing stored', async () => {
      const { deliveryId } = await delivery(10 * MINUTE);
      const good = makeOpenToken(TEST_SECRET, deliveryId);
      const before = await count('opens');
      const paths = [
        '/t/o/',
        '/t/o/x',
        `/t/o/${good.slice(0, -1)}`,
        `/t/o/${good}A`,
        `/t/o/${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`,
        `/t/o/${makeOpenToken('another-secret-entirely-'.padEnd(40, 'z'), deliveryId)}`,
        `/t/o/${makeClickToken(TEST_SECRET, deliveryId, issue.links.site.id)}`,
        `/t/o/${makeOpenToken(TEST_SECRET, deliveryId, { test: true })}`,
        `/t/o/${makeOpenToken(TEST_SECRET, 987_654_321)}`,
        `/t/o/${'A'.repeat(8000)}`,
        `/t/o/%00%ff%fe${encodeURIComponent('<script>')}`,
        `/t/o/${good}/extra/segments`,
      ];
      for (const p of paths) {
        const res = await get(server.url + p);
        expect(res.status, p.slice(0, 60)).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(43);
      }
      expect(await count('opens')).toBe(before);
    });

    it('a click 302s to the registered link with its UTM tags and sets the attribution cookie; tel: and mailto: redirect too', async () => {
      const { deliveryId } = await delivery(10 * MINUTE);
      const res = await get(clickUrl(server.url, deliveryId, issue.links.site.id));
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(issue.links.site.url);
      expect(res.headers.get('location')).toContain(`utm_campaign=${issue.slug}`);
      // A reader's click sets the attribution cookie (it names the click: its landing follows the click's class),
      // and the reader cookie (it names the subscriber, for 400 days: the holdout result's identification).
      expect(res.headers.getSetCookie()).toEqual([
        expect.stringMatching(/^ff_attr=[^;]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/),
        expect.stringMatching(/^ff_reader=[^;]+; Max-Age=34560000; Path=\/; HttpOnly; SameSite=Lax$/),
      ]);
      expect(await clicksOf(deliveryId)).toEqual([
        { class: 'human', reason: expect.stringMatching(/^reader: /), link_id: issue.links.site.id },
      ]);
      expect((await deliveryOf(deliveryId)).first_clicked_at).not.toBeNull();
      for (const kind of ['tel', 'mailto'] as const) {
        const r = await get(clickUrl(server.url, deliveryId, issue.links[kind].id));
        expect(r.status).toBe(302);
        expect(r.headers.get('location')).toBe(issue.links[kind].url);
      }
      // HEAD: answered with the redirect, never a click (kept as a link check); test tokens redirect and record nothing.
      const before = (await clicksOf(deliveryId)).length;
      const head = await get(clickUrl(server.url, deliveryId, issue.links.external.id), { method: 'HEAD' });
      expect(head.status).toBe(302);
      const test = await get(testClickUrl(server.url, issue.links.external.id, issue.links.external.url));
      expect(test.status).toBe(302);
      expect(test.headers.get('location')).toBe(issue.links.external.url);
      expect(test.headers.get('set-cookie')).toBeNull();
      expect(await clicksOf(deliveryId)).toHaveLength(before);
    });

    it('open redirect fuzz: never a 3xx anywhere but the registered link; a friendly 404 with a home link instead', async () => {
      const { deliveryId } = await delivery(10 * MINUTE);
      const good = makeClickToken(TEST_SECRET, deliveryId, issue.links.external.id);
      const evil = [
        '//evil.example',
        '\\\\evil.example',
        '/\\evil.example',
        'javascript:alert(1)',
        '%2F%2Fevil.example',
        '%5C%5Cevil.example',
        'https:%2F%2Fevil.example',
        '%252F%252Fevil.example',
        'http://evil.example',
      ];
      const paths = [
        ...evil.map((e) => `/t/c/${e}`),
        ...evil.map((e) => `/t/c/${good}/${e}`),
        ...evil.map((e) => `/t/c/${good}?url=${e}&next=${e}&redirect=${e}`),
        `/t/c/${good.slice(0, -1)}`,
        `/t/c/${good.slice(0, 10)}`,
        `/t/c/${good}x`,
        `/t/c/${good}${good}`,
        // Link ids altered inside the token without the secret (the MAC no longer matches).
        ...[1, 2, 3, 100].map((n) => `/t/c/${alterLinkId(good, n)}`),
        // Signed, but for ids that are not registered at all.
        `/t/c/${makeClickToken(TEST_SECRET, deliveryId, 9_999_999)}`,
        ...Object.values(other.links).map((l) => `/t/c/${makeClickToken(TEST_SECRET, deliveryId, l.id)}`),
        `/t/c/${makeClickToken('another-secret-entirely-'.padEnd(40, 'z'), deliveryId, issue.links.external.id)}`,
        `/t/c/${makeOpenToken(TEST_SECRET, deliveryId)}`,
        `/t/c/${'A'.repeat(8000)}`,
        `/t/c/${good}%0d%0aLocation:%20http://evil.example`,
      ];
      const registered = new Set([...Object.values(issue.links), ...Object.values(other.links)].map((l) => l.url));
      for (const p of paths) {
        const res = await get(server.url + p);
        if (res.status >= 300 && res.status < 400) {
          const location = res.headers.get('location') ?? '';
          expect(registered.has(location), `${p.slice(0, 80)} → ${location}`).toBe(true);
          expect(Object.values(issue.links).map((l) => l.url)).toContain(location);
        } else {
          expect(res.status, p.slice(0, 80)).toBe(404);
          const html = await res.text();
          expect(html).toContain('<a href="/">');
        }
      }
      // Another issue's link with this delivery's token is refused even though the link exists.
      const stored = (await clicksOf(deliveryId)).length;
      const cross = await get(`${server.url}/t/c/${makeClickToken(TEST_SECRET, deliveryId, other.links.site.id)}`);
      expect(cross.status).toBe(404);
      expect(
        (
          await get(`${server.url}/t/c/${makeClickToken(TEST_SECRET, deliveryId, other.links.site.id)}`, {
            method: 'HEAD',
          })
        ).status,
      ).toBe(404);
      expect(
        (await get(`${server.url}/t/c/${makeClickToken(TEST_SECRET, 987_654_321, issue.links.site.id)}`)).status,
      ).toBe(404);
      expect(await clicksOf(deliveryId)).toHaveLength(stored);
    });

    it('attribution over HTTP: click → landing and two pages make one attributed visit; signups from the cookie and from a forwarded link name the issue', async () => {
      const { deliveryId, subscriberId } = await delivery(20 * MINUTE);
      const click = await get(clickUrl(server.url, deliveryId, issue.links.site.id));
      const cookie = cookiesOf(click);
      expect(cookie).toMatch(/^ff_attr=[^;]+; ff_reader=[^;]+$/);
      const landing = new URL(click.headers.get('location')!);
      const browse = (p: string) => fetch(server.url + p, { headers: { 'user-agent': chrome, cookie } });
      expect((await browse(landing.pathname + landing.search)).status).toBe(200);
      expect((await browse('/')).status).toBe(200);
      expect((await browse('/articles/')).status).toBe(200);
      const { views, visits, firstVisit } = await withDb(server.databaseUrl, async (db) => ({
        views: await db
          .selectFrom('page_views')
          .select(['path', 'issue_id', 'subscriber_id'])
          .where('subscriber_id', '=', subscriberId)
          .orderBy('id')
          .execute(),
        visits: await db.selectFrom('visits').selectAll().where('subscriber_id', '=', subscriberId).execute(),
        firstVisit: (
          await db
            .selectFrom('deliveries')
            .select('first_visit_at')
            .where('id', '=', deliveryId)
            .executeTakeFirstOrThrow()
        ).first_visit_at,
      }));
      expect(views.map((v) => Number(v.issue_id))).toEqual([issue.issueId, issue.issueId, issue.issueId]);
      expect(visits).toHaveLength(1);
      expect(visits[0]).toMatchObject({ landing_path: landing.pathname, attributed_by: 'utm', is_later: 0 });
      expect(Number(visits[0]!.views)).toBe(3);
      expect(Number(visits[0]!.issue_id)).toBe(issue.issueId);
      expect(Number(visits[0]!.reader_subscriber_id)).toBe(subscriberId);
      expect(firstVisit).not.toBeNull();
      // The same browser with only the reader cookie (the attribution cookie gone): a visit that still names the reader.
      const readerOnly = cookie.split('; ').find((c) => c.startsWith('ff_reader='))!;
      expect(
        (await fetch(server.url + '/articles/', { headers: { 'user-agent': chrome, cookie: readerOnly } })).status,
      ).toBe(200);
      const reader = await withDb(server.databaseUrl, async (db) => ({
        visits: await db
          .selectFrom('visits')
          .select(['landing_path', 'subscriber_id'])
          .where('reader_subscriber_id', '=', subscriberId)
          .orderBy('id')
          .execute(),
        knownAt: (
          await db
            .selectFrom('subscribers')
            .select('reader_known_at')
            .where('id', '=', subscriberId)
            .executeTakeFirstOrThrow()
        ).reader_known_at,
      }));
      expect(reader.visits).toEqual([
        { landing_path: landing.pathname, subscriber_id: expect.anything() },
        { landing_path: '/articles/', subscriber_id: null },
      ]);
      expect(reader.knownAt).not.toBeNull();

      const signup = (email: string, headers: Record<string, string>) =>
        fetch(`${server.url}/subscribe?_action=subscribe`, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: server.url,
            'user-agent': chrome,
            ...headers,
          },
          body: new URLSearchParams({ email, source: 'subscribe-page', website: '' }),
        });
      // A friend on a forwarded link: no cookie, the page had the issue's utm_campaign.
      expect(
        (
          await signup('friend@example.com', {
            referer: `${server.url}/subscribe/?utm_source=newsletter&utm_campaign=${issue.slug}`,
          })
        ).status,
      ).toBeLessThan(400);
      // Someone carrying the cookie, on a page without any campaign.
      expect(
        (await signup('clicker@example.com', { cookie, referer: `${server.url}/subscribe/` })).status,
      ).toBeLessThan(400);
      const sources = await withDb(server.databaseUrl, (db) =>
        db
          .selectFrom('subscribers')
          .select(['email', 'source_issue_id'])
          .where('email', 'in', ['friend@example.com', 'clicker@example.com'])
          .orderBy('email')
          .execute(),
      );
      expect(sources.map((r) => [r.email, Number(r.source_issue_id)])).toEqual([
        ['clicker@example.com', issue.issueId],
        ['friend@example.com', issue.issueId],
      ]);
    });

    it('hits on deliveries never sent (queued, failed) count in no figure: forged tokens cannot push a rate past 100 %', async () => {
      const unsent = await withDb(server.databaseUrl, async (db) => {
        const ids: number[] = [];
        for (const status of ['queued', 'queued', 'failed'] as const) {
          const { deliveryId } = await seedDelivery(db, other.issueId, Date.now());
          await db.updateTable('deliveries').set({ status, sent_at: null }).where('id', '=', deliveryId).execute();
          ids.push(deliveryId);
        }
        const { deliveryId } = await seedDelivery(db, other.issueId, Date.now() - 30 * MINUTE);
        await db
          .updateTable('sends')
          .set({ started_at: Date.now() - 30 * MINUTE })
          .where('issue_id', '=', other.issueId)
          .execute();
        return { ids, sentOfOther: deliveryId };
      });
      const before = { opens: await count('opens'), clicks: await count('clicks') };
      // Tokens made with the secret for messages that never went out: the pixel, again and again, and a click.
      for (let i = 0; i < 20; i++)
        for (const id of unsent.ids) expect((await get(openUrl(server.url, id), { ip: IP.home })).status).toBe(200);
      for (const id of unsent.ids) {
        const res = await get(clickUrl(server.url, id, other.links.site.id), { ip: IP.home });
        expect(res.status).toBe(302); // the link still works for whoever has it
        expect(res.headers.getSetCookie()).toEqual([]);
      }
      expect({ opens: await count('opens'), clicks: await count('clicks') }).toEqual(before);
      // The one message sent is read: the issue's figures are of it alone.
      await get(openUrl(server.url, unsent.sentOfOther), { ip: IP.home });
      const key = await apiKeyFor(server.databaseUrl, 'marketer');
      const report = (await (
        await fetch(`${server.url}/api/issues/${other.issueId}/report`, { headers: { authorization: `Bearer ${key}` } })
      ).json()) as { issue: Record<string, number> };
      expect(report.issue).toMatchObject({
        delivered: 1,
        unique_opens: 1,
        unique_human_opens: 1,
        open_rate: 1,
        human_open_rate: 1,
        unique_human_clicks: 0,
      });
    });

    it('classification replay: who sent each hit — Apple, Gmail’s proxy, a security gateway sweeping, the honeypot, a bot agent, a reader, a phone tap', async () => {
      // Apple Mail Privacy Protection: a bare "Mozilla/5.0" fetch from Apple's network.
      const apple = await delivery(30_000);
      await get(openUrl(server.url, apple.deliveryId), { ua: 'Mozilla/5.0', ip: IP.apple });
      expect(await opensOf(apple.deliveryId)).toMatchObject([
        {
          class: 'apple_mpp',
          reason: expect.stringMatching(
            /^Apple Mail Privacy Protection: Apple \(AS714\) fetched it \d+ s after delivery$/,
          ),
        },
      ]);
      expect((await deliveryOf(apple.deliveryId)).first_opened_at).toBeNull();

      // Gmail's image proxy: counts as a human open.
      const gmail = await delivery(20 * MINUTE);
      await get(openUrl(server.url, gmail.deliveryId), {
        ua: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
        ip: IP.gmail,
      });
      expect(await opensOf(gmail.deliveryId)).toMatchObject([
        {
          class: 'proxy',
          reason: expect.stringMatching(/^Gmail image proxy \(.*AS15169\)\): fetched as the reader opened it$/),
        },
      ]);
      expect((await deliveryOf(gmail.deliveryId)).first_opened_at).not.toBeNull();

      // Microsoft's mail protection: renders the pixel 30 s after delivery, then follows every link, paced.
      const scanner = await delivery(30_000);
      await get(openUrl(server.url, scanner.deliveryId), { ua: chrome, ip: IP.eop });
      for (const kind of ['site', 'external', 'tel', 'mailto'] as const)
        await get(clickUrl(server.url, scanner.deliveryId, issue.links[kind].id), { ua: chrome, ip: IP.eop });
      const scanned = await clicksOf(scanner.deliveryId);
      expect(scanned.map((c) => c.class)).toEqual(['bot', 'bot', 'bot', 'bot']);
      for (const c of scanned) expect(c.reason).toContain('Microsoft Exchange Online Protection (AS8075)');
      expect(await opensOf(scanner.deliveryId)).toMatchObject([
        {
          class: 'scanner',
          reason: expect.stringMatching(
            /^Microsoft Exchange Online Protection \(AS8075\), a mail security gateway, loaded the pixel \d+ s after delivery$/,
          ),
        },
      ]);
      expect(await deliveryOf(scanner.deliveryId)).toEqual({ first_opened_at: null, first_clicked_at: null });

      // The hidden honeypot link and a known bot agent.
      const trap = await delivery(20 * MINUTE);
      const hp = await get(clickUrl(server.url, trap.deliveryId, issue.links.honeypot.id), { ip: IP.aws });
      expect(hp.status).toBe(302);
      expect(hp.headers.getSetCookie()).toEqual([
        expect.stringMatching(/^ff_click=[^;]+; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/),
      ]);
      await get(clickUrl(server.url, trap.deliveryId, issue.links.site.id), { ua: 'curl/8.5.0', ip: IP.home });
      expect(await clicksOf(trap.deliveryId)).toMatchObject([
        {
          class: 'bot',
          reason: expect.stringMatching(
            /^followed the hidden link no reader sees \(Chrome on Linux, Amazon Web Services \(AS14618\)\) \d+ min after delivery$/,
          ),
        },
        {
          class: 'bot',
          reason: expect.stringMatching(
            /^a bot agent from Comcast Cable Communications, LLC \(AS7922\) followed a link/,
          ),
        },
      ]);

      // A desktop click seconds after delivery, never seen there before: a machine. A phone tap at the same age: a reader.
      const early = await delivery(3_000);
      await get(clickUrl(server.url, early.deliveryId, issue.links.site.id), { ip: IP.home });
      expect(await clicksOf(early.deliveryId)).toMatchObject([
        { class: 'bot', reason: expect.stringMatching(/^clicked \d s after delivery \(Chrome on Linux, Comcast/) },
      ]);
      const tap = await delivery(3_000);
      await get(clickUrl(server.url, tap.deliveryId, issue.links.site.id), { ua: android, ip: IP.mobile });
      expect(await clicksOf(tap.deliveryId)).toMatchObject([
        { class: 'human', reason: 'reader: Chrome on Android, T-Mobile USA, Inc. (AS21928)' },
      ]);

      // A reader: opens twenty minutes after delivery, clicks one link later.
      const reader = await delivery(20 * MINUTE);
      await get(openUrl(server.url, reader.deliveryId), { ip: IP.home });
      await new Promise((r) => setTimeout(r, 300));
      await get(clickUrl(server.url, reader.deliveryId, issue.links.external.id), { ip: IP.home });
      expect(await opensOf(reader.deliveryId)).toMatchObject([{ class: 'human' }]);
      expect(await clicksOf(reader.deliveryId)).toMatchObject([
        { class: 'human', reason: expect.stringMatching(/^reader: /) },
      ]);
      const d = await deliveryOf(reader.deliveryId);
      expect(Number(d.first_clicked_at)).toBeGreaterThan(Number(d.first_opened_at));
    });
  });
}
