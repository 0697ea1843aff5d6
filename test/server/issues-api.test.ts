import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { addAccount, apiKeyFor, request } from '../helpers/accounts.ts';
import { body, featured } from '../helpers/issues.ts';
import { readClickToken, readOpenToken } from '../../src/lib/tracking/tokens.ts';

const issueJson = (overrides: Record<string, unknown> = {}) => ({
  subject: 'Winter is coming: is your widget ready?',
  preheader: 'A free spring check, five tips and the Lantern series',
  body_markdown: body,
  featured_articles: featured.map((a) => a.slug),
  ...overrides,
});

for (const dialect of testDialects()) {
  describe(`the issues API: create and test-send [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let secret: string;
    const keys = {} as Record<'admin' | 'marketer' | 'writer', string>;

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
        await addAccount(server.databaseUrl, `${role}@frobozz.example`, role);
        keys[role] = await apiKeyFor(server.databaseUrl, role);
      }
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    const api = (method: string, path: string, role: keyof typeof keys | null, payload?: unknown, raw?: string) =>
      request(server, path, {
        method,
        headers: {
          ...(role ? { authorization: `Bearer ${keys[role]}` } : {}),
          ...(payload !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(raw !== undefined ? { body: raw } : payload !== undefined ? { body: JSON.stringify(payload) } : {}),
      });

    async function createViaApi(
      overrides: Record<string, unknown> = {},
      role: keyof typeof keys = 'marketer',
    ): Promise<{ id: number; slug: string }> {
      const answer = await api('POST', '/api/issues', role, issueJson(overrides));
      expect(answer.status, answer.text).toBe(201);
      return JSON.parse(answer.text);
    }

    it('API: creates a draft → 201 {id, slug} with its Location', async () => {
      const answer = await api('POST', '/api/issues', 'marketer', issueJson());
      expect(answer.status).toBe(201);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      const created = JSON.parse(answer.text);
      expect(created).toEqual({ id: expect.any(Number), slug: 'winter-is-coming-is-your-widget-ready' });
      expect(answer.headers.get('location')).toBe(`/api/issues/${created.id}`);
      const read = JSON.parse((await api('GET', `/api/issues/${created.id}`, 'marketer')).text);
      expect(read.issue).toMatchObject({
        subject: 'Winter is coming: is your widget ready?',
        featured_articles: featured.map((a) => a.slug),
        status: 'draft',
      });
      expect(read.ready).toBe(true);
      const second = JSON.parse((await api('POST', '/api/issues', 'writer', issueJson())).text);
      expect(second.slug).toBe('winter-is-coming-is-your-widget-ready-2');
    });

    it('API: bad JSON or fields → 400 with a message per field; a taken slug → 409; a test of an unknown issue → 404', async () => {
      const badJson = await api('POST', '/api/issues', 'marketer', undefined, '{"subject": ');
      expect(badJson.status).toBe(400);
      expect(JSON.parse(badJson.text)).toMatchObject({
        error: 'invalid',
        message: expect.stringContaining('not valid JSON'),
      });
      expect((await api('POST', '/api/issues', 'marketer', undefined, '[1,2]')).status).toBe(400);
      expect(
        (
          await request(server, '/api/issues', {
            method: 'POST',
            headers: { authorization: `Bearer ${keys.marketer}`, 'content-type': 'text/plain' },
            body: 'hi',
          })
        ).status,
      ).toBe(415);

      const badFields = await api('POST', '/api/issues', 'marketer', {
        subject: '',
        preheader: 7,
        slug: 'Bad Slug!',
        body_markdown: ['x'],
        featured_articles: ['no-such-article'],
      });
      expect(badFields.status).toBe(400);
      const refused = JSON.parse(badFields.text);
      expect(refused.error).toBe('invalid');
      expect(Object.keys(refused.fields).sort()).toEqual(['body_markdown', 'preheader', 'slug', 'subject']);
      expect(refused.fields.subject).toBe('Enter the subject.');
      const unknownArticle = await api(
        'POST',
        '/api/issues',
        'marketer',
        issueJson({ featured_articles: ['no-such-article'] }),
      );
      expect(JSON.parse(unknownArticle.text)).toMatchObject({
        error: 'invalid',
        fields: { featured_articles: expect.stringContaining('no-such-article') },
      });

      await createViaApi({ slug: 'taken-slug' });
      const taken = await api('POST', '/api/issues', 'marketer', issueJson({ slug: 'taken-slug' }));
      expect(taken.status).toBe(409);
      expect(JSON.parse(taken.text)).toMatchObject({ error: 'conflict', fields: { slug: expect.any(String) } });
      expect((await api('POST', '/api/issues/999999/test', 'marketer', { to: ['a@example.com'] })).status).toBe(404);
    });

    it('API: no key or a wrong key → 401; a writer key may draft but not send a test (403)', async () => {
      expect((await api('POST', '/api/issues', null, issueJson())).status).toBe(401);
      expect(
        (
          await request(server, '/api/issues', {
            method: 'POST',
            headers: { authorization: 'Bearer ffk_' + 'b'.repeat(32), 'content-type': 'application/json' },
            body: JSON.stringify(issueJson()),
          })
        ).status,
      ).toBe(401);
      const created = await createViaApi({ subject: 'Drafted by a writer' }, 'writer');
      expect((await api('GET', `/api/issues/${created.id}/preview`, null)).status).toBe(401);
      const before = sink.messages.length;
      const forbidden = await api('POST', `/api/issues/${created.id}/test`, 'writer', {
        to: ['writer@frobozz.example'],
      });
      expect(forbidden.status).toBe(403);
      expect(JSON.parse(forbidden.text)).toMatchObject({ error: 'forbidden' });
      expect(sink.messages.length).toBe(before);
    });

    it('a test send goes through SMTP marked as a test, with the personal headers, and records nothing', async () => {
      const created = await createViaApi({ subject: 'Test me' });
      const before = sink.messages.length;
      const sent = await api('POST', `/api/issues/${created.id}/test`, 'marketer', {
        to: ['Tester@Example.com', 'second@example.com'],
      });
      expect(sent.status, sent.text).toBe(200);
      expect(JSON.parse(sent.text)).toEqual({ sent: ['tester@example.com', 'second@example.com'] });
      const mails = (await sink.waitFor(before + 2)).slice(before);
      expect(sink.envelopes.slice(before).map((e) => e.rcptTo)).toEqual([
        ['tester@example.com'],
        ['second@example.com'],
      ]);
      for (const mail of mails) {
        expect(mail.subject).toBe('[Test] Test me');
        const header = (name: string) =>
          mail.headerLines
            .find((h) => h.key === name)
            ?.line.replace(/^[^:]+:\s*/, '')
            .replace(/\r?\n\s+/g, ' ');
        expect(header('x-footfall-test')).toBe('yes');
        expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
        expect(header('list-id')).toBe('Frobozz Electric newsletter <newsletter.frobozz.example>');
        expect(header('list-unsubscribe')).toMatch(
          new RegExp(`<${server.url}/unsubscribe/[^>]+>, <mailto:news@frobozz\\.example\\?subject=unsubscribe>`),
        );
        expect(mail.messageId).toMatch(/^<footfall\.\d+\.test\.[0-9a-f]+@frobozz\.example>$/);
        expect(mail.text).toContain('Frobozz Electric, 12 Flathead Row, Port Foozle');
        const html = String(mail.html);
        const clicks = [...html.matchAll(/\/t\/c\/([A-Za-z0-9_-]+)/g)].map((m) => readClickToken(secret, m[1]));
        expect(clicks.length).toBeGreaterThan(10);
        expect(clicks.every((t) => t?.test === true)).toBe(true);
        expect(readOpenToken(secret, /\/t\/o\/([A-Za-z0-9_-]+)/.exec(html)![1])).toMatchObject({ test: true });
      }
      const bad = await api('POST', `/api/issues/${created.id}/test`, 'marketer', { to: ['not an address'] });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ fields: { to: expect.any(String) } });
      expect(
        (
          await api('POST', `/api/issues/${created.id}/test`, 'marketer', {
            to: ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example', 'f@x.example'],
          })
        ).status,
      ).toBe(400);
    });
  });
}
