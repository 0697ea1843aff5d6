import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { linkIn, subscriberCount, subscriberIn } from '../helpers/subscribers.ts';
import { builtArticlePaths } from '../helpers/site.ts';
import { addAccount, sessionCookie } from '../helpers/accounts.ts';
import { floodPost } from '../helpers/hostile-http.ts';
import { subscriberToken } from '../../src/lib/subscribers/links.ts';

let nextAddress = 1;
/** A distinct client address per request (TRUST_PROXY=1), so the per-address signup limit stays out of the way. */
const freshIp = () => `198.51.100.${nextAddress++}`;

for (const dialect of testDialects()) {
  describe(`subscribers over HTTP and real SMTP [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    /** Addresses the sink refuses from now on (a mailbox that went away between two emails). */
    const refused = new Set<string>();

    beforeAll(async () => {
      sink = await startSmtpSink({ respond: (rcpt) => (refused.has(rcpt) ? { code: 550, message: '5.1.1 Mailbox unavailable' } : null) });
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-subs-'));
      const db = await createTestDatabaseUrl(dialect, dir);
      drop = db.drop;
      server = await startServer({ dataDir: dir, databaseUrl: db.url, env: { SMTP_URL: sink.url, TRUST_PROXY: '1' } });
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    function signup(fields: Record<string, string | string[]>, options: { ip?: string; referer?: string; origin?: string } = {}) {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) for (const value of [v].flat()) body.append(k, value);
      return fetch(`${server.url}/subscribe?_action=subscribe`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: options.origin ?? server.url,
          'x-forwarded-for': options.ip ?? freshIp(),
          ...(options.referer ? { referer: options.referer } : {}),
        },
        body,
      });
    }

    it('signup → confirmation mail over SMTP → follow the link → active, with consent and source', async () => {
      const article = builtArticlePaths()[0]!;
      const before = sink.messages.length;
      const res = await signup(
        { email: 'Reader@Example.com', name: 'Rea', topics: ['guides', 'store-news'], source: `article:${article}`, website: '' },
        { referer: `${server.url}${article}?utm_source=newsletter&utm_campaign=spring-issue` },
      );
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Check your inbox');
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      expect(mail!.to).toMatchObject({ text: 'reader@example.com' });
      expect(mail!.subject).toMatch(/Confirm your subscription/);
      const confirm = linkIn(mail!.text, `${server.url}/subscribe/confirm?token=`);
      expect(mail!.html).toContain(confirm.replace(/&/g, '&amp;'));
      expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('pending');

      const page = await fetch(confirm);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("You're subscribed");
      const stored = await subscriberIn(server.databaseUrl, 'reader@example.com');
      expect(stored).toMatchObject({ status: 'active', name: 'Rea', source_form: `article:${article}`, source_campaign: 'spring-issue', topics: ['guides', 'store-news'] });
      expect(stored!.consent_at).toBeGreaterThan(0);
      expect(stored!.consent_text_version).toBeTruthy();
    });

    it('RFC 8058: ten GETs never unsubscribe; a bare POST without cookies or Origin does; a tampered token changes nothing', async () => {
      const before = sink.messages.length;
      await signup({ email: 'oneclick@example.com' });
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      await fetch(linkIn(mail!.text, `${server.url}/subscribe/confirm?token=`));
      const stored = await subscriberIn(server.databaseUrl, 'oneclick@example.com');
      // the unsubscribe URL is reachable from the preferences link on the confirmation page
      const confirmPage = await (await fetch(linkIn(mail!.text, `${server.url}/subscribe/confirm?token=`))).text();
      const prefs = /href="([^"]*\/preferences\/[^"]+)"/.exec(confirmPage)![1]!;
      const token = prefs.split('/preferences/')[1]!;
      const unsubscribeUrl = `${server.url}/unsubscribe/${token}`;

      for (let i = 0; i < 10; i++) {
        const get = await fetch(unsubscribeUrl);
        expect(get.status).toBe(200);
        expect(await get.text()).toContain('Unsubscribe from the newsletter?');
      }
      expect((await subscriberIn(server.databaseUrl, 'oneclick@example.com'))?.status).toBe('active');

      const tampered = await fetch(`${server.url}/unsubscribe/${token.slice(0, -3)}abc`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(tampered.status).toBe(400);
      const noBody = await fetch(unsubscribeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      expect(noBody.status).toBe(400);
      expect((await subscriberIn(server.databaseUrl, 'oneclick@example.com'))?.status).toBe('active');

      const post = await fetch(unsubscribeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(post.status).toBe(200);
      expect(await post.text()).toMatch(/Unsubscribed/);
      expect(await subscriberIn(server.databaseUrl, 'oneclick@example.com')).toMatchObject({ id: stored!.id, status: 'unsubscribed' });
      const again = await fetch(unsubscribeUrl, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n' });
      expect(again.status).toBe(200);
      expect(await again.text()).toMatch(/Already unsubscribed/);
    });

    it('a signup of an active address looks the same and sends nothing', async () => {
      const before = sink.messages.length;
      await signup({ email: 'twice@example.com' });
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      await fetch(linkIn(mail!.text, `${server.url}/subscribe/confirm?token=`));
      await sink.waitFor(before + 2); // the welcome email
      const res = await signup({ email: 'twice@example.com' });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Check your inbox');
      await new Promise((r) => setTimeout(r, 300));
      expect(sink.messages.length).toBe(before + 2);
    });

    it('confirming sends a welcome email with one-click unsubscribe headers and the personal links in its footer', async () => {
      const before = sink.messages.length;
      await signup({ email: 'welcome@example.com', name: 'Wel' });
      const [confirmation] = (await sink.waitFor(before + 1)).slice(before);
      expect((await fetch(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`))).status).toBe(200);
      const [welcome] = (await sink.waitFor(before + 2)).slice(before + 1);
      expect(welcome!.subject).toBe('Welcome to the Frobozz Electric newsletter');
      expect(welcome!.to).toMatchObject({ text: 'welcome@example.com' });
      const unsubscribeUrl = linkIn(welcome!.text, `${server.url}/unsubscribe/`);
      const preferences = linkIn(welcome!.text, `${server.url}/preferences/`);
      // As sent, unfolded (mailparser turns List-* headers into objects).
      const header = (name: string) => welcome!.headerLines.find((h) => h.key === name)?.line.replace(/^[^:]+:\s*/, '').replace(/\r?\n[ \t]+/g, ' ');
      expect(header('list-unsubscribe')).toBe(`<${unsubscribeUrl}>, <mailto:newsletter@localhost?subject=unsubscribe>`);
      expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(welcome!.html).toContain(`href="${unsubscribeUrl}"`);
      expect(welcome!.html).toContain(`href="${preferences}"`);
      // Following the confirmation link again sends no second welcome.
      await fetch(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`));
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.messages.length).toBe(before + 2);
      // The footer link is the unsubscribe page, and its button unsubscribes.
      expect(await (await fetch(unsubscribeUrl)).text()).toContain('Unsubscribe from the newsletter?');
      const oneClick = await fetch(unsubscribeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(oneClick.status).toBe(200);
      expect((await subscriberIn(server.databaseUrl, 'welcome@example.com'))?.status).toBe('unsubscribed');
    });

    it('a welcome email that cannot be sent does not undo the confirmation', async () => {
      const before = sink.messages.length;
      await signup({ email: 'gone@example.com' });
      const [confirmation] = (await sink.waitFor(before + 1)).slice(before);
      refused.add('gone@example.com');
      const page = await fetch(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("You're subscribed");
      expect((await subscriberIn(server.databaseUrl, 'gone@example.com'))?.status).toBe('active');
      expect(server.output()).toMatch(/\[subscribers\] welcome email to subscriber #\d+ failed/);
      expect(sink.messages.length).toBe(before + 1);
    });

    it('with SMTP configured, the outbox viewer says that mail goes out over SMTP', async () => {
      const cookie = await sessionCookie(server.databaseUrl, await addAccount(server.databaseUrl, `mara-${dialect}@example.com`, 'marketer'));
      const page = await fetch(`${server.url}/admin/outbox`, { headers: { cookie } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Mail goes out through the SMTP server (SMTP_URL is set), so the outbox stays empty');
      expect(html).toContain('The outbox is empty');
    });

    it('bad input gets a clear message and stores nothing', async () => {
      const count = await subscriberCount(server.databaseUrl);
      const sent = sink.messages.length;
      const invalid = await signup({ email: 'not-an-address' });
      expect(invalid.status).toBe(400);
      expect(await invalid.text()).toMatch(/not a valid email address/);
      const injection = await signup({ email: 'a@b.c\r\nBcc: x@y.z' });
      expect(injection.status).toBe(400);
      expect(await injection.text()).toMatch(/line breaks/);
      const huge = await signup({ email: 'x'.repeat(5 * 1024 * 1024) });
      expect([400, 413]).toContain(huge.status);
      const script = await signup({ email: 'bot@example.com', website: 'http://spam.example' });
      expect(script.status).toBe(200); // the honeypot gets the same answer…
      const crossSite = await signup({ email: 'csrf@example.com' }, { origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect(await subscriberCount(server.databaseUrl)).toBe(count); // …and nothing is stored
      expect(sink.messages.length).toBe(sent);
    });

    it('a 300 MB chunked body to the signup action or a one-click unsubscribe → 413 as it streams; nothing stored or changed, memory flat', async () => {
      const reader = builtArticlePaths()[0]!;
      const count = await subscriberCount(server.databaseUrl);
      const sent = sink.messages.length;
      const signupFlood = await floodPost(server, '/subscribe?_action=subscribe', { totalBytes: 300 * 1024 * 1024, headers: { accept: 'text/html', 'x-forwarded-for': freshIp() }, readerPath: reader });
      expect(signupFlood.status).toBe(413);
      expect(signupFlood.rssGrowthMb).toBeLessThan(20);
      expect(signupFlood.readerStatuses.length).toBeGreaterThan(0);
      expect(new Set(signupFlood.readerStatuses)).toEqual(new Set([200]));

      const reader1 = (await subscriberIn(server.databaseUrl, 'reader@example.com'))!;
      expect(reader1.status).toBe('active');
      const token = subscriberToken({ secret: readFileSync(path.join(server.dataDir, 'secret'), 'utf8').trim(), siteUrl: server.url }, reader1.id);
      const oneClick = await floodPost(server, `/unsubscribe/${token}`, { totalBytes: 300 * 1024 * 1024, readerPath: reader });
      expect(oneClick.status).toBe(413);
      expect(oneClick.body).toMatch(/larger than 4 KB/);
      expect(oneClick.rssGrowthMb).toBeLessThan(20);
      expect(new Set(oneClick.readerStatuses)).toEqual(new Set([200]));
      expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('active');
      expect(await subscriberCount(server.databaseUrl)).toBe(count);
      expect(sink.messages.length).toBe(sent);
    });

    it('rate limits signups per client address', async () => {
      const ip = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await signup({ email: `burst${i}@example.com` }, { ip })).status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses[5]).toBe(429);
      expect(await subscriberIn(server.databaseUrl, 'burst5@example.com')).toBeUndefined();
    });

    it('every page with a signup form posts to /subscribe, and the form works without JavaScript', async () => {
      const article = await (await fetch(`${server.url}${builtArticlePaths()[0]}`)).text();
      expect(article).toMatch(/<form[^>]+method="post"[^>]+action="\/subscribe\?_action=subscribe"/);
      expect(article).toContain('name="website"');
      const home = await (await fetch(`${server.url}/`)).text();
      expect(home).toContain('action="/subscribe?_action=subscribe"');
      const page = await fetch(`${server.url}/subscribe`);
      expect(page.status).toBe(200);
    });
  });
}
