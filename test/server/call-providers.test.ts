import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { floodPost, rawRequest } from '../helpers/hostile-http.ts';
import { markIssueSent } from '../helpers/sending.ts';
import { createIssue, freezeIssue } from '../../src/lib/issues/issues.service.ts';
import { addConfirmedSubscriber, eraseSubscriber } from '../../src/lib/subscribers/subscribers.service.ts';
import { callerHash } from '../../src/lib/offline/call-webhook.ts';
import { phoneHash } from '../../src/lib/phone/phone-hash.ts';
import { twilioSignature } from '../../src/lib/offline/provider-calls.ts';
import { pruneRawEvents } from '../../src/lib/reports/retention.service.ts';

const SECRET = 'x'.repeat(16) + 'server-secret-for-call-provider-tests';
const TWILIO_TOKEN = '12345678901234567890123456789012';
const CALLRAIL_KEY = 'callrail-signing-key-0123456789';
const GENERIC_SECRET = 'generic-calls-webhook-secret-0123';

/** A Twilio call status callback as Twilio's docs show one (the parameters Twilio posts). */
function twilioCallback(sid: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: 'AC' + '0'.repeat(32),
    ApiVersion: '2010-04-01',
    CallSid: sid,
    CallStatus: 'completed',
    CallDuration: '95',
    Called: '+441632960777',
    Caller: '+441632960123',
    Direction: 'inbound',
    From: '+441632960123',
    To: '+441632960777',
    CallbackSource: 'call-progress-events',
    SequenceNumber: '0',
    Timestamp: new Date(Date.now() - 60_000).toUTCString().replace('GMT', '+0000'),
    ...overrides,
  };
}

/** The headers of every call webhook answer, accepted or refused: a JSON answer's security headers, and no caching. */
function expectWebhookHeaders(header: (name: string) => string | null | undefined, what: string) {
  expect(header('content-security-policy'), what).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(header('x-content-type-options'), what).toBe('nosniff');
  expect(header('referrer-policy'), what).toBe('strict-origin-when-cross-origin');
  expect(header('x-frame-options'), what).toBe('DENY');
  expect(header('cache-control'), what).toBe('no-store');
  expect(header('content-type'), what).toMatch(/^application\/json/);
}

/** A CallRail post-call webhook body as CallRail's docs show it (the fields Footfall reads, and some it does not). */
function callrailCall(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    answered: true,
    business_phone_number: '+441632960999',
    customer_city: 'Port Foozle',
    customer_name: 'A CUSTOMER',
    customer_phone_number: '+441632960124',
    direction: 'inbound',
    duration: '42',
    id,
    resource_id: 'CAL' + id,
    start_time: new Date(Date.now() - 10 * 60_000).toISOString().replace('Z', '+00:00'),
    tracking_phone_number: '+441632960777',
    first_call: true,
    ...overrides,
  };
}

for (const dialect of testDialects()) {
  describe(`calls from the phone provider, and subscribers’ phone numbers [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let cookie: string;
    let key: string;
    let issueId: number;

    const calls = () =>
      withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('offline_events')
          .select([
            'client_id',
            'from_hash',
            'to_hash',
            'answered',
            'repeat_caller',
            'subscriber_id',
            'issue_id',
            'duration_s',
          ])
          .where('source', '=', 'webhook')
          .orderBy('id')
          .execute(),
      );

    const twilio = (
      params: Record<string, string>,
      options: { token?: string; signature?: string | null; type?: string; url?: string } = {},
    ) => {
      const url = options.url ?? `${server.url}/api/webhooks/twilio`;
      const signature =
        options.signature === undefined
          ? twilioSignature(options.token ?? TWILIO_TOKEN, url, Object.entries(params))
          : options.signature;
      return request(server, '/api/webhooks/twilio' + (new URL(url).search ?? ''), {
        method: 'POST',
        headers: {
          'content-type': options.type ?? 'application/x-www-form-urlencoded; charset=utf-8',
          ...(signature === null ? {} : { 'x-twilio-signature': signature }),
        },
        body: new URLSearchParams(params).toString(),
      });
    };

    const callrail = (body: string, options: { key?: string; signature?: string | null; type?: string } = {}) => {
      const signature =
        options.signature === undefined
          ? createHmac('sha1', options.key ?? CALLRAIL_KEY)
              .update(body)
              .digest('base64')
          : options.signature;
      return request(server, '/api/webhooks/callrail', {
        method: 'POST',
        headers: {
          'content-type': options.type ?? 'application/json',
          ...(signature === null ? {} : { signature }),
        },
        body,
      });
    };

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-calls-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: {
          SECRET,
          TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
          CALLRAIL_SIGNING_KEY: CALLRAIL_KEY,
          CALLS_WEBHOOK_SECRET: GENERIC_SECRET,
          SEND_WORKER: '0',
        },
      });
      const marketer = await addAccount(server.databaseUrl, 'marketer@example.com', 'marketer');
      cookie = await sessionCookie(server.databaseUrl, marketer);
      key = await apiKeyFor(server.databaseUrl, 'marketer');
      const wentOut = Date.now() - 3 * 3_600_000;
      issueId = await withDatabase(server.databaseUrl, async (db) => {
        const sent = await createIssue(
          db,
          { subject: 'Ring the repair counter', body_markdown: 'Call us.', tracked_phone: '+44 1632 960777' },
          { articles: new Map(), createdBy: null },
          wentOut - 60_000,
        );
        if (!sent.ok) throw new Error('issue not created');
        await freezeIssue(db, sent.value.id, wentOut, { secret: SECRET });
        // It went out (a finished send): the report has it.
        await markIssueSent(db, sent.value.id, wentOut);
        return sent.value.id;
      });
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('a subscriber’s phone number is set through the API as a keyed hash only; a bad number is refused and nothing stored', async () => {
      const api = (body: unknown) =>
        fetch(server.url + '/api/subscribers', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const bad = await api([
        { email: 'fine@example.com', status: 'active', consent_note: 'Shop counter form', phone: '+44 1632 960123' },
        { email: 'badphone@example.com', status: 'active', consent_note: 'Shop counter form', phone: 'call me' },
      ]);
      expect(bad.status).toBe(400);
      expect((await bad.json()).fields).toEqual({ '1.phone': expect.stringMatching(/is not a phone number/) });
      const none = await withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('subscribers')
          .select('email')
          .where('email', 'in', ['fine@example.com', 'badphone@example.com'])
          .execute(),
      );
      expect(none).toEqual([]);

      const good = await api({
        email: 'caller@example.com',
        status: 'active',
        consent_note: 'Shop counter form',
        phone: '+44 (0)1632 960-123',
      });
      expect(good.status).toBe(200);
      const stored = await withDatabase(server.databaseUrl, (db) =>
        db.selectFrom('subscribers').selectAll().where('email', '=', 'caller@example.com').executeTakeFirstOrThrow(),
      );
      expect(stored.phone_hash).toBe(callerHash(SECRET, '+441632960123'));
      expect(JSON.stringify(stored)).not.toContain('1632960123');
      const shown = await fetch(server.url + '/api/subscribers?email=caller@example.com', {
        headers: { authorization: `Bearer ${key}` },
      }).then((r) => r.json());
      expect(shown.subscriber.phoneOnFile).toBe(true);
      expect(JSON.stringify(shown)).not.toMatch(/1632|phone_hash/);
    });

    it('the admin form shows only that a number is on file, replaces and removes it, and refuses a bad one', async () => {
      const id = await withDatabase(server.databaseUrl, async (db) => {
        const added = await addConfirmedSubscriber(
          db,
          { email: 'form@example.com', consentNote: 'by hand', form: 'admin' },
          'test',
        );
        if (!added.ok) throw new Error(added.error);
        return added.value.id!;
      });
      const page = `/admin/subscribers/${id}`;
      expect((await request(server, page, { cookie })).text).toContain('No phone number on file.');
      const bad = await postForm(
        server,
        page,
        'subscribersAdmin.setPhone',
        { id: String(id), phone: '555-CALL-NOW' },
        { cookie },
      );
      expect(bad.text).toContain('is not a phone number');
      const phoneOf = () =>
        withDatabase(server.databaseUrl, (db) =>
          db
            .selectFrom('subscribers')
            .select(['phone_hash', 'phone_set_at'])
            .where('id', '=', id)
            .executeTakeFirstOrThrow(),
        );
      const hashOf = () => phoneOf().then((r) => r.phone_hash);
      expect(await hashOf()).toBeNull();
      const setFrom = Date.now();
      const set = await postForm(
        server,
        page,
        'subscribersAdmin.setPhone',
        { id: String(id), phone: '+44 1632 960200' },
        { cookie },
      );
      expect(set.text).toContain('Phone number saved.');
      expect(set.text).toContain('A phone number is on file.');
      expect(set.text).not.toContain('960200');
      expect(await hashOf()).toBe(callerHash(SECRET, '+441632960200'));
      // When it was set is kept: the holdout counts a number only if it was on file before the send.
      const setAt = Number((await phoneOf()).phone_set_at);
      expect(setAt).toBeGreaterThanOrEqual(setFrom);
      expect(setAt).toBeLessThanOrEqual(Date.now());
      const removed = await postForm(
        server,
        page,
        'subscribersAdmin.setPhone',
        { id: String(id), remove: 'yes' },
        { cookie },
      );
      expect(removed.text).toContain('Phone number removed.');
      expect(await phoneOf()).toEqual({ phone_hash: null, phone_set_at: null });
    });

    it('the subscriber CSV import takes a phone column; a row with a bad number is rejected, the others imported with the hash', async () => {
      const importedFrom = Date.now();
      const file = path.join(server.dataDir, 'with-phones.csv');
      writeFileSync(
        file,
        'email,name,phone\nimported@example.com,Imp,+44 1632 960300\nnophone@example.com,No,\nbroken@example.com,Br,not a number\n',
      );
      const upload = new FormData();
      upload.set(
        'file',
        new Blob([await import('node:fs/promises').then((fs) => fs.readFile(file))]),
        'with-phones.csv',
      );
      const uploaded = await fetch(server.url + '/admin/subscribers/import/upload', {
        method: 'POST',
        headers: { cookie, origin: server.url },
        body: upload,
        redirect: 'manual',
      });
      expect(uploaded.status).toBe(303);
      const job = /import\/([0-9a-f]{32})/.exec(uploaded.headers.get('location')!)![1]!;
      const jobPage = `/admin/subscribers/import/${job}`;
      expect((await request(server, jobPage, { cookie })).text).toContain('id="map-phone"');
      const planned = await postForm(
        server,
        jobPage,
        'subscribersAdmin.planImport',
        { job, delimiter: 'comma', email: '0', name: '1', topics: '', phone: '2', consentNote: 'Loyalty card form' },
        { cookie },
      );
      expect(planned.text).toContain('not a phone number');
      await postForm(server, jobPage, 'subscribersAdmin.startImport', { job }, { cookie });
      let rows: { email: string; phone_hash: string | null; phone_set_at: number | null }[] = [];
      for (let i = 0; i < 50 && rows.length < 2; i++) {
        rows = await withDatabase(server.databaseUrl, (db) =>
          db
            .selectFrom('subscribers')
            .select(['email', 'phone_hash', 'phone_set_at'])
            .where('email', 'in', ['imported@example.com', 'nophone@example.com', 'broken@example.com'])
            .orderBy('email')
            .execute(),
        );
        if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toEqual([
        {
          email: 'imported@example.com',
          phone_hash: callerHash(SECRET, '+441632960300'),
          phone_set_at: expect.any(Number),
        },
        { email: 'nophone@example.com', phone_hash: null, phone_set_at: null },
      ]);
      expect(Number(rows[0]!.phone_set_at)).toBeGreaterThanOrEqual(importedFrom);
    });

    it('Twilio: a signed status callback is stored once, answered, credited to the tracked number’s issue and linked to the subscriber who called', async () => {
      const before = (await calls()).length;
      const params = twilioCallback('CA' + 'a'.repeat(32));
      const first = await twilio(params);
      expect(first.status, first.text).toBe(201);
      expect(JSON.parse(first.text)).toMatchObject({ stored: true, event: { issue_id: issueId, answered: true } });
      // Twilio retries the same callback: nothing new.
      const replay = await twilio(params);
      expect(replay.status).toBe(200);
      expect(JSON.parse(replay.text)).toMatchObject({ stored: false, duplicate: true });
      for (const [answer, what] of [
        [first, '201'],
        [replay, '200 replay'],
      ] as const) {
        expectWebhookHeaders((name) => answer.headers.get(name), what);
        expect(Number(answer.headers.get('content-length')), what).toBe(Buffer.byteLength(answer.text));
      }
      // Missed calls: busy, no answer; and a repeat caller.
      expect(
        (await twilio(twilioCallback('CA' + 'b'.repeat(32), { CallStatus: 'no-answer', CallDuration: '0' }))).status,
      ).toBe(201);
      expect(
        (
          await twilio(
            twilioCallback('CA' + 'c'.repeat(32), {
              CallStatus: 'busy',
              From: '+441632960555',
              Caller: '+441632960555',
            }),
          )
        ).status,
      ).toBe(201);
      // A progress callback is not a call to count.
      const ringing = await twilio(twilioCallback('CA' + 'd'.repeat(32), { CallStatus: 'ringing' }));
      expect(ringing.status).toBe(200);
      expect(JSON.parse(ringing.text)).toMatchObject({ stored: false });

      const stored = (await calls()).slice(before);
      const subscriber = await withDatabase(server.databaseUrl, (db) =>
        db.selectFrom('subscribers').select('id').where('email', '=', 'caller@example.com').executeTakeFirstOrThrow(),
      );
      expect(
        stored.map((c) => [
          c.client_id,
          Number(c.answered),
          Number(c.repeat_caller),
          c.subscriber_id === null ? null : Number(c.subscriber_id),
          Number(c.issue_id),
        ]),
      ).toEqual([
        ['twilio:CA' + 'a'.repeat(32), 1, 0, Number(subscriber.id), issueId],
        ['twilio:CA' + 'b'.repeat(32), 0, 1, Number(subscriber.id), issueId],
        ['twilio:CA' + 'c'.repeat(32), 0, 0, null, issueId],
      ]);
      expect(stored[0]!.from_hash).toBe(callerHash(SECRET, '+441632960123'));
      // The called number too is kept only as the same keyed hash, and credited by it.
      expect(stored.map((c) => c.to_hash)).toEqual(new Array(3).fill(phoneHash(SECRET, '+441632960777')));
      expect(JSON.stringify(stored)).not.toMatch(/960777|960123|960555/);
      expect(Number(stored[0]!.duration_s)).toBe(95);
    });

    it('Twilio: a bad or missing signature, another token, a changed parameter, the wrong type, a 5 MB body or a Timestamp over 30 days old store nothing', async () => {
      const before = (await calls()).length;
      const params = twilioCallback('CA' + 'e'.repeat(32));
      const unsigned = await twilio(params, { signature: null });
      expect(unsigned.status).toBe(403);
      expectWebhookHeaders((name) => unsigned.headers.get(name), '403');
      expect((await twilio(params, { token: 'another-token-0123456789abcdef012' })).status).toBe(403);
      const signed = twilioSignature(TWILIO_TOKEN, `${server.url}/api/webhooks/twilio`, Object.entries(params));
      expect((await twilio({ ...params, CallStatus: 'busy' }, { signature: signed })).status).toBe(403);
      // Signed for another address than this site's public one.
      expect((await twilio(params, { url: `https://elsewhere.example/api/webhooks/twilio` })).status).toBe(403);
      const json = await request(server, '/api/webhooks/twilio', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-twilio-signature': signed },
        body: JSON.stringify(params),
      });
      expect(json.status).toBe(415);
      expectWebhookHeaders((name) => json.headers.get(name), '415');
      const flood = await floodPost(server, '/api/webhooks/twilio', {
        totalBytes: 5 * 1024 * 1024,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signed },
      });
      expect(flood.status).toBe(413);
      expectWebhookHeaders((name) => flood.headers[name] as string | undefined, '413 read');
      // A Content-Length over 16 KB: 413 before the body is asked for, the same headers.
      const declared = await rawRequest(
        server,
        `POST /api/webhooks/twilio HTTP/1.1
        Content-Type: application/x-www-form-urlencoded
        X-Twilio-Signature: ${signed}
        Content-Length: ${16 * 1024 + 1}
        Expect: 100-continue`,
      );
      expect(declared.status).toBe(413);
      expect(declared.continued).toBe(false);
      expect(JSON.parse(declared.body)).toMatchObject({ error: 'too_large' });
      expectWebhookHeaders((name) => declared.headers[name], '413 declared');
      const badFields = await twilio(
        twilioCallback('CA' + 'f'.repeat(32), { CallDuration: 'long', Timestamp: 'yesterday' }),
      );
      expect(badFields.status).toBe(400);
      expectWebhookHeaders((name) => badFields.headers.get(name), '400');
      expect(Number(badFields.headers.get('content-length'))).toBe(Buffer.byteLength(badFields.text));
      // An answer that is not ASCII (a curly apostrophe) is written as UTF-8, its length in bytes.
      const badSid = await twilio(twilioCallback('C'));
      expect(badSid.status).toBe(400);
      expect(JSON.parse(badSid.text).fields.CallSid).toBe('required: Twilio’s call id (CA followed by 32 hex digits)');
      expect(Number(badSid.headers.get('content-length'))).toBe(Buffer.byteLength(badSid.text));
      expect(JSON.parse(badFields.text).fields).toMatchObject({
        CallDuration: expect.any(String),
        Timestamp: expect.any(String),
      });
      // A Timestamp more than 30 days back (by a minute) is refused, whatever else is right.
      const stale = await twilio(
        twilioCallback('CA' + '7'.repeat(32), {
          Timestamp: new Date(Date.now() - 30 * 86_400_000 - 60_000).toUTCString().replace('GMT', '+0000'),
        }),
      );
      expect(stale.status, stale.text).toBe(400);
      expect(JSON.parse(stale.text).fields).toEqual({ Timestamp: 'is more than 30 days ago' });
      expect((await calls()).length).toBe(before);
      // A query string Twilio called with is part of what it signed.
      const withQuery = await twilio(twilioCallback('CA' + '1'.repeat(32)), {
        url: `${server.url}/api/webhooks/twilio?shop=main`,
      });
      expect(withQuery.status, withQuery.text).toBe(201);
    });

    it('CallRail: a signed post-call webhook is stored once; bad signatures, wrong types, bad fields, 5 MB bodies and a start_time over 30 days old store nothing', async () => {
      const before = (await calls()).length;
      const body = JSON.stringify(callrailCall('CAL8154748ae6bd4e278a7cddd38a662f4f'));
      const first = await callrail(body);
      expect(first.status, first.text).toBe(201);
      expect(JSON.parse(first.text)).toMatchObject({ stored: true, event: { issue_id: issueId, answered: true } });
      expect((await callrail(body)).status).toBe(200);
      const missed = await callrail(JSON.stringify(callrailCall('CAL2', { answered: false, duration: 0 })));
      expect(missed.status).toBe(201);

      expect((await callrail(body, { signature: null })).status).toBe(403);
      expect(
        (
          await callrail(body.replace('"42"', '"43"'), {
            signature: createHmac('sha1', CALLRAIL_KEY).update(body).digest('base64'),
          })
        ).status,
      ).toBe(403);
      expect((await callrail(body, { key: 'not-the-signing-key-0123456' })).status).toBe(403);
      expect((await callrail(body, { type: 'application/x-www-form-urlencoded' })).status).toBe(415);
      const bad = await callrail(
        JSON.stringify(callrailCall('CAL3', { start_time: '2026-11-26 10:00', answered: 'perhaps' })),
      );
      expect(bad.status).toBe(400);
      expect(Object.keys(JSON.parse(bad.text).fields).sort()).toEqual(['answered', 'start_time']);
      const flood = await floodPost(server, '/api/webhooks/callrail', {
        totalBytes: 5 * 1024 * 1024,
        headers: { 'content-type': 'application/json', signature: 'x' },
      });
      expect(flood.status).toBe(413);
      // A start_time more than 30 days back (by a minute) is refused, whatever else is right.
      const stale = await callrail(
        JSON.stringify(
          callrailCall('CAL4', {
            start_time: new Date(Date.now() - 30 * 86_400_000 - 60_000).toISOString().replace('Z', '+00:00'),
          }),
        ),
      );
      expect(stale.status, stale.text).toBe(400);
      expect(JSON.parse(stale.text).fields).toEqual({ start_time: 'is more than 30 days ago' });
      const stored = (await calls()).slice(before);
      expect(
        stored.map((c) => [c.client_id, Number(c.answered), Number(c.repeat_caller), Number(c.duration_s)]),
      ).toEqual([
        ['callrail:CAL8154748ae6bd4e278a7cddd38a662f4f', 1, 0, 42],
        ['callrail:CAL2', 0, 1, 0],
      ]);
    });

    it('the generic webhook still works, and takes answered; erasing the subscriber unlinks their calls and keeps them counted', async () => {
      const post = (body: unknown) =>
        request(server, '/api/webhooks/calls', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_SECRET}` },
          body: JSON.stringify(body),
        });
      const generic = await post({ at: Date.now() - 1000, from: '+44 1632 960123', answered: false, id: 'gen-1' });
      expect(generic.status, generic.text).toBe(201);
      expect(JSON.parse(generic.text)).toMatchObject({ stored: true });
      const wrong = await post({ at: Date.now() - 1000, answered: 'no' });
      expect(wrong.status).toBe(400);
      expect(JSON.parse(wrong.text).fields).toEqual({ answered: 'must be true (answered) or false (missed)' });
      expect((await calls()).at(-1)).toMatchObject({ client_id: 'webhook:gen-1' });
      expect(Number((await calls()).at(-1)!.answered)).toBe(0);
      expect(Number((await calls()).at(-1)!.repeat_caller)).toBe(1);
      const id = await withDatabase(server.databaseUrl, async (db) => {
        const row = await db
          .selectFrom('subscribers')
          .select('id')
          .where('email', '=', 'caller@example.com')
          .executeTakeFirstOrThrow();
        const linked = await db.selectFrom('offline_events').select('id').where('subscriber_id', '=', row.id).execute();
        expect(linked.length).toBe(4); // Twilio a, b and the one with a query string; the generic call
        await eraseSubscriber(db, Number(row.id));
        return Number(row.id);
      });
      const after = await withDatabase(server.databaseUrl, (db) =>
        db.selectFrom('offline_events').select('id').where('subscriber_id', '=', id).execute(),
      );
      expect(after).toEqual([]);
      expect((await calls()).filter((c) => c.client_id?.startsWith('twilio:')).length).toBe(4);
    });

    it('repeated bad signatures from one network are answered 429; a call the provider signed still goes in', async () => {
      const params = twilioCallback('CA' + '9'.repeat(32));
      let status = 0;
      let refused: Awaited<ReturnType<typeof twilio>> | undefined;
      for (let i = 0; i < 30 && status !== 429; i++) {
        refused = await twilio(params, { signature: 'forged' });
        status = refused.status;
      }
      expect(status).toBe(429);
      expectWebhookHeaders((name) => refused!.headers.get(name), '429');
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
      const signed = await twilio(params);
      expect(signed.status, signed.text).toBe(201);
    });

    it('the issue report shows answered and missed, first-time and repeat apart: a direct count of the raw rows, also after pruning', async () => {
      const direct = await withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('offline_events')
          .select(['answered', 'repeat_caller'])
          .where('issue_id', '=', issueId)
          .where('kind', '=', 'call')
          .where('undone_at', 'is', null)
          .execute(),
      );
      const count = (test: (r: (typeof direct)[number]) => boolean) => direct.filter(test).length;
      const value = (v: unknown) => (v === null ? null : Number(v));
      const expected = {
        Answered: count((r) => value(r.answered) === 1),
        Missed: count((r) => value(r.answered) === 0),
        'Not reported': count((r) => value(r.answered) === null),
        'First-time caller': count((r) => value(r.repeat_caller) === 0),
        'Repeat caller': count((r) => value(r.repeat_caller) === 1),
        'Number not known': count((r) => value(r.repeat_caller) === null),
      };
      expect(expected.Answered).toBeGreaterThan(0);
      expect(expected.Missed).toBeGreaterThan(0);
      expect(expected['Repeat caller']).toBeGreaterThan(0);
      const figures = async () => {
        const page = await request(server, `/admin/issues/${issueId}/report`, { cookie });
        expect(page.status).toBe(200);
        const section = page.text.slice(page.text.indexOf('data-call-outcomes'));
        expect(page.text).toContain('id="def-callAnswered"');
        return Object.fromEntries(
          Object.keys(expected).map((label) => {
            const found = new RegExp(`>${label}</th>\\s*<td[^>]*>([\\d,]+)</td>`).exec(section);
            return [label, found ? Number(found[1]!.replace(/,/g, '')) : 0];
          }),
        );
      };
      // The report's JSON (/api/issues/<id>/report) gives the same figures as the page.
      const fromApi = async () => {
        const answer = await request(server, `/api/issues/${issueId}/report`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(answer.status, answer.text).toBe(200);
        const c = (JSON.parse(answer.text) as { call_outcomes: Record<string, number> }).call_outcomes;
        return {
          Answered: c.answered,
          Missed: c.missed,
          'Not reported': c.answered_not_reported,
          'First-time caller': c.first_time_callers,
          'Repeat caller': c.repeat_callers,
          'Number not known': c.caller_not_known,
        };
      };
      expect(await figures()).toEqual(expected);
      expect(await fromApi()).toEqual(await figures());
      // Retention prunes every raw row: the figures stay.
      await withDatabase(server.databaseUrl, (db) => pruneRawEvents(db, Date.now() + 4000 * 86_400_000));
      expect(await calls()).toEqual([]);
      expect(await figures()).toEqual(expected);
      expect(await fromApi()).toEqual(expected);
    });
  });
}
