import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverSecretOf, startServer, type RunningServer } from '../helpers/server.ts';
import { phoneHash } from '../../src/lib/phone/phone-hash.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { floodPost } from '../helpers/hostile-http.ts';
import type { Role } from '../../src/lib/auth/roles.ts';
import { createIssue, freezeIssue } from '../../src/lib/issues/issues.service.ts';

const SECRET = 'calls-webhook-secret-for-tests-0123';

for (const dialect of testDialects()) {
  describe(`offline events over HTTP [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    const users = {} as Record<Role, number>;
    const cookies = {} as Record<Role, string>;

    const events = (where?: { source?: string }) =>
      withDatabase(server.databaseUrl, async (db) => {
        let query = db
          .selectFrom('offline_events')
          .select([
            'kind',
            'at',
            'source',
            'recorded_by',
            'note',
            'client_id',
            'from_hash',
            'to_hash',
            'duration_s',
            'undone_at',
          ]);
        if (where?.source) query = query.where('source', '=', where.source as 'csv');
        return query.orderBy('id').execute();
      });

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-offline-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({ dataDir: dir, databaseUrl: created.url, env: { CALLS_WEBHOOK_SECRET: SECRET } });
      for (const role of ['writer', 'marketer', 'admin'] as const) {
        users[role] = await addAccount(server.databaseUrl, `${role}@example.com`, role);
        cookies[role] = await sessionCookie(server.databaseUrl, users[role]);
      }
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('the tally form: writer, marketer and admin each record a tap (a resubmit stores nothing more); anonymous is sent to sign in', async () => {
      for (const role of ['writer', 'marketer', 'admin'] as const) {
        const page = await request(server, '/admin/tally', { cookie: cookies[role] });
        expect(page.status).toBe(200);
        expect(page.text).toContain('>Phone call</button>');
        const clientId = /name="clientId" value="([0-9a-f-]{36})"/.exec(page.text)![1]!;
        const fields = {
          clientId,
          kind: role === 'writer' ? 'walk_in' : 'call',
          mentioned: 'on',
          note: `tapped by the ${role}`,
        };
        const answer = await postForm(server, '/admin/tally', 'tally.tap', fields, { cookie: cookies[role] });
        expect(answer.status, answer.text.slice(0, 300)).toBe(200);
        expect(answer.text).toMatch(/(Phone call|Walk-in) at \d\d:\d\d\./);
        expect(answer.text).toContain('>Undo</button>');
        const again = await postForm(server, '/admin/tally', 'tally.tap', fields, { cookie: cookies[role] });
        expect(again.text).toContain('Already recorded');
      }
      const stored = await events({ source: 'tally' });
      expect(stored.map((e) => [e.kind, e.recorded_by, e.note])).toEqual([
        ['walk_in', users.writer, 'tapped by the writer'],
        ['call', users.marketer, 'tapped by the marketer'],
        ['call', users.admin, 'tapped by the admin'],
      ]);
      const today = await request(server, '/admin/tally', { cookie: cookies.writer });
      expect(today.text).toMatch(/<strong data-count="call"[^>]*>2<\/strong>/);
      expect(today.text).toMatch(/<strong data-count="walk_in"[^>]*>1<\/strong>/);

      // Without a session: the action refuses, and the page sends the browser to sign in.
      const anonymous = await postForm(server, '/admin/tally', 'tally.tap', { clientId: randomUUID(), kind: 'call' });
      expect(anonymous.status).toBe(303);
      expect(anonymous.location).toMatch(/^\/admin\/login\?next=%2Fadmin%2Ftally/);
      expect(await request(server, '/admin/tally').then((a) => a.location)).toBe('/admin/login?next=%2Fadmin%2Ftally');
      // A cross-site form post is refused by Astro's origin check.
      const crossSite = await postForm(
        server,
        '/admin/tally',
        'tally.tap',
        { clientId: randomUUID(), kind: 'call' },
        { cookie: cookies.writer, origin: 'https://evil.example' },
      );
      expect(crossSite.status).toBe(403);
      expect(await events({ source: 'tally' })).toHaveLength(3);
    });

    it('undo from the page: the writer’s own last tap', async () => {
      const page = await request(server, '/admin/tally', { cookie: cookies.writer });
      const id = /name="id" value="(\d+)"/.exec(page.text)![1]!;
      const answer = await postForm(server, '/admin/tally', 'tally.undo', { id }, { cookie: cookies.writer });
      expect(answer.text).toContain('Undone: the walk-in at');
      // The marketer cannot undo the writer's tap.
      const other = await postForm(server, '/admin/tally', 'tally.undo', { id }, { cookie: cookies.marketer });
      expect(other.text).toContain('Only the person who tapped can undo a tap.');
      expect((await events({ source: 'tally' }))[0]!.undone_at).toBeGreaterThan(0);
    });

    it('the script’s endpoint: JSON from this site with a session; stored once; other origins and no session refused', async () => {
      const at = Date.now() - 90_000;
      const taps = [
        { clientId: randomUUID(), kind: 'call', at },
        { clientId: randomUUID(), kind: 'walk_in', at: at + 1000, mentioned: true },
      ];
      const send = (body: unknown, options: { cookie?: string; origin?: string | null; type?: string } = {}) =>
        request(server, '/admin/tally/taps', {
          method: 'POST',
          headers: {
            'content-type': options.type ?? 'application/json',
            ...(options.origin === null ? {} : { origin: options.origin ?? server.url }),
          },
          body: JSON.stringify(body),
          cookie: options.cookie,
        });
      const first = await send({ sentAt: Date.now(), taps }, { cookie: cookies.writer });
      expect(first.status).toBe(200);
      const body = JSON.parse(first.text);
      expect(body.results.map((r: { status: string }) => r.status)).toEqual(['stored', 'stored']);
      expect(Math.abs(body.results[0].at - at)).toBeLessThan(1000);
      const replay = JSON.parse((await send({ sentAt: Date.now(), taps }, { cookie: cookies.writer })).text);
      expect(replay.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);

      const other = { sentAt: Date.now(), taps: [{ clientId: randomUUID(), kind: 'call', at }] };
      expect((await send(other)).status).toBe(401);
      expect((await send(other, { cookie: cookies.writer, origin: 'https://evil.example' })).status).toBe(403);
      expect((await send(other, { cookie: cookies.writer, origin: null })).status).toBe(403);
      expect((await send(other, { cookie: cookies.writer, type: 'text/plain' })).status).toBe(415);
      const tooMany = await request(server, '/admin/tally/taps', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.url },
        body: '{"taps": [',
        cookie: cookies.writer,
      });
      expect(tooMany.status).toBe(400);
      const flood = await floodPost(server, '/admin/tally/taps', {
        totalBytes: 300 * 1024 * 1024,
        headers: { 'content-type': 'application/json', cookie: cookies.writer },
      });
      expect(flood.status).toBe(413);
      expect(JSON.parse(flood.body)).toMatchObject({ error: 'too_large' });
      expect(flood.rssGrowthMb).toBeLessThan(20);
      expect(await events({ source: 'tally' })).toHaveLength(5);
    });

    describe('the call-tracking webhook', () => {
      const post = (body: string, headers: Record<string, string> = {}) =>
        request(server, '/api/webhooks/calls', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });

      it('a call with the right secret is stored (no Origin needed); the caller’s and the called number are not', async () => {
        const at = Date.now() - 5 * 60_000;
        const answer = await post(
          JSON.stringify({ at, from: '+44 1632 960123', to: '+44 (0)1632 960001', duration_s: 95, id: 'prov-1' }),
          { authorization: `Bearer ${SECRET}` },
        );
        expect(answer.status, answer.text).toBe(201);
        expect(JSON.parse(answer.text)).toMatchObject({
          stored: true,
          event: { kind: 'call', at, issue_id: null, to: '+441632960001', duration_s: 95 },
        });
        const iso = await post(JSON.stringify({ at: new Date(at + 60_000).toISOString() }), {
          'x-webhook-secret': SECRET,
        });
        expect(iso.status).toBe(201);
        // The provider retries: nothing new.
        const retry = await post(JSON.stringify({ at, from: '+44 1632 960123', id: 'prov-1' }), {
          authorization: `Bearer ${SECRET}`,
        });
        expect(retry.status).toBe(200);
        expect(JSON.parse(retry.text)).toMatchObject({ stored: false, duplicate: true });

        const stored = await events({ source: 'webhook' });
        expect(stored).toHaveLength(2);
        expect(stored[0]).toMatchObject({
          kind: 'call',
          at,
          client_id: 'webhook:prov-1',
          to_hash: phoneHash(serverSecretOf(server), '+441632960001'),
          duration_s: 95,
          recorded_by: null,
        });
        expect(stored[0]!.from_hash).toMatch(/^[0-9a-f]{32}$/);
        expect(JSON.stringify(stored)).not.toMatch(/960123|960001/);
      });

      it('a call to an issue’s tracked number is credited to that issue once it went out; other numbers and earlier calls to no issue', async () => {
        const wentOut = Date.now() - 2 * 3_600_000;
        const issueId = await withDatabase(server.databaseUrl, async (db) => {
          const sent = await createIssue(
            db,
            {
              subject: 'Call the repair counter',
              body_markdown: 'Ring us about a spring check.',
              tracked_phone: '+44 1632 960555',
            },
            { articles: new Map(), createdBy: null },
            wentOut - 60_000,
          );
          // A later draft reusing the number has not gone out: it must not take the calls.
          const later = await createIssue(
            db,
            { subject: 'Next month', tracked_phone: '+441632960555' },
            { articles: new Map(), createdBy: null },
          );
          if (!sent.ok || !later.ok) throw new Error('issues not created');
          await freezeIssue(db, sent.value.id, wentOut, { secret: serverSecretOf(server) });
          return sent.value.id;
        });
        const auth = { authorization: `Bearer ${SECRET}` };
        const call = async (to: string, at: number) => {
          const answer = await post(JSON.stringify({ at, to }), auth);
          expect(answer.status, answer.text).toBe(201);
          return JSON.parse(answer.text).event as { id: number; issue_id: number | null; to: string };
        };
        // The same number written the provider's way.
        const credited = await call('+44 (1632) 960-555', Date.now() - 60_000);
        expect(credited).toMatchObject({ issue_id: issueId, to: '+441632960555' });
        expect(await call('+44 1632 960556', Date.now() - 60_000)).toMatchObject({ issue_id: null });
        expect(await call('+441632960555', wentOut - 60_000)).toMatchObject({ issue_id: null }); // before the issue went out

        const stored = await withDatabase(server.databaseUrl, (db) =>
          db.selectFrom('offline_events').selectAll().where('id', 'in', [credited.id]).executeTakeFirstOrThrow(),
        );
        // Credited by the called number's keyed hash; the number itself is stored nowhere.
        expect({
          issue_id: stored.issue_id === null ? null : Number(stored.issue_id),
          to_hash: stored.to_hash,
        }).toEqual({ issue_id: issueId, to_hash: phoneHash(serverSecretOf(server), '+441632960555') });
        expect(JSON.stringify(stored)).not.toMatch(/960555/);
        expect(Object.keys(stored)).not.toContain('to_number');
      });

      it('a wrong or missing secret → 401; bad JSON or fields → 400 by field; not JSON → refused; nothing stored', async () => {
        const before = (await events({ source: 'webhook' })).length;
        const good = JSON.stringify({ at: Date.now() });
        const wrong: Record<string, string>[] = [
          {},
          { authorization: 'Bearer wrong-secret-wrong-secret' },
          { authorization: `Basic ${SECRET}` },
          { 'x-webhook-secret': SECRET.slice(0, -1) },
          { authorization: `Bearer ${SECRET}x` },
        ];
        for (const headers of wrong) {
          const answer = await post(good, headers);
          expect(answer.status, JSON.stringify(headers)).toBe(401);
          expect(JSON.parse(answer.text)).toMatchObject({ error: 'unauthorized' });
        }
        const auth = { authorization: `Bearer ${SECRET}` };
        const badJson = await post('{"at": 17', auth);
        expect(badJson.status).toBe(400);
        expect(JSON.parse(badJson.text)).toMatchObject({ error: 'bad_json' });
        const badFields = await post(
          JSON.stringify({ at: 1_795_000_000, from: 'call me maybe', duration_s: -4 }),
          auth,
        );
        expect(badFields.status).toBe(400);
        expect(JSON.parse(badFields.text).fields).toEqual({
          at: 'looks like seconds since 1970: send milliseconds',
          from: 'must be a phone number such as "+44 1632 960123"',
          duration_s: 'must be a whole number of seconds from 0 to 86400',
        });
        const noAt = await post(JSON.stringify({ to: '+441632960001' }), auth);
        expect(JSON.parse(noAt.text).fields.at).toMatch(/^required/);
        const future = await post(JSON.stringify({ at: new Date(Date.now() + 3_600_000).toISOString() }), auth);
        expect(JSON.parse(future.text).fields).toEqual({ at: 'is in the future' });
        const localTime = await post(JSON.stringify({ at: '2026-11-26 10:00' }), auth);
        expect(JSON.parse(localTime.text).fields.at).toMatch(/needs a time zone offset/);
        expect((await post('[1,2]', auth)).status).toBe(400);
        // Not JSON (a form post, no content type): refused whether or not Astro's origin check sees it first.
        const form = await request(server, '/api/webhooks/calls', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
          body: 'at=1',
        });
        expect([403, 415]).toContain(form.status);
        const untyped = await request(server, '/api/webhooks/calls', {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ at: Date.now() }),
        });
        expect([403, 415]).toContain(untyped.status);
        const huge = await post(JSON.stringify({ at: Date.now(), pad: 'x'.repeat(20_000) }), auth);
        expect(huge.status).toBe(413);
        const flood = await floodPost(server, '/api/webhooks/calls', {
          totalBytes: 300 * 1024 * 1024,
          headers: { 'content-type': 'application/json', ...auth },
        });
        expect(flood.status).toBe(413);
        expect(JSON.parse(flood.body)).toMatchObject({
          error: 'too_large',
          message: expect.stringMatching(/larger than 16 KB/),
        });
        expect(flood.rssGrowthMb).toBeLessThan(20);
        expect(await events({ source: 'webhook' })).toHaveLength(before);
      });
    });

    it('CSV import: upload → dry run with counts → rejected-rows report → import', async () => {
      const csv = [
        'time,kind,note',
        '2026-11-02 09:15,call,asked about batteries',
        '2026-11-02 10:00,walk-in,',
        'yesterday,call,',
        '2026-11-02 11:00,fax,',
        '',
      ].join('\n');
      const form = new FormData();
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'november.csv');
      const uploaded = await request(server, '/admin/offline-events/import?_action=offlineEvents.upload', {
        method: 'POST',
        headers: { origin: server.url },
        body: form,
        cookie: cookies.marketer,
      });
      expect(uploaded.status, uploaded.text.slice(0, 500)).toBe(303);
      const upload = /\?upload=([0-9a-f]{32})$/.exec(uploaded.location ?? '')![1]!;

      const preview = await request(server, uploaded.location!, { cookie: cookies.marketer });
      expect(preview.text).toContain('november.csv');
      expect(preview.text).toContain('asked about batteries');
      const mapping = { upload, delimiter: 'comma', time: '0', kind: '1', note: '2', issue: '', mentioned: '' };
      const dry = await request(
        server,
        `/admin/offline-events/import?${new URLSearchParams({ ...mapping, run: '1' })}`,
        { cookie: cookies.marketer },
      );
      expect(dry.text).toMatch(/To import<\/th><td><strong>2<\/strong> — 1 phone call, 1 walk-in/);
      expect(dry.text).toMatch(/— bad time<\/th><td>1</);
      expect(dry.text).toMatch(/— unknown kind<\/th><td>1</);
      expect(await events({ source: 'csv' })).toEqual([]);

      const report = await request(server, `/admin/offline-events/rejected?${new URLSearchParams(mapping)}`, {
        cookie: cookies.marketer,
      });
      expect(report.status).toBe(200);
      expect(report.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(report.headers.get('content-disposition')).toBe('attachment; filename="november-rejected-rows.csv"');
      expect(parse(report.text, { columns: true })).toEqual([
        { row: '4', reason: expect.stringMatching(/^bad time: not a time: "yesterday"/), raw: 'yesterday,call,' },
        { row: '5', reason: 'unknown kind "fax" (use "call" or "walk-in")', raw: '2026-11-02 11:00,fax,' },
      ]);
      expect(
        (
          await request(server, `/admin/offline-events/rejected?${new URLSearchParams(mapping)}`, {
            cookie: cookies.writer,
          })
        ).status,
      ).toBe(403);

      const imported = await postForm(server, '/admin/offline-events/import', 'offlineEvents.import', mapping, {
        cookie: cookies.marketer,
      });
      expect(imported.status).toBe(200);
      expect(imported.text).toContain('Imported 2 events from november.csv');
      const stored = await events({ source: 'csv' });
      expect(stored.map((e) => [e.kind, e.note, e.recorded_by])).toEqual([
        ['call', 'asked about batteries', users.marketer],
        ['walk_in', null, users.marketer],
      ]);
      // The upload is gone once imported; importing it again is refused and stores nothing.
      const twice = await postForm(server, '/admin/offline-events/import', 'offlineEvents.import', mapping, {
        cookie: cookies.marketer,
      });
      expect(twice.text).toContain('This upload is no longer here');
      expect(await events({ source: 'csv' })).toHaveLength(2);

      // A workbook is refused at upload, with what to do instead.
      const xlsx = new FormData();
      xlsx.append('file', new Blob([Buffer.from('PK\x03\x04rest-of-a-zip', 'latin1')]), 'calls.xlsx');
      const refused = await request(server, '/admin/offline-events/import?_action=offlineEvents.upload', {
        method: 'POST',
        headers: { origin: server.url },
        body: xlsx,
        cookie: cookies.marketer,
      });
      expect(refused.text).toContain('This is a spreadsheet workbook');

      // 300 MB streamed at the upload action: refused as it comes, nothing kept.
      const uploads = () =>
        existsSync(path.join(server.dataDir, 'offline-imports'))
          ? readdirSync(path.join(server.dataDir, 'offline-imports')).sort()
          : [];
      const kept = uploads();
      const flood = await floodPost(server, '/admin/offline-events/import?_action=offlineEvents.upload', {
        totalBytes: 300 * 1024 * 1024,
        headers: { 'content-type': 'multipart/form-data; boundary=x', accept: 'text/html', cookie: cookies.marketer },
      });
      expect(flood.status).toBe(413);
      expect(flood.body).toContain('larger than 1 MB');
      expect(flood.rssGrowthMb).toBeLessThan(20);
      expect(uploads()).toEqual(kept);
    });

    it('the Offline events page: daily counts, the list, add by hand, remove, the webhook settings', async () => {
      const page = await request(server, '/admin/offline-events?from=2026-11-01&to=2026-11-03', {
        cookie: cookies.marketer,
      });
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<time datetime="2026-11-02">Mon 2 Nov<\/time><\/th><td>1<\/td><td>1<\/td>/);
      expect(page.text).toContain(`http://127.0.0.1:${server.port}/api/webhooks/calls`);
      expect(page.text).toContain('A secret is configured');
      expect(page.text).not.toContain(SECRET);

      const clientId = /name="clientId" value="([0-9a-f-]{36})"/.exec(page.text)![1]!;
      const added = await postForm(
        server,
        '/admin/offline-events?from=2026-11-01&to=2026-11-03',
        'offlineEvents.add',
        { kind: 'walk_in', at: '2026-11-03T16:30', mentioned: 'yes', note: 'a regular', clientId },
        { cookie: cookies.marketer },
      );
      expect(added.text).toContain('Added: walk-in on');
      expect(added.text).toMatch(
        /<time datetime="2026-11-03">Tue 3 Nov<\/time><\/th><td>0<\/td><td>1<\/td><td>1<\/td>/,
      );
      const manual = (await events({ source: 'manual' }))[0]!;
      expect(manual).toMatchObject({ kind: 'walk_in', note: 'a regular', recorded_by: users.marketer });

      const id = await withDatabase(
        server.databaseUrl,
        async (db) =>
          (await db.selectFrom('offline_events').select('id').where('source', '=', 'manual').executeTakeFirstOrThrow())
            .id,
      );
      const removed = await postForm(
        server,
        '/admin/offline-events?from=2026-11-01&to=2026-11-03',
        'offlineEvents.remove',
        { id: String(id) },
        { cookie: cookies.marketer },
      );
      expect(removed.text).toContain('Removed: walk-in on');
      expect(removed.text).toMatch(
        /<time datetime="2026-11-03">Tue 3 Nov<\/time><\/th><td>0<\/td><td>0<\/td><td>0<\/td>/,
      );
      expect(removed.text).toContain('>Restore</button>');
      // The writer cannot.
      expect(
        (
          await postForm(
            server,
            '/admin/offline-events',
            'offlineEvents.remove',
            { id: String(id) },
            { cookie: cookies.writer },
          )
        ).status,
      ).toBe(403);
    });
  });
}
