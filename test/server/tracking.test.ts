import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { clickUrl, openUrl, testClickUrl, seedDelivery, seedIssue, TEST_SECRET, withDb, type SeededIssue } from '../helpers/tracking.ts';
import { makeClickToken, makeOpenToken } from '../../src/lib/tracking/tokens.ts';

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

async function get(url: string, init: { ua?: string; method?: string } = {}) {
  return fetch(url, { method: init.method ?? 'GET', redirect: 'manual', headers: { 'user-agent': init.ua ?? chrome } });
}

for (const dialect of testDialects()) {
  describe(`tracking fast path [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let issue: SeededIssue;
    let other: SeededIssue;

    const opensOf = (deliveryId: number) => withDb(server.databaseUrl, (db) => db.selectFrom('opens').select(['class', 'reason', 'subscriber_id', 'issue_id']).where('delivery_id', '=', deliveryId).orderBy('id').execute());
    const clicksOf = (deliveryId: number) => withDb(server.databaseUrl, (db) => db.selectFrom('clicks').select(['class', 'reason', 'link_id']).where('delivery_id', '=', deliveryId).orderBy('id').execute());
    const deliveryOf = (deliveryId: number) => withDb(server.databaseUrl, (db) => db.selectFrom('deliveries').select(['first_opened_at', 'first_clicked_at']).where('id', '=', deliveryId).executeTakeFirstOrThrow());
    const count = (table: 'opens' | 'clicks') => withDb(server.databaseUrl, async (db) => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n));
    const delivery = (sentAgoMs: number) => withDb(server.databaseUrl, (db) => seedDelivery(db, issue.issueId, Date.now() - sentAgoMs));

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-track-'));
      const created = await createTestDatabaseUrl(dialect, dir);
      drop = created.drop;
      server = await startServer({ dataDir: dir, databaseUrl: created.url, env: { SECRET: TEST_SECRET, SEND_WORKER: '0', TRUST_PROXY: '1' } });
      ({ issue, other } = await withDb(server.databaseUrl, async (db) => ({ issue: await seedIssue(db, server.url), other: await seedIssue(db, server.url) })));
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
      expect(await opensOf(deliveryId)).toEqual([{ class: 'human', reason: 'reader', subscriber_id: subscriberId, issue_id: issue.issueId }]);
      expect((await deliveryOf(deliveryId)).first_opened_at).not.toBeNull();
      // HEAD: answered, never counted.
      const head = await get(openUrl(server.url, deliveryId), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await opensOf(deliveryId)).toHaveLength(1);
    });

    it('the pixel reads the agent and, behind a trusted proxy, the client address the way every other route does', async () => {
      const { deliveryId } = await delivery(10 * MINUTE);
      // Apple's prefetcher through our proxy (TRUST_PROXY=1): the address is the last hop the proxy saw.
      const apple = await fetch(openUrl(server.url, deliveryId), { headers: { 'User-Agent': 'Mozilla/5.0', 'X-Forwarded-For': '203.0.113.9, 17.58.1.9' } });
      expect(apple.status).toBe(200);
      // A client naming an Apple address itself, in front of the proxy, is not believed.
      const spoofed = await fetch(openUrl(server.url, deliveryId), { headers: { 'user-agent': chrome, 'x-forwarded-for': '17.58.1.9, 81.2.3.4' } });
      expect(spoofed.status).toBe(200);
      expect((await opensOf(deliveryId)).map((o) => [o.class, o.reason])).toEqual([
        ['apple_mpp', 'Apple proxy address and agent'],
        ['human', 'reader'],
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
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/^ff_attr=[^;]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/);
      expect(await clicksOf(deliveryId)).toEqual([{ class: 'human', reason: 'reader', link_id: issue.links.site.id }]);
      expect((await deliveryOf(deliveryId)).first_clicked_at).not.toBeNull();
      for (const kind of ['tel', 'mailto'] as const) {
        await new Promise((r) => setTimeout(r, 2100)); // not a burst
        const r = await get(clickUrl(server.url, deliveryId, issue.links[kind].id));
        expect(r.status).toBe(302);
        expect(r.headers.get('location')).toBe(issue.links[kind].url);
      }
      // HEAD: answered with the redirect, never recorded; test tokens redirect and record nothing.
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
      const evil = ['//evil.example', '\\\\evil.example', '/\\evil.example', 'javascript:alert(1)', '%2F%2Fevil.example', '%5C%5Cevil.example', 'https:%2F%2Fevil.example', '%252F%252Fevil.example', 'http://evil.example'];
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
      expect((await get(`${server.url}/t/c/${makeClickToken(TEST_SECRET, deliveryId, other.links.site.id)}`, { method: 'HEAD' })).status).toBe(404);
      expect((await get(`${server.url}/t/c/${makeClickToken(TEST_SECRET, 987_654_321, issue.links.site.id)}`)).status).toBe(404);
      expect(await clicksOf(deliveryId)).toHaveLength(stored);
    });

    it('attribution over HTTP: click → landing and two pages make one attributed visit; signups from the cookie and from a forwarded link name the issue', async () => {
      const { deliveryId, subscriberId } = await delivery(20 * MINUTE);
      const click = await get(clickUrl(server.url, deliveryId, issue.links.site.id));
      const cookie = (click.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect(cookie).toMatch(/^ff_attr=/);
      const landing = new URL(click.headers.get('location')!);
      const browse = (p: string) => fetch(server.url + p, { headers: { 'user-agent': chrome, cookie } });
      expect((await browse(landing.pathname + landing.search)).status).toBe(200);
      expect((await browse('/')).status).toBe(200);
      expect((await browse('/articles/')).status).toBe(200);
      const { views, visits, firstVisit } = await withDb(server.databaseUrl, async (db) => ({
        views: await db.selectFrom('page_views').select(['path', 'issue_id', 'subscriber_id']).where('subscriber_id', '=', subscriberId).orderBy('id').execute(),
        visits: await db.selectFrom('visits').selectAll().where('subscriber_id', '=', subscriberId).execute(),
        firstVisit: (await db.selectFrom('deliveries').select('first_visit_at').where('id', '=', deliveryId).executeTakeFirstOrThrow()).first_visit_at,
      }));
      expect(views.map((v) => Number(v.issue_id))).toEqual([issue.issueId, issue.issueId, issue.issueId]);
      expect(visits).toHaveLength(1);
      expect(visits[0]).toMatchObject({ landing_path: landing.pathname, attributed_by: 'utm', is_later: 0 });
      expect(Number(visits[0]!.views)).toBe(3);
      expect(Number(visits[0]!.issue_id)).toBe(issue.issueId);
      expect(firstVisit).not.toBeNull();

      const signup = (email: string, headers: Record<string, string>) =>
        fetch(`${server.url}/subscribe?_action=subscribe`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, 'user-agent': chrome, ...headers },
          body: new URLSearchParams({ email, source: 'subscribe-page', website: '' }),
        });
      // A friend on a forwarded link: no cookie, the page had the issue's utm_campaign.
      expect((await signup('friend@example.com', { referer: `${server.url}/subscribe/?utm_source=newsletter&utm_campaign=${issue.slug}` })).status).toBeLessThan(400);
      // Someone carrying the cookie, on a page without any campaign.
      expect((await signup('clicker@example.com', { cookie, referer: `${server.url}/subscribe/` })).status).toBeLessThan(400);
      const sources = await withDb(server.databaseUrl, (db) => db.selectFrom('subscribers').select(['email', 'source_issue_id']).where('email', 'in', ['friend@example.com', 'clicker@example.com']).orderBy('email').execute());
      expect(sources.map((r) => [r.email, Number(r.source_issue_id)])).toEqual([
        ['clicker@example.com', issue.issueId],
        ['friend@example.com', issue.issueId],
      ]);
    });

    it('classification replay: Apple prefetch, Gmail proxy, a scanner clicking every link, the honeypot, a bot agent, a reader', async () => {
      // Apple Mail Privacy Protection: a bare "Mozilla/5.0" fetch shortly after delivery.
      const apple = await delivery(30_000);
      await get(openUrl(server.url, apple.deliveryId), { ua: 'Mozilla/5.0' });
      expect(await opensOf(apple.deliveryId)).toMatchObject([{ class: 'apple_mpp', reason: expect.stringMatching(/^Apple prefetch agent, \d+ s after delivery$/) }]);
      expect((await deliveryOf(apple.deliveryId)).first_opened_at).toBeNull();

      // Gmail's image proxy: counts as a human open.
      const gmail = await delivery(20 * MINUTE);
      await get(openUrl(server.url, gmail.deliveryId), { ua: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' });
      expect(await opensOf(gmail.deliveryId)).toMatchObject([{ class: 'proxy', reason: 'Gmail image proxy' }]);
      expect((await deliveryOf(gmail.deliveryId)).first_opened_at).not.toBeNull();

      // A security scanner: opens 30 s after delivery, then clicks every link within a second.
      const scanner = await delivery(30_000);
      await get(openUrl(server.url, scanner.deliveryId), { ua: chrome });
      for (const kind of ['site', 'external', 'tel', 'mailto'] as const) await get(clickUrl(server.url, scanner.deliveryId, issue.links[kind].id), { ua: chrome });
      const scanned = await clicksOf(scanner.deliveryId);
      expect(scanned).toHaveLength(4);
      for (const c of scanned) expect(c).toMatchObject({ class: 'bot', reason: expect.stringMatching(/links within 2 s$/) });
      expect(await opensOf(scanner.deliveryId)).toMatchObject([{ class: 'scanner' }]);
      expect(await deliveryOf(scanner.deliveryId)).toEqual({ first_opened_at: null, first_clicked_at: null });

      // The hidden honeypot link and a known bot agent.
      const trap = await delivery(20 * MINUTE);
      const hp = await get(clickUrl(server.url, trap.deliveryId, issue.links.honeypot.id));
      expect(hp.status).toBe(302);
      expect(hp.headers.get('set-cookie')).toBeNull();
      await get(clickUrl(server.url, trap.deliveryId, issue.links.site.id), { ua: 'curl/8.5.0' });
      expect(await clicksOf(trap.deliveryId)).toMatchObject([
        { class: 'bot', reason: 'hidden honeypot link' },
        { class: 'bot', reason: 'known bot agent' },
      ]);

      // A click seconds after delivery.
      const early = await delivery(3_000);
      await get(clickUrl(server.url, early.deliveryId, issue.links.site.id));
      expect(await clicksOf(early.deliveryId)).toMatchObject([{ class: 'bot', reason: expect.stringMatching(/^clicked \d s after delivery$/) }]);

      // A reader: opens twenty minutes after delivery, clicks one link later.
      const reader = await delivery(20 * MINUTE);
      await get(openUrl(server.url, reader.deliveryId));
      await new Promise((r) => setTimeout(r, 300));
      await get(clickUrl(server.url, reader.deliveryId, issue.links.external.id));
      expect(await opensOf(reader.deliveryId)).toMatchObject([{ class: 'human' }]);
      expect(await clicksOf(reader.deliveryId)).toMatchObject([{ class: 'human', reason: 'reader' }]);
      const d = await deliveryOf(reader.deliveryId);
      expect(Number(d.first_clicked_at)).toBeGreaterThan(Number(d.first_opened_at));
    });
  });
}
