import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { linkIn, pressConfirm, subscriberCount, subscriberIn } from '../helpers/subscribers.ts';
import { builtArticlePaths } from '../helpers/site.ts';
import { addAccount, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { floodPost } from '../helpers/hostile-http.ts';
import { subscriberToken } from '../../src/lib/subscribers/links.ts';
import { signToken } from '../../src/lib/security/signed-token.ts';

const SECRET = 'subscriber-links-test-secret-'.padEnd(48, 'x');

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
      sink = await startSmtpSink({
        respond: (rcpt) => (refused.has(rcpt) ? { code: 550, message: '5.1.1 Mailbox unavailable' } : null),
      });
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-subs-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: { SMTP_URL: sink.url, TRUST_PROXY: '1', SECRET },
      });
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    function signup(
      fields: Record<string, string | string[]>,
      options: { ip?: string; referer?: string; origin?: string } = {},
    ) {
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
        {
          email: 'Reader@Example.com',
          name: 'Rea',
          topics: ['guides', 'store-news'],
          source: `article:${article}`,
          website: '',
        },
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

      // Ten GETs, as mail scanners make on arrival, change nothing: the page shows a button.
      for (let i = 0; i < 10; i++) {
        const look = await fetch(confirm, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; SafeLinks scanner)' } });
        expect(look.status).toBe(200);
        expect(await look.text()).toContain('Confirm my subscription');
      }
      expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('pending');
      expect(sink.messages.length).toBe(before + 1);
      const page = await pressConfirm(confirm);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("You're subscribed");
      const stored = await subscriberIn(server.databaseUrl, 'reader@example.com');
      expect(stored).toMatchObject({
        status: 'active',
        name: 'Rea',
        source_form: `article:${article}`,
        source_campaign: 'spring-issue',
        topics: ['guides', 'store-news'],
      });
      expect(stored!.consent_at).toBeGreaterThan(0);
      expect(stored!.consent_text_version).toBeTruthy();
    });

    it('RFC 8058: ten GETs never unsubscribe; a bare POST without cookies or Origin does; a tampered token changes nothing', async () => {
      const before = sink.messages.length;
      await signup({ email: 'oneclick@example.com' });
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      await pressConfirm(linkIn(mail!.text, `${server.url}/subscribe/confirm?token=`));
      const stored = await subscriberIn(server.databaseUrl, 'oneclick@example.com');
      const [welcome] = (await sink.waitFor(before + 2)).slice(before + 1);
      const unsubscribeUrl = linkIn(welcome!.text, `${server.url}/unsubscribe/`);
      const token = unsubscribeUrl.split('/unsubscribe/')[1]!;

      for (let i = 0; i < 10; i++) {
        const get = await fetch(unsubscribeUrl);
        expect(get.status).toBe(200);
        expect(await get.text()).toContain('Unsubscribe from the newsletter?');
      }
      expect((await subscriberIn(server.databaseUrl, 'oneclick@example.com'))?.status).toBe('active');

      const tampered = await fetch(`${server.url}/unsubscribe/${token.slice(0, -3)}abc`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(tampered.status).toBe(400);
      const noBody = await fetch(unsubscribeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect(noBody.status).toBe(400);
      expect((await subscriberIn(server.databaseUrl, 'oneclick@example.com'))?.status).toBe('active');

      const post = await fetch(unsubscribeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(post.status).toBe(200);
      expect(await post.text()).toMatch(/Unsubscribed/);
      expect(await subscriberIn(server.databaseUrl, 'oneclick@example.com')).toMatchObject({
        id: stored!.id,
        status: 'unsubscribed',
      });
      const again = await fetch(unsubscribeUrl, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        body: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n',
      });
      expect(again.status).toBe(200);
      expect(await again.text()).toMatch(/Already unsubscribed/);
    });

    it('a signup of an active address looks the same and sends nothing', async () => {
      const before = sink.messages.length;
      await signup({ email: 'twice@example.com' });
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      await pressConfirm(linkIn(mail!.text, `${server.url}/subscribe/confirm?token=`));
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
      expect((await pressConfirm(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`))).status).toBe(
        200,
      );
      const [welcome] = (await sink.waitFor(before + 2)).slice(before + 1);
      expect(welcome!.subject).toBe('Welcome to the Frobozz Electric newsletter');
      expect(welcome!.to).toMatchObject({ text: 'welcome@example.com' });
      const unsubscribeUrl = linkIn(welcome!.text, `${server.url}/unsubscribe/`);
      const preferences = linkIn(welcome!.text, `${server.url}/preferences/`);
      // As sent, unfolded (mailparser turns List-* headers into objects).
      const header = (name: string) =>
        welcome!.headerLines
          .find((h) => h.key === name)
          ?.line.replace(/^[^:]+:\s*/, '')
          .replace(/\r?\n[ \t]+/g, ' ');
      expect(header('list-unsubscribe')).toBe(`<${unsubscribeUrl}>, <mailto:newsletter@localhost?subject=unsubscribe>`);
      expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(welcome!.html).toContain(`href="${unsubscribeUrl}"`);
      expect(welcome!.html).toContain(`href="${preferences}"`);
      // Following the confirmation link again sends no second welcome: it says so, and has no button.
      const again = await fetch(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`));
      expect(await again.text()).toContain("You're already subscribed");
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.messages.length).toBe(before + 2);
      // The footer link is the unsubscribe page, and its button unsubscribes.
      expect(await (await fetch(unsubscribeUrl)).text()).toContain('Unsubscribe from the newsletter?');
      const oneClick = await fetch(unsubscribeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(oneClick.status).toBe(200);
      expect((await subscriberIn(server.databaseUrl, 'welcome@example.com'))?.status).toBe('unsubscribed');
    });

    /** A signup confirmed through the page's button; answers the welcome email's personal links. */
    async function confirmedSubscriber(email: string) {
      const before = sink.messages.length;
      await signup({ email });
      const [confirmation] = (await sink.waitFor(before + 1)).slice(before);
      const confirmLink = linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`);
      expect((await pressConfirm(confirmLink)).status).toBe(200);
      const [welcome] = (await sink.waitFor(before + 2)).slice(before + 1);
      const id = (await subscriberIn(server.databaseUrl, email))!.id;
      return {
        id,
        confirmLink,
        unsubscribe: linkIn(welcome!.text, `${server.url}/unsubscribe/`),
        preferences: linkIn(welcome!.text, `${server.url}/preferences/`),
      };
    }
    const oneClick = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    const pageAction = (page: string, action: string, fields: Record<string, string>) =>
      fetch(`${page}?_action=${action}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams(fields),
      });
    /** The last confirmation email went out an hour ago (another may go now: two minutes apart at least). */
    const sentLongAgo = (id: number) =>
      withDatabase(server.databaseUrl, (db) =>
        db
          .updateTable('subscribers')
          .set({ confirmation_sent_at: Date.now() - 3_600_000 })
          .where('id', '=', id)
          .execute(),
      );
    const eventsOf = (id: number) =>
      withDatabase(server.databaseUrl, async (db) =>
        (
          await db
            .selectFrom('subscriber_events')
            .select('kind')
            .where('subscriber_id', '=', id)
            .orderBy('id')
            .execute()
        ).map((e) => e.kind),
      );

    it('an old confirmation link does not bring back someone who unsubscribed; a new signup and its own confirmation do', async () => {
      const { id, confirmLink, unsubscribe } = await confirmedSubscriber('left@example.com');
      expect((await oneClick(unsubscribe)).status).toBe(200);
      const mails = sink.messages.length;
      const old = await fetch(confirmLink);
      expect(old.status).toBe(409);
      const oldPage = await old.text();
      expect(oldPage).toContain('This link is from before you unsubscribed');
      expect(oldPage).not.toContain('Confirm my subscription');
      // Posting the old token straight to the button's action changes nothing either.
      const forced = await pageAction(`${server.url}/subscribe/confirm`, 'confirmSignup', {
        token: new URL(confirmLink).searchParams.get('token')!,
      });
      expect(await forced.text()).toContain('This link is from before you unsubscribed');
      expect((await subscriberIn(server.databaseUrl, 'left@example.com'))?.status).toBe('unsubscribed');
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.messages.length).toBe(mails); // no second welcome
      expect(await eventsOf(id)).toEqual(['signup', 'confirmed', 'email_sent', 'unsubscribed']);

      // Coming back: a new signup sends a new link; the person stays unsubscribed until it is confirmed.
      await sentLongAgo(id);
      await signup({ email: 'left@example.com', name: 'Someone Else' });
      const [again] = (await sink.waitFor(mails + 1)).slice(mails);
      const fresh = linkIn(again!.text, `${server.url}/subscribe/confirm?token=`);
      expect(await subscriberIn(server.databaseUrl, 'left@example.com')).toMatchObject({
        status: 'unsubscribed',
        name: null,
      });
      expect(await (await pressConfirm(fresh)).text()).toContain("You're subscribed");
      expect((await subscriberIn(server.databaseUrl, 'left@example.com'))?.status).toBe('active');
      expect(await eventsOf(id)).toEqual([
        'signup',
        'confirmed',
        'email_sent',
        'unsubscribed',
        'signup_repeated',
        'resubscribed',
        'email_sent',
      ]);
    });

    it('one-click unsubscribe works from old messages; "Subscribe again" only mails a confirmation, and nothing changes until it is followed', async () => {
      const { id, unsubscribe } = await confirmedSubscriber('return@example.com');
      expect((await oneClick(unsubscribe)).status).toBe(200);
      const page = await fetch(unsubscribe);
      const html = await page.text();
      expect(html).toContain("You're unsubscribed");
      expect(html).not.toContain('/preferences/'); // the never-expiring link opens no preferences page
      const mails = sink.messages.length;
      const token = unsubscribe.split('/unsubscribe/')[1]!;
      await sentLongAgo(id);
      const asked = await pageAction(unsubscribe, 'resubscribe', { token });
      expect(asked.status, await asked.clone().text()).toBe(200);
      expect(await asked.text()).toContain('We sent a confirmation link to');
      expect((await subscriberIn(server.databaseUrl, 'return@example.com'))?.status).toBe('unsubscribed');
      const [confirmation] = (await sink.waitFor(mails + 1)).slice(mails);
      expect(confirmation!.to).toMatchObject({ text: 'return@example.com' });
      // Pressing again right away sends nothing more.
      expect(await (await pageAction(unsubscribe, 'resubscribe', { token })).text()).toContain(
        'We sent a confirmation link a moment ago',
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.messages.length).toBe(mails + 1);
      await pressConfirm(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`));
      expect((await subscriberIn(server.databaseUrl, 'return@example.com'))?.status).toBe('active');
      expect((await eventsOf(id)).slice(-3)).toEqual(['resubscribe_requested', 'resubscribed', 'email_sent']);
      // The header of the very first message still unsubscribes (RFC 8058).
      expect((await oneClick(unsubscribe)).status).toBe(200);
      expect((await subscriberIn(server.databaseUrl, 'return@example.com'))?.status).toBe('unsubscribed');
    });

    it('preference links expire: an old or expired one shows no address and cannot erase or edit; a new link is mailed on request', async () => {
      const { id, unsubscribe, preferences } = await confirmedSubscriber('prefs@example.com');
      const fresh = await fetch(preferences);
      expect(fresh.status).toBe(200);
      const freshHtml = await fresh.text();
      expect(freshHtml).toContain('prefs@example.com');
      expect(freshHtml).toContain('Delete my data');
      expect(fresh.headers.get('referrer-policy')).toBe('same-origin'); // the token never leaves in a Referer

      const legacy = unsubscribe.split('/unsubscribe/')[1]!; // earlier emails linked the preferences page with this token
      const expired = signToken(SECRET, 'preferences', { s: id, x: Date.now() - 1000 });
      for (const token of [legacy, expired]) {
        const page = await fetch(`${server.url}/preferences/${token}`);
        expect(page.status).toBe(410);
        const html = await page.text();
        expect(html).toContain('This link has expired');
        expect(html).not.toContain('prefs@example.com');
        expect(html).not.toContain('Delete my data');
        const erase = await pageAction(`${server.url}/preferences/${token}`, 'eraseMyData', { token, confirm: 'yes' });
        expect(erase.status).toBe(403);
        const rename = await pageAction(`${server.url}/preferences/${token}`, 'savePreferences', {
          token,
          name: 'Hijacked',
          topics: 'offers',
        });
        expect(rename.status).toBe(403);
      }
      expect(await subscriberIn(server.databaseUrl, 'prefs@example.com')).toMatchObject({
        status: 'active',
        name: null,
        topics: [],
      });

      const mails = sink.messages.length;
      const asked = await pageAction(`${server.url}/preferences/${expired}`, 'mailPreferencesLink', { token: expired });
      expect(await asked.text()).toContain('a new link is on its way');
      const [mail] = (await sink.waitFor(mails + 1)).slice(mails);
      expect(mail!.subject).toBe('Your link to the Frobozz Electric newsletter preferences');
      expect(mail!.to).toMatchObject({ text: 'prefs@example.com' });
      const renewed = linkIn(mail!.text, `${server.url}/preferences/`);
      expect(renewed).not.toBe(preferences);
      expect(await (await fetch(renewed)).text()).toContain('prefs@example.com');
      expect((await eventsOf(id)).at(-1)).toBe('preferences_link_sent');
      // A forged token asks for nothing.
      expect((await pageAction(`${server.url}/preferences/x.y`, 'mailPreferencesLink', { token: 'x.y' })).status).toBe(
        400,
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.messages.length).toBe(mails + 1);
    });

    it('a welcome email that cannot be sent does not undo the confirmation', async () => {
      const before = sink.messages.length;
      await signup({ email: 'gone@example.com' });
      const [confirmation] = (await sink.waitFor(before + 1)).slice(before);
      refused.add('gone@example.com');
      const page = await pressConfirm(linkIn(confirmation!.text, `${server.url}/subscribe/confirm?token=`));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("You're subscribed");
      expect((await subscriberIn(server.databaseUrl, 'gone@example.com'))?.status).toBe('active');
      expect(server.output()).toMatch(/\[subscribers\] welcome email to subscriber #\d+ failed/);
      expect(sink.messages.length).toBe(before + 1);
    });

    it('with SMTP configured, the outbox viewer says that mail goes out over SMTP', async () => {
      const cookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, `mara-${dialect}@example.com`, 'marketer'),
      );
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
      // Flat: a buffered body would grow the server by the 300 MB it was sent; what the bound allows
      // is the readers' pages being served meanwhile (one measured 20.6 MB on a loaded CI machine).
      const FLAT_MB = 32;
      const signupFlood = await floodPost(server, '/subscribe?_action=subscribe', {
        totalBytes: 300 * 1024 * 1024,
        headers: { accept: 'text/html', 'x-forwarded-for': freshIp() },
        readerPath: reader,
      });
      expect(signupFlood.status).toBe(413);
      expect(signupFlood.rssGrowthMb).toBeLessThan(FLAT_MB);
      expect(signupFlood.readerStatuses.length).toBeGreaterThan(0);
      expect(new Set(signupFlood.readerStatuses)).toEqual(new Set([200]));

      const reader1 = (await subscriberIn(server.databaseUrl, 'reader@example.com'))!;
      expect(reader1.status).toBe('active');
      const token = subscriberToken({ secret: SECRET, siteUrl: server.url }, reader1.id);
      const oneClick = await floodPost(server, `/unsubscribe/${token}`, {
        totalBytes: 300 * 1024 * 1024,
        readerPath: reader,
      });
      expect(oneClick.status).toBe(413);
      expect(oneClick.body).toMatch(/larger than 4 KB/);
      expect(oneClick.rssGrowthMb).toBeLessThan(FLAT_MB);
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

for (const dialect of testDialects()) {
  describe(`the signup limit shared by two server processes [${dialect}]`, () => {
    let one: RunningServer;
    let two: RunningServer;
    let dir: string;
    let url: string;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'footfall-signup-limit-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      url = created.url;
      one = await startServer({ dataDir: dir, databaseUrl: url, env: { TRUST_PROXY: '1', SECRET } });
      two = await startServer({ dataDir: dir, databaseUrl: url, env: { TRUST_PROXY: '1', SECRET, SEND_WORKER: '0' } });
    }, 120_000);
    afterAll(async () => {
      await two?.stop();
      await one?.stop();
      await drop?.();
    });

    const signup = (server: RunningServer, email: string, ip: string) =>
      fetch(`${server.url}/subscribe?_action=subscribe`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, 'x-forwarded-for': ip },
        body: new URLSearchParams({ email, website: '' }),
      });

    it('five signups from one address, alternating between the processes: the sixth is refused by either, and still after a restart', async () => {
      const ip = '203.0.113.50';
      for (let i = 1; i <= 5; i++)
        expect((await signup(i % 2 ? one : two, `shared${i}@example.com`, ip)).status, `signup ${i}`).toBe(200);
      for (const server of [one, two]) {
        const refused = await signup(server, `shared6@example.com`, ip);
        expect(refused.status).toBe(429);
        expect(await refused.text()).toContain('Too many signups from your network.');
      }
      expect(await subscriberIn(url, 'shared6@example.com')).toBeUndefined();
      // Another address is not held back by it.
      expect((await signup(two, 'elsewhere@example.com', '203.0.113.51')).status).toBe(200);

      await one.stop();
      one = await startServer({ dataDir: dir, databaseUrl: url, env: { TRUST_PROXY: '1', SECRET } });
      expect((await signup(one, 'shared7@example.com', ip)).status).toBe(429);
      expect(await subscriberIn(url, 'shared7@example.com')).toBeUndefined();
      // No address is stored: the key is an HMAC.
      const keys = await withDatabase(url, (db) => db.selectFrom('rate_limits').select('key').execute());
      expect(keys.length).toBeGreaterThan(0);
      for (const { key } of keys) expect(key).not.toContain('203.0.113');
    }, 120_000);
  });
}
