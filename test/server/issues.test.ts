import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import {
  addAccount,
  apiKeyFor,
  postForm,
  request,
  sessionCookie,
  withDatabase,
  type Answer,
} from '../helpers/accounts.ts';
import { anchors, body, catalog, featured, hrefOf } from '../helpers/issues.ts';
import { createIssue, freezeIssue, markIssueSent } from '../../src/lib/issues/issues.service.ts';
import {
  makeTestClickToken,
  readClickToken,
  readOpenToken,
  TEST_CLICK_VALID_MS,
} from '../../src/lib/tracking/tokens.ts';
import { createHmac } from 'node:crypto';
import { BODY_MAX } from '../../src/lib/issues/issue.ts';
import { floodPost } from '../helpers/hostile-http.ts';
import { countRows } from '../helpers/rows.ts';

/** A test click token as made before they expired and named their URL: header, delivery 0, link id, MAC. */
function oldStyleTestClickToken(secret: string, linkId: number): string {
  const key = createHmac('sha256', secret).update('footfall tracking tokens v1').digest();
  const body = Buffer.from([0x13, 0, ...leb128(linkId)]);
  return Buffer.concat([body, createHmac('sha256', key).update(body).digest().subarray(0, 10)]).toString('base64url');
}
function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    out.push((value & 0x7f) | (value > 0x7f ? 0x80 : 0));
    value = Math.floor(value / 128);
  } while (value > 0);
  return out;
}

const issueJson = (overrides: Record<string, unknown> = {}) => ({
  subject: 'Winter is coming: is your widget ready?',
  preheader: 'A free spring check, five tips and the Lantern series',
  body_markdown: body,
  featured_articles: featured.map((a) => a.slug),
  ...overrides,
});

for (const dialect of testDialects()) {
  describe(`newsletter issues over HTTP and real SMTP [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let secret: string;
    const keys = {} as Record<'admin' | 'marketer' | 'writer', string>;
    const cookies = {} as Record<'admin' | 'marketer' | 'writer', string>;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-issues-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: { SMTP_URL: sink.url, MAIL_FROM: 'Frobozz Electric <news@frobozz.example>' },
      });
      secret = readFileSync(path.join(dir, 'secret'), 'utf8').trim();
      for (const role of ['admin', 'marketer', 'writer'] as const) {
        const id = await addAccount(server.databaseUrl, `${role}@frobozz.example`, role);
        cookies[role] = await sessionCookie(server.databaseUrl, id);
        keys[role] = await apiKeyFor(server.databaseUrl, role);
      }
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    /** A saved form's redirect, followed as a browser does (the one-time notice cookie with it). */
    const afterSave = async (posted: Answer, cookie: string) => {
      expect(posted.status, posted.text.slice(0, 500)).toBe(303);
      const notice = /footfall_notice=[^;]+/.exec(posted.headers.get('set-cookie') ?? '')?.[0];
      return request(server, posted.location!, { cookie: notice ? `${cookie}; ${notice}` : cookie });
    };
    const api = (method: string, path: string, role: keyof typeof keys | null, payload?: unknown, raw?: string) =>
      request(server, path, {
        method,
        headers: {
          ...(role ? { authorization: `Bearer ${keys[role]}` } : {}),
          ...(payload !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(raw !== undefined ? { body: raw } : payload !== undefined ? { body: JSON.stringify(payload) } : {}),
      });

    /** A draft straight in the server's database (the API's POST has tests of its own). */
    async function createDraft(overrides: Record<string, unknown> = {}): Promise<{ id: number; slug: string }> {
      return withDatabase(server.databaseUrl, async (db) => {
        const created = await createIssue(db, issueJson(overrides), { articles: catalog, createdBy: null });
        if (!created.ok) throw new Error(created.message);
        return { id: created.value.id, slug: created.value.slug };
      });
    }

    it('API: reads a draft with its checks and previews it exactly as a recipient gets it; no key → 401, unknown issue → 404', async () => {
      const created = await createDraft();
      expect(created.slug).toBe('winter-is-coming-is-your-widget-ready');
      expect((await api('GET', `/api/issues/${created.id}`, null)).status).toBe(401);
      expect((await api('GET', `/api/issues/${created.id}/preview`, null)).status).toBe(401);
      for (const path of ['/api/issues/999999', '/api/issues/0', '/api/issues/abc', '/api/issues/999999/preview']) {
        expect((await api('GET', path, 'marketer')).status, path).toBe(404);
      }

      const read = await api('GET', `/api/issues/${created.id}`, 'writer');
      expect(read.status).toBe(200);
      const { issue, ready, checks } = JSON.parse(read.text);
      expect(issue).toMatchObject({
        id: created.id,
        slug: created.slug,
        status: 'draft',
        featured_articles: featured.map((a) => a.slug),
        body_markdown: body,
      });
      expect(ready).toBe(true);
      expect(checks.map((c: { id: string }) => c.id)).toEqual(
        expect.arrayContaining([
          'size',
          'unsubscribe',
          'postal-address',
          'image-alt',
          'links',
          'site-links',
          'subject',
          'preheader',
          'placeholders',
        ]),
      );
      expect(checks.find((c: { id: string }) => c.id === 'site-links').status).toBe('ok');

      const preview = await api('GET', `/api/issues/${created.id}/preview`, 'writer');
      expect(preview.status).toBe(200);
      const { html, text, headers } = JSON.parse(preview.text);
      expect(headers).toMatchObject({
        From: '"Frobozz Electric" <news@frobozz.example>',
        Subject: 'Winter is coming: is your widget ready?',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'List-Id': 'Frobozz Electric newsletter <newsletter.frobozz.example>',
        'Message-ID': expect.stringMatching(/@frobozz\.example>$/),
      });
      expect(headers['List-Unsubscribe']).toMatch(
        new RegExp(`^<${server.url}/unsubscribe/[^>]+>, <mailto:news@frobozz\\.example\\?subject=unsubscribe>$`),
      );
      // Tracked links and pixel, all made for a sample recipient that records nothing.
      const tracked = anchors(html)
        .map(hrefOf)
        .filter((href) => !/\/(unsubscribe|preferences)\//.test(href));
      expect(tracked.length).toBeGreaterThan(10);
      for (const href of tracked) {
        expect(href.startsWith(`${server.url}/t/c/`), href).toBe(true);
        expect(readClickToken(secret, href.split('/').pop())).toMatchObject({ test: true, deliveryId: 0 });
      }
      expect(readOpenToken(secret, /\/t\/o\/([A-Za-z0-9_-]+)"/.exec(html)![1])).toMatchObject({ test: true });
      expect(text).toContain('Frobozz Electric, 12 Flathead Row, Port Foozle');
      expect(text).toMatch(/Unsubscribe\s+\[http:\/\/127\.0\.0\.1:\d+\/unsubscribe\//);
      // The unsubscribe page for the sample names nobody.
      const unsubscribe = /<(http[^>]+)>/.exec(headers['List-Unsubscribe'])![1]!;
      expect((await request(server, unsubscribe.slice(server.url.length))).status).toBe(400);
    });

    it('admin: a writer drafts through the form and sees the preview and checklist, but no test-send form; a marketer sends a test', async () => {
      const created = await postForm(
        server,
        '/admin/issues/new',
        'issues.create',
        {
          subject: 'From the form',
          preheader: '',
          slug: '',
          body_markdown: 'Hello [home](/)',
          featured_articles: featured[0]!.slug,
        },
        { cookie: cookies.writer },
      );
      expect(created.status, created.text.slice(0, 300)).toBe(303);
      expect(created.location).toMatch(/^\/admin\/issues\/\d+\?created=1$/);
      const id = Number(/\/admin\/issues\/(\d+)/.exec(created.location!)![1]);

      const edit = await request(server, `/admin/issues/${id}`, { cookie: cookies.writer });
      expect(edit.status).toBe(200);
      expect(edit.text).toContain('<h1 class="page-title">Edit issue</h1>');
      expect(edit.text).toContain('value="from-the-form"');
      expect(edit.text).toContain('Pre-send checks');
      expect(edit.text).toMatch(/<iframe sandbox="" srcdoc="[^"]*From the form/);

      const posted = await postForm(
        server,
        `/admin/issues/${id}`,
        'issues.update',
        {
          id: String(id),
          subject: 'From the form, edited',
          preheader: 'Hi',
          slug: 'from-the-form',
          body_markdown: 'Hello [a missing page](/articles/gone/)',
        },
        { cookie: cookies.writer },
      );
      // Post/redirect/get: back to the issue's own address (no ?_action=), "Draft saved." shown once.
      expect(posted.status).toBe(303);
      expect(posted.location).toBe(`/admin/issues/${id}`);
      const saved = await afterSave(posted, cookies.writer);
      expect(saved.text).toContain('Draft saved.');
      expect((await request(server, `/admin/issues/${id}`, { cookie: cookies.writer })).text).not.toContain(
        'Draft saved.',
      );
      expect(saved.text).toMatch(/1 error blocks sending/);
      expect(saved.text).toContain('/articles/gone/');

      const preview = await request(server, `/admin/issues/${id}/preview`, { cookie: cookies.writer });
      expect(preview.status).toBe(200);
      expect(preview.text).toContain('width="600"');
      expect(preview.text).toContain('width="375"');
      expect(preview.text).toContain('List-Unsubscribe-Post');
      expect(preview.text).toContain('Plain-text part');
      expect(preview.text).not.toContain('name="to"');
      const writerTest = await postForm(
        server,
        `/admin/issues/${id}/preview`,
        'issues.sendTest',
        { id: String(id), to: 'writer@frobozz.example' },
        { cookie: cookies.writer },
      );
      expect(writerTest.status).toBe(403);

      const marketerPage = await request(server, `/admin/issues/${id}/preview`, { cookie: cookies.marketer });
      expect(marketerPage.text).toContain('name="to"');
      const before = sink.messages.length;
      const test = await postForm(
        server,
        `/admin/issues/${id}/preview`,
        'issues.sendTest',
        { id: String(id), to: 'marketer@frobozz.example' },
        { cookie: cookies.marketer },
      );
      expect(test.status).toBe(200);
      expect(test.text).toContain('Test sent to marketer@frobozz.example');
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      expect(mail!.subject).toBe('[Test] From the form, edited');

      const list = await request(server, '/admin/issues', { cookie: cookies.writer });
      expect(list.text).toContain(`href="/admin/issues/${id}"`);
      expect(list.text).toContain('From the form, edited');
    });

    it('a draft’s test and preview links lead to another site only while the draft has the link, for a day; removed, expired, re-bound or old-style → 410 or 404, never a redirect', async () => {
      const fields = {
        subject: 'Redirect bait',
        preheader: '',
        slug: 'redirect-bait',
        body_markdown: 'Read [this](https://evil.example/phish) or go [home](/).',
      };
      const created = await postForm(server, '/admin/issues/new', 'issues.create', fields, { cookie: cookies.writer });
      expect(created.status).toBe(303);
      const id = Number(/\/admin\/issues\/(\d+)/.exec(created.location!)![1]);
      const before = sink.messages.length;
      expect(
        (
          await postForm(
            server,
            `/admin/issues/${id}/preview`,
            'issues.sendTest',
            { id: String(id), to: 'marketer@frobozz.example' },
            { cookie: cookies.marketer },
          )
        ).status,
      ).toBe(200);
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      const urlOf = (linkId: number) =>
        withDatabase(
          server.databaseUrl,
          async (db) =>
            (await db.selectFrom('issue_links').select('url').where('id', '=', linkId).executeTakeFirstOrThrow()).url,
        );
      const tracked = await Promise.all(
        anchors(mail!.html as string)
          .map(hrefOf)
          .filter((href) => href.startsWith(`${server.url}/t/c/`))
          .map(async (href) => ({ href, url: await urlOf(readClickToken(secret, href.split('/').pop())!.linkId) })),
      );
      const evil = tracked.find((t) => t.url.startsWith('https://evil.example/'))!;
      const home = tracked.find((t) => t.url.startsWith(`${server.url}/?`))!;
      const anonymous = (href: string, method = 'GET') => fetch(href, { method, redirect: 'manual' });

      // While the draft has it, the test link works as the real one will (and records nothing).
      const now = await anonymous(evil.href);
      expect(now.status).toBe(302);
      expect(now.headers.get('location')).toBe(evil.url);

      // The writer removes the link: the test message's link stops at once, the others still work.
      const saved = await afterSave(
        await postForm(
          server,
          `/admin/issues/${id}`,
          'issues.update',
          { id: String(id), ...fields, body_markdown: 'Go [home](/).' },
          { cookie: cookies.writer },
        ),
        cookies.writer,
      );
      expect(saved.text).toContain('Draft saved.');
      for (const method of ['GET', 'HEAD']) {
        const gone = await anonymous(evil.href, method);
        expect(gone.status, method).toBe(410);
        expect(gone.headers.get('location')).toBeNull();
        if (method === 'GET') {
          const html = await gone.text();
          expect(html).toContain('This test link has expired');
          expect(html).not.toContain('evil.example');
        }
      }
      expect((await anonymous(home.href)).headers.get('location')).toBe(home.url);
      const homeId = readClickToken(secret, home.href.split('/').pop())!.linkId;
      const evilId = readClickToken(secret, evil.href.split('/').pop())!.linkId;

      const at = (token: string) => anonymous(`${server.url}/t/c/${token}`);
      // A day later a test link is dead, even one the draft still has.
      expect(
        (
          await at(
            makeTestClickToken(secret, homeId, { now: Date.now() - TEST_CLICK_VALID_MS - 60_000, url: home.url }),
          )
        ).status,
      ).toBe(410);
      expect(
        (
          await at(
            makeTestClickToken(secret, homeId, { now: Date.now() - TEST_CLICK_VALID_MS + 120_000, url: home.url }),
          )
        ).status,
      ).toBe(302);
      // Bound to the URL the link had: the same link id made for another URL leads nowhere.
      expect(
        (await at(makeTestClickToken(secret, homeId, { now: Date.now(), url: 'https://evil.example/phish' }))).status,
      ).toBe(410);
      // A fresh token for the removed link is refused just the same.
      expect((await at(makeTestClickToken(secret, evilId, { now: Date.now(), url: evil.url }))).status).toBe(410);
      // Test tokens made before these rules (no expiry, no URL) no longer read at all.
      const oldStyle = await at(oldStyleTestClickToken(secret, homeId));
      expect(oldStyle.status).toBe(404);
      expect(oldStyle.headers.get('location')).toBeNull();

      // The writer puts it back: the draft has the link again, and so the test message's link works again.
      expect(
        (
          await afterSave(
            await postForm(
              server,
              `/admin/issues/${id}`,
              'issues.update',
              { id: String(id), ...fields },
              { cookie: cookies.writer },
            ),
            cookies.writer,
          )
        ).text,
      ).toContain('Draft saved.');
      expect((await anonymous(evil.href)).headers.get('location')).toBe(evil.url);
    });

    it('admin form: a tracked phone number that is not one is refused by name and nothing is saved; a good one is saved, in the footer and the archive', async () => {
      const count = () => withDatabase(server.databaseUrl, (db) => countRows(db, 'issues'));
      const before = await count();
      const fields = {
        subject: 'Ring the counter',
        preheader: '',
        slug: 'ring-the-counter',
        body_markdown: 'Hello [home](/)',
      };
      const refused = await postForm(
        server,
        '/admin/issues/new',
        'issues.create',
        { ...fields, tracked_phone: 'ring us!' },
        { cookie: cookies.writer },
      );
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('Enter the tracked phone number as digits, e.g. +44 1632 960001');
      expect(refused.text).toMatch(
        /<input[^>]*name="tracked_phone"[^>]*aria-invalid="true"|<input[^>]*aria-invalid="true"[^>]*name="tracked_phone"/,
      );
      expect(refused.text).toContain('value="ring us!"'); // the form keeps what was typed
      expect(await count()).toBe(before);
      // A body streamed far past the editor's limit is cut off as it comes (413), nothing saved…
      const flood = await floodPost(server, '/admin/issues/new?_action=issues.create', {
        totalBytes: 300 * 1024 * 1024,
        headers: { accept: 'text/html', cookie: cookies.writer },
      });
      expect(flood.status).toBe(413);
      expect(flood.body).toMatch(/larger than 1 MB.*Content-Length.*up to 2 MB/);
      expect(flood.rssGrowthMb).toBeLessThan(20);
      expect(await count()).toBe(before);
      // …while the longest body the editor allows, in a script that form-encodes to 9 bytes a character, still fits.
      const longest = await postForm(
        server,
        '/admin/issues/new',
        'issues.create',
        { ...fields, slug: 'the-longest-issue', body_markdown: '€'.repeat(BODY_MAX) },
        { cookie: cookies.writer },
      );
      expect(longest.status, longest.text.slice(0, 300)).toBe(303);

      const created = await postForm(
        server,
        '/admin/issues/new',
        'issues.create',
        { ...fields, tracked_phone: '+44 (0)1632 960-777' },
        { cookie: cookies.writer },
      );
      expect(created.status, created.text.slice(0, 300)).toBe(303);
      const id = Number(/\/admin\/issues\/(\d+)/.exec(created.location!)![1]);
      const edit = await request(server, `/admin/issues/${id}`, { cookie: cookies.writer });
      // Shown as typed (the form, the issue's page, the footer); stored in E.164 for matching calls.
      expect(edit.text).toContain('value="+44 (0)1632 960-777"');
      expect(edit.text).toMatch(
        /calls to <span class="phone-number"[^>]*>\+44 \(0\)1632 960-777<\/span> count for this issue/,
      );
      // The preview's footer (the srcdoc attribute escapes only & and "): the number through the click redirect.
      expect(edit.text).toMatch(
        /srcdoc="[^"]*Call us at <a href=&quot;http:\/\/127\.0\.0\.1:\d+\/t\/c\/[A-Za-z0-9_-]+&quot;[^>]*>\+44 \(0\)1632 960-777<\/a>/,
      );
      // A bad edit leaves the saved number as it was.
      const badEdit = await postForm(
        server,
        `/admin/issues/${id}`,
        'issues.update',
        { id: String(id), ...fields, subject: 'Renamed', tracked_phone: '01632 96O777' },
        { cookie: cookies.writer },
      );
      expect(badEdit.text).toContain('Enter the tracked phone number as digits');
      const stored = await withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('issues')
          .select(['subject', 'tracked_phone', 'tracked_phone_display'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow(),
      );
      expect(stored).toEqual({
        subject: 'Ring the counter',
        tracked_phone: '+441632960777',
        tracked_phone_display: '+44 (0)1632 960-777',
      });

      await withDatabase(server.databaseUrl, async (db) => {
        await freezeIssue(db, id, Date.now(), { secret });
        expect(await markIssueSent(db, id)).toBe(true);
      });
      const archive = await request(server, '/newsletter/ring-the-counter/');
      expect(archive.text).toContain('Call us at <a href="tel:+441632960777">+44 (0)1632 960-777</a>');
    });

    it('web archive: a sent issue is at /newsletter/<slug> with plain links, listed at /newsletter and in its feed; drafts are not', async () => {
      const created = await createDraft({ subject: 'Archived issue', slug: 'archived-issue' });
      const draft = await createDraft({ subject: 'Still a draft', slug: 'still-a-draft' });
      await withDatabase(server.databaseUrl, async (db) => {
        await freezeIssue(db, created.id, Date.now(), { secret });
        expect(await markIssueSent(db, created.id)).toBe(true);
      });
      const page = await request(server, '/newsletter/archived-issue/');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Archived issue</h1>');
      expect(page.text).toContain('<a href="/articles/getting-your-widget-ready-for-winter/">our winter checklist</a>');
      expect(page.text).toContain('href="/articles/widget-batteries-explained/"');
      expect(page.text).not.toMatch(/\/t\/[co]\/|utm_source|\/unsubscribe\/|\/preferences\//);
      expect(page.text).not.toMatch(/<script[\s>]/i);
      expect((await request(server, `/newsletter/${draft.slug}/`)).status).toBe(404);
      expect((await request(server, '/newsletter/no-such-issue/')).status).toBe(404);

      const list = await request(server, '/newsletter/');
      expect(list.status).toBe(200);
      expect(list.text).toContain('href="/newsletter/archived-issue/"');
      expect(list.text).not.toContain('still-a-draft');
      const feed = await request(server, '/newsletter/rss.xml');
      expect(feed.status).toBe(200);
      expect(feed.headers.get('content-type')).toMatch(/xml/);
      expect(feed.text).toContain('<title>Archived issue</title>');
      expect(feed.text).toContain('/newsletter/archived-issue/</link>');
      expect(feed.text).not.toContain('Still a draft');

      // Frozen: the admin shows it read-only; the API says so.
      const read = JSON.parse((await api('GET', `/api/issues/${created.id}`, 'marketer')).text);
      expect(read.issue).toMatchObject({
        status: 'sent',
        frozen: true,
        archive_url: `${server.url}/newsletter/archived-issue/`,
      });
      const edit = await request(server, `/admin/issues/${created.id}`, { cookie: cookies.marketer });
      expect(edit.text).toContain('its content is frozen');
      expect(edit.text).not.toContain('name="body_markdown"');
    });
  });
}
