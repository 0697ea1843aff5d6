import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { apiKeyFor, withDatabase } from '../helpers/accounts.ts';
import { floodPost, rawRequest } from '../helpers/hostile-http.ts';
import { subscriberCount, subscriberIn } from '../helpers/subscribers.ts';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';

for (const dialect of testDialects()) {
  describe(`the subscriber API [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let marketerKey: string;
    let writerKey: string;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-api-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({ dataDir: dir, databaseUrl: db.url, env: { SMTP_URL: sink.url } });
      marketerKey = await apiKeyFor(server.databaseUrl, 'marketer');
      writerKey = await apiKeyFor(server.databaseUrl, 'writer');
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    function api(
      method: string,
      path: string,
      body?: unknown,
      options: { key?: string | null; raw?: string; type?: string } = {},
    ) {
      const headers: Record<string, string> = {};
      const key = options.key === undefined ? marketerKey : options.key;
      if (key) headers.authorization = `Bearer ${key}`;
      if (body !== undefined || options.raw !== undefined) headers['content-type'] = options.type ?? 'application/json';
      return fetch(server.url + path, {
        method,
        headers,
        body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
    }

    it('adds one pending subscriber and sends the confirmation; active rows need a consent note, recorded as such', async () => {
      const before = sink.messages.length;
      const one = await api('POST', '/api/subscribers', {
        email: 'Api.One@Example.com',
        name: 'One',
        topics: ['guides'],
      });
      expect(one.status).toBe(200);
      expect(await one.json()).toEqual({
        results: [{ index: 0, email: 'api.one@example.com', ok: true, outcome: 'confirmation_sent' }],
      });
      const [mail] = (await sink.waitFor(before + 1)).slice(before);
      expect(mail!.subject).toMatch(/Confirm your subscription/);
      expect(await subscriberIn(server.databaseUrl, 'api.one@example.com')).toMatchObject({
        status: 'pending',
        source_form: 'api',
        name: 'One',
        topics: ['guides'],
      });

      const many = await api('POST', '/api/subscribers', [
        {
          email: 'crm1@example.com',
          status: 'active',
          consent_note: 'Opted in on the CRM web form, 2026-03-02',
          topics: ['offers'],
        },
        { email: 'crm2@example.com', status: 'active' },
        { email: 'not-an-address', status: 'active', consent_note: 'x' },
        { email: 'a@b.c\r\nBcc: x@y.z', status: 'pending' },
        { email: 'CRM1@example.com', status: 'active', consent_note: 'again', topics: ['guides'] },
        { email: 'crm3@example.com', topics: ['casino'] },
      ]);
      expect(many.status).toBe(200);
      const { results } = (await many.json()) as {
        results: { index: number; ok: boolean; outcome?: string; error?: string; id?: number }[];
      };
      expect(results.map((r) => [r.index, r.ok, r.outcome ?? r.error])).toEqual([
        [0, true, 'added'],
        [1, false, expect.stringMatching(/consent note is required/)],
        [2, false, expect.stringMatching(/not a valid email address/)],
        [3, false, expect.stringMatching(/cannot contain line breaks/)],
        [4, true, 'merged'],
        [5, false, 'Unknown topic: casino.'],
      ]);
      const crm1 = await subscriberIn(server.databaseUrl, 'crm1@example.com');
      expect(crm1).toMatchObject({
        id: results[0]!.id,
        status: 'active',
        source_form: 'api',
        consent_note: 'Opted in on the CRM web form, 2026-03-02',
        topics: ['guides', 'offers'],
      });
      expect(crm1!.consent_at).toBeGreaterThan(0);
      for (const email of ['crm2@example.com', 'crm3@example.com', 'not-an-address'])
        expect(await subscriberIn(server.databaseUrl, email), email).toBeUndefined();
      expect(sink.messages.length).toBe(before + 1); // active rows get no confirmation email
    });

    it('reads one subscriber by address, with status, topics, source and consent; erases by id', async () => {
      const found = await api('GET', '/api/subscribers?email=CRM1%40example.com');
      expect(found.status).toBe(200);
      const { subscriber } = (await found.json()) as { subscriber: Record<string, unknown> & { id: number } };
      expect(subscriber).toMatchObject({
        email: 'crm1@example.com',
        status: 'active',
        paused: false,
        topics: ['guides', 'offers'],
        source: { form: 'api', campaign: null, issueId: null },
        consent: { note: 'Opted in on the CRM web form, 2026-03-02', at: expect.any(Number) },
      });
      const unknown = await api('GET', '/api/subscribers?email=nobody%40example.com');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: 'not_found' });
      const invalid = await api('GET', '/api/subscribers?email=nope');
      expect(invalid.status).toBe(400);
      expect((await api('GET', '/api/subscribers')).status).toBe(400);

      const erased = await api('DELETE', `/api/subscribers/${subscriber.id}`);
      expect(erased.status).toBe(204);
      expect(await subscriberIn(server.databaseUrl, 'crm1@example.com')).toBeUndefined();
      const hash = await withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('suppressions')
          .select('reason')
          .where('email_hash', '=', emailHash('crm1@example.com'))
          .executeTakeFirst(),
      );
      expect(hash?.reason).toBe('erased');
      expect((await api('DELETE', `/api/subscribers/${subscriber.id}`)).status).toBe(404);
      expect((await api('GET', '/api/subscribers?email=crm1%40example.com')).status).toBe(404);
      expect((await api('DELETE', '/api/subscribers/abc')).status).toBe(400);
      // erased people cannot be added back through the API either
      const back = await api('POST', '/api/subscribers', {
        email: 'crm1@example.com',
        status: 'active',
        consent_note: 'old CRM export',
      });
      expect(((await back.json()) as { results: { outcome: string }[] }).results[0]!.outcome).toBe('suppressed');
    });

    it('refuses bad bodies with a clear message, and stores nothing', async () => {
      const count = await subscriberCount(server.databaseUrl);
      const badJson = await api('POST', '/api/subscribers', undefined, { raw: '{"email": "x@example.com",' });
      expect(badJson.status).toBe(400);
      expect(await badJson.json()).toMatchObject({
        error: 'invalid_json',
        message: expect.stringMatching(/not valid JSON/),
      });

      const shape = await api('POST', '/api/subscribers', [
        { email: 5 },
        { email: 'y@example.com', status: 'subscribed', consentNote: 'x' },
      ]);
      expect(shape.status).toBe(400);
      expect(await shape.json()).toMatchObject({
        error: 'invalid_body',
        fields: {
          '0.email': 'must be a string',
          '1.status': expect.stringMatching(/pending/),
          '1.consentNote': expect.stringMatching(/not a field/),
        },
      });

      const empty = await api('POST', '/api/subscribers', undefined, { raw: '' });
      expect(empty.status).toBe(400);
      const tooMany = await api(
        'POST',
        '/api/subscribers',
        Array.from({ length: 10_001 }, (_, i) => ({ email: `m${i}@example.com` })),
      );
      expect(tooMany.status).toBe(400);
      expect(await tooMany.json()).toMatchObject({ message: expect.stringMatching(/At most 10,000/) });

      const huge = await api('POST', '/api/subscribers', undefined, {
        raw: JSON.stringify([{ email: 'big@example.com', name: 'x'.repeat(11 * 1024 * 1024) }]),
      });
      expect(huge.status).toBe(413);
      expect(await huge.json()).toMatchObject({ error: 'too_large' });

      const form = await api('POST', '/api/subscribers', undefined, {
        raw: 'email=form%40example.com',
        type: 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(415);

      // 300 MB streamed (chunked, no length given) and 300 MB declared: refused as they come, not buffered.
      for (const path of ['/api/subscribers', '/api/issues']) {
        const flood = await floodPost(server, path, {
          totalBytes: 300 * 1024 * 1024,
          headers: { authorization: `Bearer ${marketerKey}`, 'content-type': 'application/json' },
        });
        expect(flood.status, path).toBe(413);
        // Without a Content-Length no route takes more than 1 MB; /api/subscribers takes 10 MB with one.
        expect(JSON.parse(flood.body), path).toMatchObject({
          error: 'too_large',
          message: expect.stringMatching(
            path === '/api/issues' ? /larger than 512 KB/ : /larger than 1 MB.*Content-Length.*up to 10 MB/,
          ),
        });
        expect(flood.rssGrowthMb, path).toBeLessThan(20);
      }
      const declared = await rawRequest(
        server,
        `POST /api/subscribers HTTP/1.1
        Authorization: Bearer ${marketerKey}
        Content-Type: application/json
        Content-Length: 314572800`,
      );
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body)).toMatchObject({ error: 'too_large' });
      expect(await subscriberCount(server.databaseUrl)).toBe(count);
    });

    it('needs a key whose role manages subscribers; a browser session is not enough', async () => {
      for (const [method, path] of [
        ['GET', '/api/subscribers?email=api.one%40example.com'],
        ['POST', '/api/subscribers'],
        ['DELETE', '/api/subscribers/1'],
      ] as const) {
        const body = method === 'POST' ? { email: 'keyless@example.com' } : undefined;
        const none = await api(method, path, body, { key: null });
        expect(none.status, `${method} without a key`).toBe(401);
        expect(await none.json()).toMatchObject({ error: 'unauthorized' });
        expect((await api(method, path, body, { key: 'ffk_' + 'a'.repeat(32) })).status, `${method} unknown key`).toBe(
          401,
        );
        const writer = await api(method, path, body, { key: writerKey });
        expect(writer.status, `${method} writer`).toBe(403);
        expect(await writer.json()).toMatchObject({ error: 'forbidden' });
      }
      expect(await subscriberIn(server.databaseUrl, 'keyless@example.com')).toBeUndefined();
      expect((await subscriberIn(server.databaseUrl, 'api.one@example.com'))?.status).toBe('pending');
    });

    it('takes 10,000 rows in one request', async () => {
      const rows = Array.from({ length: 10_000 }, (_, i) => ({
        email: `bulk${i}@example.com`,
        name: i === 0 ? null : `Bulk ${i}`,
        status: 'active',
        consent_note: 'Nightly CRM sync: opted in on the CRM form',
        topics: i % 2 ? ['guides'] : [],
      }));
      const answer = await api('POST', '/api/subscribers', rows);
      expect(answer.status).toBe(200);
      const { results } = (await answer.json()) as { results: { ok: boolean; outcome: string }[] };
      expect(results).toHaveLength(10_000);
      expect(results.every((r) => r.ok && r.outcome === 'added')).toBe(true);
      expect((await subscriberIn(server.databaseUrl, 'bulk9999@example.com'))?.topics).toEqual(['guides']);
      // The next night's sync sends them all again: merged, nobody twice.
      const again = await api(
        'POST',
        '/api/subscribers',
        rows.map((r) => ({ ...r, name: 'Synced', topics: ['offers'] })),
      );
      const second = (await again.json()) as { results: { ok: boolean; outcome: string }[] };
      expect(second.results.every((r) => r.ok && r.outcome === 'merged')).toBe(true);
      expect(await subscriberIn(server.databaseUrl, 'bulk9999@example.com')).toMatchObject({
        name: 'Bulk 9999',
        topics: ['guides', 'offers'],
        consent_note: 'Nightly CRM sync: opted in on the CRM form',
      });
      expect((await subscriberIn(server.databaseUrl, 'bulk0@example.com'))?.name).toBe('Synced'); // a name only where there was none
    }, 60_000);
  });
}
