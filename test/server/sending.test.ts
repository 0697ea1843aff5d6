import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { countBy, createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { linkIn, pressConfirm, subscriberIn } from '../helpers/subscribers.ts';
import { sql } from 'kysely';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';
import { describeTime, epochToLocalTime, localTimeToEpoch } from '../../src/lib/sending/schedule-time.ts';
import { countAudience } from '../../src/lib/sending/deliveries.repository.ts';
import { countRows } from '../helpers/rows.ts';

const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';

for (const dialect of testDialects()) {
  describe(`sending over HTTP and real SMTP [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    const keys = {} as Record<'admin' | 'marketer' | 'writer', string>;
    const cookies = {} as Record<'admin' | 'marketer' | 'writer', string>;
    const rcptTries = new Map<string, number>();
    const dropped = new Set<string>();

    beforeAll(async () => {
      sink = await startSmtpSink({
        respond: (rcpt) => {
          const n = (rcptTries.get(rcpt) ?? 0) + 1;
          rcptTries.set(rcpt, n);
          if (rcpt.startsWith('busy')) return n <= 2 ? { code: 451, message: '4.3.0 Try again later' } : null;
          if (rcpt.startsWith('closing')) return n <= 1 ? { code: 421, message: '4.4.2 Closing connection' } : null;
          if (rcpt.startsWith('gone')) return { code: 550, message: '5.1.1 No such user here' };
          if (rcpt.startsWith('never')) return { code: 452, message: '4.2.2 Mailbox full' };
          // A full mailbox refused with a 5xx, as Gmail does, then room made: retried, not bounced.
          if (rcpt.startsWith('full')) return n <= 1 ? { code: 552, message: '5.2.2 Mailbox full' } : null;
          return null;
        },
        dropConnectionFor: (rcpt) => {
          if (!rcpt.startsWith('drop') || dropped.has(rcpt)) return false;
          dropped.add(rcpt);
          return true;
        },
      });
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-sending-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: {
          SMTP_URL: sink.url,
          SMTP_POOL_SIZE: '3',
          MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
          SEND_POLL_MS: '50',
          SEND_RETRY_BASE_MS: '20',
          SEND_MAX_ATTEMPTS: '3',
          BOUNCE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        },
      });
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

    const api = (
      method: string,
      path: string,
      role: keyof typeof keys | null,
      payload?: unknown,
      headers: Record<string, string> = {},
    ) =>
      request(server, path, {
        method,
        headers: {
          ...(role ? { authorization: `Bearer ${keys[role]}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(payload !== undefined ? { body: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}),
      });

    const issue = (subject = 'Widget news') => withDatabase(server.databaseUrl, (db) => createDraftIssue(db, subject));
    const seed = (count: number, email: (i: number) => string, topics?: (i: number) => string[]) =>
      withDatabase(server.databaseUrl, (db) => seedSubscribers(db, count, { email, ...(topics ? { topics } : {}) }));
    const ledgerCounts = (issueId: number) =>
      withDatabase(server.databaseUrl, async (db) => {
        const rows = await db.selectFrom('deliveries').select(['status']).where('issue_id', '=', issueId).execute();
        return {
          ...{ queued: 0, sending: 0, sent: 0, failed: 0, bounced: 0, skipped: 0 },
          ...countBy(rows, (r) => r.status),
          total: rows.length,
        };
      });
    const progressOf = async (issueId: number) =>
      JSON.parse((await api('GET', `/api/issues/${issueId}/progress`, 'writer')).text);

    it('API: a writer key may not send; a marketer key sends to a topic (202), a repeat answers the same send; progress equals the ledger', async () => {
      await seed(
        30,
        (i) => `api${i}@example.com`,
        (i) => (i % 3 === 0 ? ['offers'] : []),
      );
      const id = await issue('Offers for the weekend');

      const writer = await api('POST', `/api/issues/${id}/send`, 'writer', { audience: {} });
      expect(writer.status).toBe(403);
      expect(JSON.parse(writer.text)).toMatchObject({ error: 'forbidden' });
      expect((await api('POST', `/api/issues/${id}/send`, 'marketer', { audience: { topics: ['nope'] } })).status).toBe(
        400,
      );
      expect((await api('POST', `/api/issues/${id}/send`, 'marketer', { audience: {}, at: 'tomorrow' })).status).toBe(
        400,
      );
      expect((await api('POST', `/api/issues/999999/send`, 'marketer', { audience: {} })).status).toBe(404);
      expect(await ledgerCounts(id)).toMatchObject({ total: 0 });

      const sent = await api('POST', `/api/issues/${id}/send`, 'marketer', { audience: { topics: ['offers'] } });
      expect(sent.status, sent.text).toBe(202);
      const body = JSON.parse(sent.text);
      expect(body).toMatchObject({
        send_id: expect.any(Number),
        recipients: 10,
        state: 'running',
        audience: { topics: ['offers'] },
        created: true,
      });
      const again = await api('POST', `/api/issues/${id}/send`, 'admin', { audience: {} });
      expect(again.status).toBe(202);
      expect(JSON.parse(again.text)).toMatchObject({ send_id: body.send_id, recipients: 10, created: false });

      await eventually(async () => (await progressOf(id)).send?.state === 'finished', 'the send to finish');
      const progress = await progressOf(id);
      const ledger = await ledgerCounts(id);
      expect(progress.counts).toEqual(ledger);
      expect(progress.counts).toMatchObject({ sent: 10, total: 10, queued: 0, sending: 0 });
      expect(progress.done).toBe(1);
      expect(
        sink.envelopes
          .filter((e) => e.rcptTo[0]!.startsWith('api'))
          .map((e) => e.rcptTo[0])
          .sort(),
      ).toEqual(
        Array.from({ length: 30 }, (_, i) => i)
          .filter((i) => i % 3 === 0)
          .map((i) => `api${i}@example.com`)
          .sort(),
      );
      // The admin shows the same numbers, in the page and in the JSON its script polls.
      const page = await request(server, `/admin/issues/${id}/progress`, { cookie: cookies.writer });
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1 class="page-title">Sending progress</h1>');
      for (const [key, value] of Object.entries({
        sent: ledger.sent,
        failed: ledger.failed,
        bounced: ledger.bounced,
        skipped: ledger.skipped,
      })) {
        expect(page.text).toContain(`<strong data-count="${key}">${value}</strong>`);
      }
      expect(page.text).toContain(`<strong data-count="queued">0</strong>`);
      expect(page.text).not.toContain('sending.pause'); // a writer sees no controls
      const polled = await request(server, `/admin/issues/${id}/progress?format=json`, { cookie: cookies.writer });
      expect(JSON.parse(polled.text).counts).toEqual(ledger);
      expect((await request(server, `/admin/issues/${id}/progress?format=json`)).status).toBe(302);
      // The issue is sent: writers and everyone see it so; a send page for it only says so.
      const sendPage = await request(server, `/admin/issues/${id}/send`, { cookie: cookies.marketer });
      expect(sendPage.text).toContain('was sent');
    });

    it('4xx, a 552 5.2.2 full mailbox and dropped connections are retried until delivered, 5xx bounces and suppresses, endless 4xx fails: progress shows the ledger', async () => {
      const kinds = ['ok', 'busy', 'closing', 'gone', 'never', 'drop', 'full'];
      const emails = Array.from({ length: 14 }, (_, i) => `${kinds[i % kinds.length]}-x${i}@example.com`);
      await seed(
        14,
        (i) => emails[i]!,
        () => ['store-news'],
      );
      const id = await issue('Store news');
      const sent = await api('POST', `/api/issues/${id}/send`, 'marketer', { audience: { topics: ['store-news'] } });
      expect(sent.status).toBe(202);
      await eventually(async () => (await progressOf(id)).send?.state === 'finished', 'the send to finish', 30_000);
      const progress = await progressOf(id);
      expect(progress.counts).toEqual(await ledgerCounts(id));
      expect(progress.counts).toMatchObject({ sent: 10, bounced: 2, failed: 2, total: 14 });
      const arrived = countBy(
        sink.envelopes.map((e) => e.rcptTo[0]!).filter((r) => r.includes('-x')),
        (r) => r,
      );
      for (const email of emails) {
        const kind = email.split('-')[0]!;
        expect(arrived[email], email).toBe(kind === 'gone' || kind === 'never' ? undefined : 1);
      }
      expect(rcptTries.get('never-x4@example.com')).toBe(3);
      expect(rcptTries.get('gone-x3@example.com')).toBe(1);
      expect(rcptTries.get('full-x6@example.com')).toBe(2);
      await withDatabase(server.databaseUrl, async (db) => {
        const gone = await db
          .selectFrom('subscribers')
          .select(['status'])
          .where('email', '=', 'gone-x3@example.com')
          .executeTakeFirst();
        expect(gone?.status).toBe('bounced');
        const full = await db
          .selectFrom('subscribers')
          .select(['status'])
          .where('email', 'in', ['full-x6@example.com', 'full-x13@example.com'])
          .execute();
        expect(full.map((f) => f.status)).toEqual(['active', 'active']);
        expect(
          await db
            .selectFrom('suppressions')
            .select('reason')
            .where('email_hash', '=', emailHash('full-x13@example.com'))
            .executeTakeFirst(),
        ).toBeUndefined();
        expect(
          await db
            .selectFrom('suppressions')
            .select('reason')
            .where('email_hash', '=', emailHash('gone-x10@example.com'))
            .executeTakeFirst(),
        ).toEqual({ reason: 'bounced' });
      });
    });

    it('bounce webhook: the right secret suppresses (by message id or email); a wrong secret, bad JSON or no address → 4xx and nothing stored', async () => {
      await seed(
        3,
        (i) => `hook${i}@example.com`,
        () => ['guides'],
      );
      const id = await issue('Guides');
      expect(
        (await api('POST', `/api/issues/${id}/send`, 'marketer', { audience: { topics: ['guides'] } })).status,
      ).toBe(202);
      await eventually(async () => (await progressOf(id)).send?.state === 'finished', 'the send to finish');
      const messageOf = (email: string) =>
        withDatabase(server.databaseUrl, async (db) =>
          db
            .selectFrom('deliveries')
            .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
            .select(['deliveries.id', 'deliveries.message_id', 'deliveries.status', 'deliveries.complained_at'])
            .where('subscribers.email', '=', email)
            .where('deliveries.issue_id', '=', id)
            .executeTakeFirstOrThrow(),
        );
      const stored = () =>
        withDatabase(server.databaseUrl, async (db) => ({
          suppressions: await countRows(db, 'suppressions'),
          events: await countRows(db, 'subscriber_events'),
        }));
      const hook = (body: string, headers: Record<string, string>) =>
        request(server, '/api/webhooks/bounces', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });

      const before = await stored();
      const good = JSON.stringify({ email: 'hook0@example.com', type: 'bounce', reason: '5.1.1 user unknown' });
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-secret-wrong-secret' },
        { 'x-webhook-secret': WEBHOOK_SECRET.slice(0, -1) },
        { authorization: `Basic ${WEBHOOK_SECRET}` },
      ] as Record<string, string>[]) {
        const answer = await hook(good, headers);
        expect(answer.status, JSON.stringify(headers)).toBe(401);
        expect(JSON.parse(answer.text)).toMatchObject({ error: 'unauthorized' });
      }
      const auth = { authorization: `Bearer ${WEBHOOK_SECRET}` };
      expect((await hook('{"email": "hook0@example.com", "type": ', auth)).status).toBe(400);
      expect((await hook(JSON.stringify({ email: 'hook0@example.com', type: 'spam' }), auth)).status).toBe(400);
      expect((await hook(JSON.stringify({ type: 'bounce' }), auth)).status).toBe(400);
      expect((await hook(JSON.stringify({ email: 'not an address', type: 'bounce' }), auth)).status).toBe(400);
      expect((await hook('[]', auth)).status).toBe(400);
      expect(await stored()).toEqual(before);

      // By message id (with or without brackets), through either header; no Origin header (a server-to-server POST).
      const first = await messageOf('hook0@example.com');
      const byId = await hook(
        JSON.stringify({ message_id: first.message_id!.slice(1, -1), type: 'bounce', reason: 'mailbox disabled' }),
        { 'x-webhook-secret': WEBHOOK_SECRET },
      );
      expect(byId.status, byId.text).toBe(200);
      expect(JSON.parse(byId.text)).toEqual({ suppressed: true, delivery_id: first.id });
      expect((await messageOf('hook0@example.com')).status).toBe('bounced');
      const complaint = await hook(
        JSON.stringify({ message_id: (await messageOf('hook1@example.com')).message_id, type: 'complaint' }),
        auth,
      );
      expect(complaint.status).toBe(200);
      expect(await messageOf('hook1@example.com')).toMatchObject({ status: 'sent', complained_at: expect.any(Number) });
      // By address alone, for a message we cannot name.
      expect(
        JSON.parse((await hook(JSON.stringify({ email: 'Somebody-Else@Example.com', type: 'bounce' }), auth)).text),
      ).toEqual({ suppressed: true, delivery_id: null });
      // A full mailbox is soft whoever reports it (RFC 3463: X.2.2, "a persistent transient failure"): recorded with its reason, nobody suppressed.
      const third = await messageOf('hook2@example.com');
      const full = await hook(
        JSON.stringify({
          message_id: third.message_id,
          type: 'bounce',
          reason: '552 5.2.2 <hook2@example.com>: Mailbox full',
        }),
        auth,
      );
      expect(JSON.parse(full.text)).toEqual({ suppressed: false, delivery_id: third.id });
      expect((await messageOf('hook2@example.com')).status).toBe('sent');
      await withDatabase(server.databaseUrl, async (db) =>
        expect(
          await db.selectFrom('bounce_events').select(['kind', 'reason']).where('delivery_id', '=', third.id).execute(),
        ).toEqual([{ kind: 'soft', reason: expect.stringMatching(/^mailbox full \(5\.2\.2\): 552 5\.2\.2/) }]),
      );
      await withDatabase(server.databaseUrl, async (db) => {
        const statuses = await db
          .selectFrom('subscribers')
          .select(['email', 'status'])
          .where('email', 'like', 'hook%')
          .orderBy('email')
          .execute();
        expect(statuses).toEqual([
          { email: 'hook0@example.com', status: 'bounced' },
          { email: 'hook1@example.com', status: 'complained' },
          { email: 'hook2@example.com', status: 'active' },
        ]);
        expect(
          await db
            .selectFrom('suppressions')
            .select('reason')
            .where('email_hash', '=', emailHash('somebody-else@example.com'))
            .executeTakeFirst(),
        ).toEqual({ reason: 'bounced' });
      });
      expect((await progressOf(id)).counts).toMatchObject({ sent: 2, bounced: 1, total: 3 });
    });

    it(
      dialect === 'sqlite'
        ? 'npm run worker: a second worker on SQLite says why and exits 1'
        : 'npm run worker: more workers on PostgreSQL start, and stop on SIGTERM',
      async () => {
        const child = spawn(process.execPath, [path.join(projectRoot, 'scripts/worker.ts')], {
          cwd: projectRoot,
          env: {
            ...process.env,
            NODE_ENV: 'production',
            DATA_DIR: server.dataDir,
            DATABASE_URL: server.databaseUrl,
            SMTP_URL: sink.url,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        if (dialect === 'sqlite') {
          expect(await exited).toBe(1);
          expect(output).toMatch(
            /SQLite allows one send worker, and one is running: pid \d+ on .*Use PostgreSQL \(DATABASE_URL=postgres:\/\/…\) for more workers/,
          );
        } else {
          await eventually(
            () => /\[worker\] .* running \(SMTP pool of \d+, database postgres\)/.test(output),
            'the worker to start',
            20_000,
          );
          child.kill('SIGTERM');
          expect(await exited, output).toBe(0);
          expect(output).toContain('[worker] stopped');
        }
      },
    );

    it('admin: a marketer schedules a send in the site time zone, sees it on the progress page, and cancels it back to a draft', async () => {
      const id = await issue('Scheduled news');
      const writerTry = await postForm(
        server,
        `/admin/issues/${id}/send`,
        'sending.send',
        { issueId: String(id), audience: 'all', when: 'now' },
        { cookie: cookies.writer },
      );
      expect(writerTry.status).toBe(403);
      expect(await ledgerCounts(id)).toMatchObject({ total: 0 });

      // The issue's page leads to the send page (marketers, admins), and once scheduled to its progress.
      expect((await request(server, `/admin/issues/${id}`, { cookie: cookies.marketer })).text).toContain(
        `href="/admin/issues/${id}/send"`,
      );
      expect((await request(server, `/admin/issues/${id}`, { cookie: cookies.writer })).text).not.toContain(
        `/admin/issues/${id}/send`,
      );
      const page = await request(server, `/admin/issues/${id}/send`, { cookie: cookies.marketer });
      expect(page.status).toBe(200);
      const zone = /Date and time in ([A-Za-z_/+-]+)/.exec(page.text)?.[1];
      expect(zone).toBeTruthy();
      const local = `${epochToLocalTime(Date.now() + 60 * 86_400_000, zone!).slice(0, 10)}T09:15`;
      await seed(
        2,
        (i) => `scheduled-guides${i}@example.com`,
        () => ['guides'],
      );
      const guides = await withDatabase(server.databaseUrl, (db) => countAudience(db, { topics: ['guides'] }));
      const form = { issueId: String(id), audience: 'topics', topics: 'guides', when: 'later', at: local };
      // First the confirmation step: who, how many, when — and nothing sent or scheduled yet.
      const review = await postForm(server, `/admin/issues/${id}/send`, 'sending.send', form, {
        cookie: cookies.marketer,
      });
      expect(review.status, /<div class="alert[^]*?<\/div>/.exec(review.text)?.[0]).toBe(200);
      expect(review.text).toContain(`Send to ${guides.toLocaleString('en')} subscribers?`);
      expect(review.text).toContain(describeTime((localTimeToEpoch(local, zone!) as { at: number }).at, zone!));
      expect(review.text).toContain('name="confirmed" value="yes"');
      expect((await progressOf(id)).send).toBeNull();
      const posted = await postForm(
        server,
        `/admin/issues/${id}/send`,
        'sending.send',
        { ...form, confirmed: 'yes' },
        { cookie: cookies.marketer },
      );
      expect(posted.status, /<div class="alert[^]*?<\/div>/.exec(posted.text)?.[0]).toBe(303);
      expect(posted.location).toBe(`/admin/issues/${id}/progress`);
      const progress = await progressOf(id);
      expect(progress.send).toMatchObject({
        state: 'scheduled',
        scheduled_at: (localTimeToEpoch(local, zone!) as { at: number }).at,
        audience: { topics: ['guides'] },
        recipients: null,
      });
      expect((await request(server, `/admin/issues/${id}`, { cookie: cookies.marketer })).text).toContain(
        `href="/admin/issues/${id}/progress"`,
      );
      const shown = await request(server, `/admin/issues/${id}/progress`, { cookie: cookies.marketer });
      // Without JavaScript the page refreshes itself while the send is live.
      expect(shown.text).toMatch(/<noscript><meta http-equiv="refresh" content="2"><\/noscript>/);
      expect(shown.text).toContain('Scheduled');
      expect(shown.text).toContain(`(${zone})`);
      expect(shown.text).toContain('Stop: send nothing');

      const cancelled = await postForm(
        server,
        `/admin/issues/${id}/progress`,
        'sending.cancel',
        { issueId: String(id) },
        { cookie: cookies.marketer },
      );
      expect(cancelled.status).toBe(303);
      expect(cancelled.location).toBe(`/admin/issues/${id}/send?notice=stopped`);
      expect((await progressOf(id)).send).toBeNull();
      await withDatabase(server.databaseUrl, async (db) =>
        expect((await db.selectFrom('issues').select('status').where('id', '=', id).executeTakeFirst())?.status).toBe(
          'draft',
        ),
      );
    });

    it('odd names — < > " , ; @ \\, other scripts, emoji, 200 characters — from the API, a CSV import, the preferences page and Settings reach the SMTP server intact', async () => {
      const sender = 'Frobozz <Electric> "Shop", Ltd; @home 🛠️';
      const settings = {
        siteName: 'Frobozz Electric',
        siteUrl: server.url,
        senderName: sender,
        senderAddress: 'news@frobozz.example',
        replyTo: '',
        postalAddress: '12 Flathead Row\nPort Foozle',
        timeZone: 'Europe/Amsterdam',
        openTracking: 'on',
        clickTracking: 'on',
        personTracking: 'on',
        attributionWindowDays: '7',
        retentionDays: '400',
      };
      const saved = await postForm(server, '/admin/settings', 'settings.save', settings, { cookie: cookies.admin });
      expect(saved.status, saved.text.slice(0, 2000)).toBe(303);

      const viaApi: Record<string, string> = {
        'odd-angle@names.example': 'Ann <Sales>',
        'odd-quote@names.example': 'Jo "The Widget" Bloggs',
        'odd-comma@names.example': 'Bloggs, Jo; Sales @ Frobozz',
        'odd-backslash@names.example': 'Back\\slash \\"Esc\\"',
        'odd-greek@names.example': 'Ζωή Παπαδοπούλου',
        'odd-cjk@names.example': '李小龍',
        'odd-arabic@names.example': 'محمد عبد الله',
        'odd-emoji@names.example': '🦄 Uni 🎉 Corn',
        'odd-long@names.example': 'L'.repeat(200),
        'odd-longemoji@names.example': 'a' + '🦄'.repeat(199),
      };
      const added = await api(
        'POST',
        '/api/subscribers',
        'marketer',
        Object.entries(viaApi).map(([email, name]) => ({
          email,
          name,
          status: 'active',
          consent_note: 'Signed up at the counter',
          topics: ['guides'],
        })),
      );
      expect(added.status, added.text).toBe(200);
      expect(JSON.parse(added.text).results.map((r: { ok: boolean }) => r.ok)).toEqual(
        Object.keys(viaApi).map(() => true),
      );

      // The same through a CSV import (comma-separated, names quoted as spreadsheets write them).
      const viaCsv: Record<string, string> = {
        'odd-csv1@names.example': 'Imp <Orted>, "Ltd"',
        'odd-csv2@names.example': 'Émile Zola; Zürich @ home',
      };
      const csv =
        [
          'email,name,topics',
          ...Object.entries(viaCsv).map(([email, name]) => `${email},"${name.replace(/"/g, '""')}",guides`),
        ].join('\r\n') + '\r\n';
      const form = new FormData();
      form.set('file', new File([csv], 'odd names.csv', { type: 'text/csv' }));
      const uploaded = await request(server, '/admin/subscribers/import/upload', {
        method: 'POST',
        headers: { origin: server.url },
        body: form,
        cookie: cookies.marketer,
      });
      expect(uploaded.status).toBe(303);
      const jobPage = uploaded.location!;
      const job = jobPage.split('/').at(-1)!;
      expect(
        (
          await postForm(
            server,
            jobPage,
            'subscribersAdmin.planImport',
            { job, delimiter: 'comma', email: '0', name: '1', topics: '2', consentNote: 'Paper form at the counter' },
            { cookie: cookies.marketer },
          )
        ).status,
      ).toBe(200);
      expect(
        (await postForm(server, jobPage, 'subscribersAdmin.startImport', { job }, { cookie: cookies.marketer })).status,
      ).toBe(200);
      await eventually(
        async () => (await request(server, jobPage, { cookie: cookies.marketer })).text.includes('Import finished'),
        'the import to finish',
      );

      // Stored as given, cut to 100 characters where longer — never through the middle of an emoji.
      const expected: Record<string, string> = {
        ...viaApi,
        ...viaCsv,
        'odd-long@names.example': 'L'.repeat(100),
        'odd-longemoji@names.example': 'a' + '🦄'.repeat(99),
      };
      for (const [email, name] of Object.entries(expected))
        expect((await subscriberIn(server.databaseUrl, email))?.name, email).toBe(name);

      const received = async (subject: string, count: number) => {
        await eventually(
          () => sink.messages.filter((m) => m.subject === subject).length >= count,
          `${count} messages “${subject}”`,
        );
        return new Map(
          sink.messages
            .filter((m) => m.subject === subject)
            .map((m) => [(m.to as { value: { address: string }[] }).value[0]!.address, m]),
        );
      };
      const fromOf = (m: { from?: { value: { name: string; address?: string }[] } }) => m.from!.value[0];
      const toOf = (m: { to?: unknown }) => (m.to as { value: { name: string; address: string }[] }).value[0];

      const first = await issue('Names of every kind');
      expect(
        (await api('POST', `/api/issues/${first}/send`, 'marketer', { audience: { topics: ['guides'] } })).status,
      ).toBe(202);
      await eventually(async () => (await progressOf(first)).send?.state === 'finished', 'the send to finish');
      expect((await progressOf(first)).counts).toMatchObject({ failed: 0 });
      const mails = await received('Names of every kind', Object.keys(expected).length);
      for (const [email, name] of Object.entries(expected)) {
        const mail = mails.get(email);
        expect(mail, email).toBeDefined();
        expect(toOf(mail!), email).toEqual({ name, address: email });
        expect(fromOf(mail!), email).toEqual({ name: sender, address: 'news@frobozz.example' });
      }

      // Ann renames herself on the preferences page her newsletter links to; the next issue uses the new name.
      const preferences = linkIn(mails.get('odd-angle@names.example')!.text, `${server.url}/preferences/`);
      const token = preferences.split('/preferences/')[1]!;
      const renamed = await request(server, `/preferences/${token}?_action=savePreferences`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ token, name: '<Ann> & "Co", Ltd; @ 🏠', topics: 'guides' }).toString(),
      });
      expect(renamed.text).toContain('Saved.');
      const second = await issue('Names, the second');
      expect(
        (await api('POST', `/api/issues/${second}/send`, 'marketer', { audience: { topics: ['guides'] } })).status,
      ).toBe(202);
      await eventually(async () => (await progressOf(second)).send?.state === 'finished', 'the second send to finish');
      expect(
        toOf((await received('Names, the second', Object.keys(expected).length)).get('odd-angle@names.example')!),
      ).toEqual({ name: '<Ann> & "Co", Ltd; @ 🏠', address: 'odd-angle@names.example' });

      // A test send and a public signup's confirmation and welcome go out from the same sender.
      const test = await api('POST', `/api/issues/${second}/test`, 'marketer', { to: ['odd-test@names.example'] });
      expect(test.status, test.text).toBe(200);
      expect(fromOf((await received('[Test] Names, the second', 1)).get('odd-test@names.example')!)).toEqual({
        name: sender,
        address: 'news@frobozz.example',
      });
      const signup = await request(server, '/subscribe?_action=subscribe', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ email: 'odd-signup@names.example', name: 'Zoë <Signup>, "Jr"' }).toString(),
      });
      expect(signup.status).toBe(200);
      const confirmation = (await received('Confirm your subscription to Frobozz Electric', 1)).get(
        'odd-signup@names.example',
      )!;
      expect(fromOf(confirmation)).toEqual({ name: sender, address: 'news@frobozz.example' });
      expect((await subscriberIn(server.databaseUrl, 'odd-signup@names.example'))?.name).toBe('Zoë <Signup>, "Jr"');
      expect((await pressConfirm(linkIn(confirmation.text, `${server.url}/subscribe/confirm?token=`))).status).toBe(
        200,
      );
      expect(
        fromOf((await received('Welcome to the Frobozz Electric newsletter', 1)).get('odd-signup@names.example')!),
      ).toEqual({ name: sender, address: 'news@frobozz.example' });
    });

    // Last: it stops the server.
    it('SIGTERM mid-send: messages in flight finish and are recorded, claimed ones go back to the queue, exit 0', async () => {
      await seed(
        1500,
        (i) => `term${i}@example.com`,
        () => ['offers'],
      );
      await withDatabase(server.databaseUrl, (db) =>
        db.updateTable('subscribers').set({ status: 'unsubscribed' }).where('email', 'like', 'api%').execute(),
      );
      const id = await issue('Stopping halfway');
      expect(
        (await api('POST', `/api/issues/${id}/send`, 'marketer', { audience: { topics: ['offers'] } })).status,
      ).toBe(202);
      const arrived = () => sink.envelopes.filter((e) => e.rcptTo[0]!.startsWith('term')).length;
      await eventually(() => arrived() >= 100, 'a hundred messages', 30_000, 5);
      expect(await server.stop()).toBe(0);
      const counts = await ledgerCounts(id);
      expect(counts.sending).toBe(0);
      expect(counts.sent).toBe(arrived());
      expect(counts.queued).toBe(1500 - counts.sent);
      expect(counts.sent).toBeLessThan(1500);
    });
  });
}

for (const dialect of testDialects()) {
  describe(`a send worker that cannot record what it sent [${dialect}]`, () => {
    const POOL = 2;
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let key: string;
    let cookie: string;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-stuck-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: {
          SMTP_URL: sink.url,
          SMTP_POOL_SIZE: String(POOL),
          SEND_POLL_MS: '50',
          SEND_COMMIT_RETRY_MAX_MS: '400',
          SEND_COMMIT_ATTEMPTS: '6',
        },
      });
      key = await apiKeyFor(server.databaseUrl, 'marketer');
      cookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'mara@frobozz.example', 'marketer'),
      );
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    /** The database refuses to mark a delivery sent (a trigger), as a full disk or a broken replica would refuse the commit. */
    const refuseOutcomes = (refuse: boolean) =>
      withDatabase(server.databaseUrl, async (db) => {
        if (dialect === 'sqlite') {
          if (refuse)
            await sql`create trigger refuse_outcomes before update of status on deliveries when new.status = 'sent' begin select raise(abort, 'the database refuses outcomes (test fault)'); end`.execute(
              db,
            );
          else await sql`drop trigger refuse_outcomes`.execute(db);
        } else if (refuse) {
          await sql`create function refuse_outcomes() returns trigger as $$ begin raise exception 'the database refuses outcomes (test fault)'; end $$ language plpgsql`.execute(
            db,
          );
          await sql`create trigger refuse_outcomes before update on deliveries for each row when (new.status = 'sent') execute function refuse_outcomes()`.execute(
            db,
          );
        } else {
          await sql`drop trigger refuse_outcomes on deliveries`.execute(db);
          await sql`drop function refuse_outcomes()`.execute(db);
        }
      });
    const health = async () => {
      const answer = await request(server, '/healthz');
      return { status: answer.status, body: JSON.parse(answer.text) };
    };
    const progressOf = async (id: number) =>
      JSON.parse(
        (await request(server, `/api/issues/${id}/progress`, { headers: { authorization: `Bearer ${key}` } })).text,
      );

    it('waits longer between attempts, says so on the progress page and in /healthz, pauses the send with the reason, and records everything once the database works again', async () => {
      const emails = Array.from({ length: 8 }, (_, i) => `stuck${i}@example.com`);
      await withDatabase(server.databaseUrl, (db) => seedSubscribers(db, emails.length, { email: (i) => emails[i]! }));
      const id = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, 'Stuck in the database'));
      expect((await health()).status).toBe(200);
      await refuseOutcomes(true);
      try {
        const sent = await request(server, `/api/issues/${id}/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ audience: {} }),
        });
        expect(sent.status).toBe(202);
        await eventually(async () => (await health()).status === 503, '/healthz to report the worker');
        const { body } = await health();
        expect(body).toMatchObject({
          status: 'degraded',
          database: { reachable: true },
          sending: {
            status: 'cannot_record',
            workers: [
              {
                failed_attempts: expect.any(Number),
                last_error: expect.stringContaining('the database refuses outcomes'),
              },
            ],
          },
        });
        const page = await request(server, `/admin/issues/${id}/progress`, { cookie });
        expect(page.text).toMatch(
          /The send worker cannot record its progress in the database: \d+ failed attempts? since/,
        );
        expect((await progressOf(id)).workers_failing).toHaveLength(1);

        await eventually(
          async () => (await progressOf(id)).send?.state === 'paused',
          'the send to pause itself',
          20_000,
        );
        // Six attempts with waits of 250, then 400 ms (the cap here) four times: 1.85 s at least, not 6 × 250 ms.
        expect(Date.now() - body.sending.workers[0].failing_since).toBeGreaterThanOrEqual(1800);
        const paused = await progressOf(id);
        expect(paused.send.paused_reason).toMatch(
          /^Paused: the send worker could not record its progress in the database \(6 failed attempts since .*the database refuses outcomes/,
        );
        const shown = await request(server, `/admin/issues/${id}/progress`, { cookie });
        expect(shown.text).toContain('Paused: the send worker could not record its progress');
        expect(shown.text).toContain('Its sends are paused.');
        // Each sender waits for its outcome to be recorded: no more than the pool went out unrecorded.
        expect(sink.messages.length).toBeLessThanOrEqual(POOL);
        // One log line for the failures so far, not one per attempt.
        expect(server.output().match(/recording \d+ outcome\(s\) failed/g)).toHaveLength(1);
      } finally {
        await refuseOutcomes(false);
      }
      await eventually(async () => (await health()).status === 200, '/healthz to recover');
      const recovered = await progressOf(id);
      expect(recovered.workers_failing).toEqual([]);
      expect(recovered.counts.sent).toBe(sink.messages.length); // what went out is recorded, nothing twice
      expect(server.output()).toMatch(/outcomes recorded again after \d+ failed attempt/);

      const resumed = await postForm(
        server,
        `/admin/issues/${id}/progress`,
        'sending.resume',
        { issueId: String(id) },
        { cookie },
      );
      expect(resumed.status).toBe(303);
      await eventually(async () => (await progressOf(id)).send?.state === 'finished', 'the send to finish');
      expect((await progressOf(id)).counts).toMatchObject({ sent: emails.length, total: emails.length });
      expect(countBy(sink.envelopes, (e) => e.rcptTo[0]!)).toEqual(Object.fromEntries(emails.map((e) => [e, 1])));
    });
  });
}
