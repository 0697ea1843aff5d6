import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../../helpers/smtp-sink.ts';
import { countBy, eventually, createDraftIssue, ledgerOf, seedSubscribers } from '../../helpers/sending.ts';
import type { DB } from '#lib/db/database.ts';
import { createMailer, type Mailer } from '#lib/mail/mailer.ts';
import { cancelSend, getSendProgress, pauseSend, requestSend, resumeSend } from '#lib/sending/send.service.ts';
import { createIssueSendingPort } from '#lib/issues/sending-port.ts';
import { SendWorker, WorkerLockedError, type SendWorkerOptions } from '#lib/sending/worker.ts';
import { emailHash } from '#lib/subscribers/email-address.ts';
import { eraseSubscriber, unsubscribe, updatePreferences } from '#lib/subscribers/subscribers.service.ts';
import { insertSuppression } from '#lib/subscribers/subscribers.repository.ts';

const SECRET = 'engine-test-secret-engine-test-secret-000';
/** The real seam: the issues domain's checks, freeze and personaliser. */
const hooks = createIssueSendingPort({ secret: SECRET, knownPaths: async () => undefined });

const running: { workers: SendWorker[]; mailers: Mailer[]; sinks: SmtpSink[] } = {
  workers: [],
  mailers: [],
  sinks: [],
};
afterEach(async () => {
  for (const w of running.workers.splice(0)) await w.stop();
  for (const m of running.mailers.splice(0)) await m.close();
  for (const s of running.sinks.splice(0)) await s.close();
});

async function sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  running.sinks.push(s);
  return s;
}

function mailerFor(s: SmtpSink, poolSize = 3, rateLimitPerSecond?: number): Mailer {
  const m = createMailer({
    smtpUrl: s.url,
    outboxDir: mkdtempSync(path.join(tmpdir(), 'footfall-outbox-')),
    pool: { maxConnections: poolSize, ...(rateLimitPerSecond ? { rateLimitPerSecond } : {}) },
  });
  running.mailers.push(m);
  return m;
}

async function startWorker(db: DB, mailer: Mailer, options: Partial<SendWorkerOptions> = {}): Promise<SendWorker> {
  const worker = new SendWorker({
    db,
    mailer,
    hooks,
    concurrency: 3,
    leaseMs: 30_000,
    pollMs: 20,
    retryBaseMs: 5,
    maxAttempts: 4,
    pauseAfterFailures: 1000,
    log: () => {},
    ...options,
  });
  await worker.start();
  running.workers.push(worker);
  return worker;
}

async function finished(db: DB, issueId: number, timeoutMs = 20_000): Promise<void> {
  await eventually(
    async () => (await getSendProgress(db, issueId)).send?.state === 'finished',
    `issue ${issueId}'s send to finish`,
    timeoutMs,
  );
}

const recipientsOf = (s: SmtpSink) => s.envelopes.flatMap((e) => e.rcptTo);

describeEachDatabase('sending engine', (db, dialect) => {
  // Each test mails its own subscribers: the ones of earlier tests leave.
  beforeEach(async () => {
    await db().deleteFrom('subscribers').execute();
    await db().deleteFrom('suppressions').execute();
  });

  it('freezes the audience in one statement, sends each recipient one message, and finishes with the ledger settled', async () => {
    const s = await sink();
    const issueId = await createDraftIssue(db());
    const ids = await seedSubscribers(db(), 40, {
      email: (i) => `all${i}@example.com`,
      status: (i) => (i === 3 ? 'pending' : 'active'),
      paused: (i) => i === 4,
    });
    const result = await requestSend(db(), hooks, { issueId, audience: {} });
    expect(result).toMatchObject({ ok: true, value: { state: 'running', recipients: 38, created: true } });

    await startWorker(db(), mailerFor(s));
    await finished(db(), issueId);
    const ledger = await ledgerOf(db(), issueId);
    expect(ledger).toHaveLength(38);
    expect(new Set(ledger.map((r) => r.subscriber_id))).toEqual(new Set(ids.filter((_, i) => i !== 3 && i !== 4)));
    expect(
      ledger.every(
        (r) => r.status === 'sent' && r.attempts === 1 && r.sent_at !== null && /^<.+@.+>$/.test(r.message_id!),
      ),
    ).toBe(true);
    expect(recipientsOf(s).sort()).toEqual(
      ids
        .map((_, i) => `all${i}@example.com`)
        .filter((_, i) => i !== 3 && i !== 4)
        .sort(),
    );
    // The recorded Message-ID is the one that arrived: the issue's own, per delivery.
    expect(new Set(s.messages.map((m) => m.messageId))).toEqual(new Set(ledger.map((r) => r.message_id)));
    for (const row of ledger) expect(row.message_id).toMatch(new RegExp(`^<footfall\\.${issueId}\\.${row.id}@`));
    // Each is the issue as rendered and personalised: subject, one-click unsubscribe, the recipient's own tracked links.
    const first = s.messages[0]!;
    expect(first.subject).toBe('Widget news');
    const header = (name: string) => first.headerLines.find((h) => h.key === name)?.line.replace(/\r?\n[ \t]+/g, ' ');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(header('list-unsubscribe')).toMatch(/^List-Unsubscribe: <http:\/\/[^>]+\/unsubscribe\/[^>]+>/);
    expect(first.html).toMatch(/\/t\/o\/[A-Za-z0-9_-]{16,}/);
    expect(new Set(s.messages.map((m) => /\/t\/o\/([A-Za-z0-9_-]+)/.exec(String(m.html))?.[1])).size).toBe(38);
    expect(
      await db().selectFrom('issues').select(['status', 'sent_at']).where('id', '=', issueId).executeTakeFirst(),
    ).toMatchObject({ status: 'sent', sent_at: expect.any(Number) });

    const progress = await getSendProgress(db(), issueId);
    expect(progress.counts).toEqual({ queued: 0, sending: 0, sent: 38, failed: 0, bounced: 0, skipped: 0, total: 38 });
    expect(progress.done).toBe(1);
    expect(progress.send).toMatchObject({ state: 'finished', recipients: 38 });

    // A repeated request answers the same send and adds nobody.
    const again = await requestSend(db(), hooks, { issueId, audience: { topics: ['guides'] } });
    expect(again).toMatchObject({
      ok: true,
      value: { sendId: result.ok ? result.value.sendId : 0, created: false, state: 'finished' },
    });
    expect(await ledgerOf(db(), issueId)).toHaveLength(38);
  });

  it('without SMTP the same pipeline writes each message to the outbox, and the ledger records it', async () => {
    const outbox = mkdtempSync(path.join(tmpdir(), 'footfall-outbox-'));
    const mailer = createMailer({ outboxDir: outbox });
    running.mailers.push(mailer);
    const issueId = await createDraftIssue(db());
    await seedSubscribers(db(), 4, { email: (i) => `box${i}@example.com` });
    await requestSend(db(), hooks, { issueId, audience: {} });
    await startWorker(db(), mailer);
    await finished(db(), issueId);
    const ledger = await ledgerOf(db(), issueId);
    expect(ledger.map((r) => r.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    const files = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(4);
    const ids = files.map((f) => /^Message-ID: (<[^>]+>)/im.exec(readFileSync(path.join(outbox, f), 'utf8'))?.[1]);
    expect(new Set(ids)).toEqual(new Set(ledger.map((r) => r.message_id)));
  });

  it('sends by topic, and re-checks each recipient just before sending (unsubscribed, paused, suppressed, deleted → skipped)', async () => {
    const s = await sink();
    const issueId = await createDraftIssue(db());
    const ids = await seedSubscribers(db(), 12, {
      email: (i) => `topic${i}@example.com`,
      topics: (i) => (i % 2 === 0 ? ['guides'] : i % 3 === 0 ? ['offers', 'guides'] : ['offers']),
    });
    expect(await requestSend(db(), hooks, { issueId, audience: { topics: ['nonsense'] } })).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    const result = await requestSend(db(), hooks, { issueId, audience: { topics: ['guides'] } });
    // guides: the even ones (0,2,4,6,8,10) and 3, 9.
    expect(result).toMatchObject({ ok: true, value: { recipients: 8, audience: { topics: ['guides'] } } });

    // After the freeze, before the worker: four recipients change their minds.
    await unsubscribe(db(), ids[0]!, { method: 'page' });
    await updatePreferences(db(), ids[2]!, { topics: ['guides'], paused: true }, 'subscriber');
    await insertSuppression(db(), emailHash('topic4@example.com'), 'manual', Date.now());
    await eraseSubscriber(db(), ids[6]!);

    await startWorker(db(), mailerFor(s));
    await finished(db(), issueId);
    const ledger = await ledgerOf(db(), issueId);
    expect(countBy(ledger, (r) => r.status)).toEqual({ sent: 4, skipped: 4 });
    expect(
      ledger
        .filter((r) => r.status === 'skipped')
        .map((r) => r.reason)
        .sort(),
    ).toEqual(['address suppressed', 'subscriber deleted', 'subscriber paused', 'subscriber unsubscribed']);
    expect(recipientsOf(s).sort()).toEqual([
      'topic10@example.com',
      'topic3@example.com',
      'topic8@example.com',
      'topic9@example.com',
    ]);
    // The deleted subscriber's row stays, without them: the counts survive.
    expect(ledger.filter((r) => r.subscriber_id === null)).toHaveLength(1);
    expect((await getSendProgress(db(), issueId)).counts).toMatchObject({ sent: 4, skipped: 4, total: 8 });
  });

  it('4xx and dropped connections are retried until delivered; 5xx bounces and suppresses; endless 4xx fails after the last attempt', async () => {
    const tries = new Map<string, number>();
    const count = (rcpt: string) => {
      const n = (tries.get(rcpt) ?? 0) + 1;
      tries.set(rcpt, n);
      return n;
    };
    const rcpts = new Map<string, number>();
    const s = await sink({
      respond: (rcpt) => {
        rcpts.set(rcpt, (rcpts.get(rcpt) ?? 0) + 1);
        if (rcpt.startsWith('busy')) return count(rcpt) <= 2 ? { code: 451, message: '4.3.0 Try again later' } : null;
        if (rcpt.startsWith('closing'))
          return count(rcpt) <= 1 ? { code: 421, message: '4.4.2 Closing connection' } : null;
        if (rcpt.startsWith('gone')) return { code: 550, message: '5.1.1 No such user here' };
        if (rcpt.startsWith('never')) return { code: 450, message: '4.2.1 Mailbox busy' };
        return null;
      },
      dropConnectionFor: (rcpt) => rcpt.startsWith('drop') && count(rcpt) <= 1,
    });
    const issueId = await createDraftIssue(db());
    const kinds = ['ok', 'busy', 'closing', 'gone', 'never', 'drop'];
    await seedSubscribers(db(), 24, { email: (i) => `${kinds[i % kinds.length]}${i}@example.com` });
    await requestSend(db(), hooks, { issueId, audience: {} });
    await startWorker(db(), mailerFor(s), { retryBaseMs: 5, maxAttempts: 4 });
    await finished(db(), issueId);

    const ledger = await ledgerOf(db(), issueId);
    const rows = await db()
      .selectFrom('deliveries')
      .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
      .select([
        'subscribers.email',
        'subscribers.status as subscriber_status',
        'deliveries.status',
        'deliveries.attempts',
        'deliveries.reason',
      ])
      .where('deliveries.issue_id', '=', issueId)
      .execute();
    const byKind = (kind: string) => rows.filter((r) => r.email.startsWith(kind));
    expect(byKind('ok').every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
    expect(byKind('busy').every((r) => r.status === 'sent' && r.attempts === 3)).toBe(true);
    // A 421 or a dropped connection ends the connection: nodemailer's pool may requeue the message on a new one itself, else we retry.
    expect(byKind('closing').every((r) => r.status === 'sent' && r.attempts <= 2)).toBe(true);
    expect(byKind('drop').every((r) => r.status === 'sent' && r.attempts <= 2)).toBe(true);
    for (const r of byKind('gone')) {
      expect(r).toMatchObject({ status: 'bounced', attempts: 1, subscriber_status: 'bounced' });
      expect(r.reason).toContain('5.1.1');
      expect(
        await db()
          .selectFrom('suppressions')
          .select('reason')
          .where('email_hash', '=', emailHash(r.email))
          .executeTakeFirst(),
      ).toEqual({ reason: 'bounced' });
    }
    for (const r of byKind('never')) {
      expect(r).toMatchObject({ status: 'failed', attempts: 4 });
      expect(r.reason).toMatch(/^gave up after 4 attempts: 450 4\.2\.1/);
    }
    // Every 4xx or dropped recipient arrived exactly once; the 5xx and endless ones never.
    const arrived = countBy(recipientsOf(s), (r) => r);
    for (const kind of ['ok', 'busy', 'closing', 'drop'])
      for (const r of byKind(kind)) expect(arrived[r.email], r.email).toBe(1);
    for (const kind of ['gone', 'never']) for (const r of byKind(kind)) expect(arrived[r.email]).toBeUndefined();
    // A bounce is not retried: one RCPT for each 5xx address; the endless ones exactly maxAttempts.
    for (const r of byKind('gone')) expect(rcpts.get(r.email)).toBe(1);
    for (const r of byKind('never')) expect(rcpts.get(r.email)).toBe(4);
    expect((await getSendProgress(db(), issueId)).counts).toEqual({
      queued: 0,
      sending: 0,
      sent: 16,
      failed: 4,
      bounced: 4,
      skipped: 0,
      total: ledger.length,
    });
  });

  it('pauses itself after N failures in a row and says why; resume carries on; cancel skips the rest', async () => {
    let refuse = true;
    const s = await sink({
      respond: () => (refuse ? { code: 421, message: '4.7.0 Too many connections from your host' } : null),
    });
    const issueId = await createDraftIssue(db());
    await seedSubscribers(db(), 30, { email: (i) => `pause${i}@example.com` });
    const sendId = ((await requestSend(db(), hooks, { issueId, audience: {} })) as { value: { sendId: number } }).value
      .sendId;
    await startWorker(db(), mailerFor(s), { pauseAfterFailures: 5, retryBaseMs: 60_000 });
    await eventually(
      async () => (await getSendProgress(db(), issueId)).send?.state === 'paused',
      'the send to pause itself',
    );
    const paused = await getSendProgress(db(), issueId);
    expect(paused.send!.pausedReason).toMatch(
      /^Paused after 5 failed attempts in a row\. The last: 421 4\.7\.0 Too many connections/,
    );
    // Nothing more is attempted while paused.
    await eventually(async () => (await getSendProgress(db(), issueId)).counts.sending === 0, 'in-flight to settle');
    const attempted = s.envelopes.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(s.envelopes.length).toBe(attempted);
    expect(paused.counts.sent).toBe(0);

    refuse = false;
    // Retries were scheduled a minute ahead; make them due now, as time passing would.
    await db()
      .updateTable('deliveries')
      .set({ next_attempt_at: 0 })
      .where('issue_id', '=', issueId)
      .where('status', '=', 'queued')
      .execute();
    expect(await resumeSend(db(), sendId)).toEqual({ ok: true, value: null });
    await eventually(
      async () => (await getSendProgress(db(), issueId)).counts.sent >= 10,
      'ten messages after resuming',
    );
    expect(await pauseSend(db(), sendId, 'paused by a test')).toEqual({ ok: true, value: null });
    const cancelled = await cancelSend(db(), hooks, sendId);
    expect(cancelled.ok).toBe(true);
    await eventually(async () => (await getSendProgress(db(), issueId)).counts.sending === 0, 'in-flight to settle');
    const end = await getSendProgress(db(), issueId);
    expect(end.send!.state).toBe('cancelled');
    expect(end.counts.sent + end.counts.skipped).toBe(30);
    expect(
      (await ledgerOf(db(), issueId)).filter((r) => r.status === 'skipped').every((r) => r.reason === 'cancelled'),
    ).toBe(true);
    expect(await resumeSend(db(), sendId)).toMatchObject({ ok: false, reason: 'conflict' });
  });

  it('schedules a send for later: nothing is frozen until its time, then the worker starts it', async () => {
    const s = await sink();
    const issueId = await createDraftIssue(db());
    await seedSubscribers(db(), 5, { email: (i) => `later${i}@example.com` });
    const at = Date.now() + 1500;
    const result = await requestSend(db(), hooks, { issueId, audience: {}, at });
    expect(result).toMatchObject({ ok: true, value: { state: 'scheduled', scheduledAt: at, recipients: 5 } });
    expect(
      (await db().selectFrom('issues').select('status').where('id', '=', issueId).executeTakeFirst())?.status,
    ).toBe('scheduled');

    // Cancelling a send that has not started removes it: the issue is a draft again and can be scheduled anew.
    const { sendId } = (result as { value: { sendId: number } }).value;
    expect(await cancelSend(db(), hooks, sendId)).toEqual({ ok: true, value: { skipped: 0, removed: true } });
    expect(
      (await db().selectFrom('issues').select('status').where('id', '=', issueId).executeTakeFirst())?.status,
    ).toBe('draft');
    expect(await requestSend(db(), hooks, { issueId, audience: {}, at })).toMatchObject({
      ok: true,
      value: { state: 'scheduled', created: true },
    });
    await startWorker(db(), mailerFor(s));
    expect(await ledgerOf(db(), issueId)).toHaveLength(0);
    await finished(db(), issueId);
    expect(Math.min(...s.envelopes.map((e) => e.receivedAt))).toBeGreaterThanOrEqual(at);
    expect(s.envelopes).toHaveLength(5);
  });

  if (dialect === 'sqlite') {
    it('SQLite: a second worker is refused and says why; a dead worker’s lock and claims are taken over at once', async () => {
      const s = await sink();
      const first = await startWorker(db(), mailerFor(s));
      const second = new SendWorker({
        db: db(),
        mailer: mailerFor(s),
        hooks,
        concurrency: 1,
        leaseMs: 30_000,
        pollMs: 20,
        retryBaseMs: 5,
        maxAttempts: 3,
        pauseAfterFailures: 100,
        log: () => {},
      });
      const refusal = await second.start().catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(WorkerLockedError);
      expect((refusal as Error).message).toMatch(
        /^SQLite allows one send worker, and one is running: pid \d+ on .+ Use PostgreSQL/,
      );
      await first.stop();
      running.workers.splice(running.workers.indexOf(first), 1);

      // A worker that died (its process is gone) holding claims: the next one takes over without waiting for the lease.
      const issueId = await createDraftIssue(db());
      await seedSubscribers(db(), 6, { email: (i) => `orphan${i}@example.com` });
      await requestSend(db(), hooks, { issueId, audience: {} });
      const dead = 'ghost:999999:dead';
      await db()
        .insertInto('send_workers')
        .values({
          slot: 'sqlite',
          worker_id: dead,
          host: (await import('node:os')).hostname(),
          pid: 2 ** 22 + 1,
          started_at: Date.now(),
          heartbeat_at: Date.now(),
        })
        .execute();
      await db()
        .updateTable('deliveries')
        .set({ status: 'sending', claimed_by: dead, claimed_at: Date.now() })
        .where('issue_id', '=', issueId)
        .execute();
      await startWorker(db(), mailerFor(s));
      await finished(db(), issueId, 5000);
      expect(s.envelopes.filter((e) => e.rcptTo[0]!.startsWith('orphan'))).toHaveLength(6);
    });
  }

  if (dialect === 'postgres') {
    it(
      'PostgreSQL: two concurrent send requests and two workers → one ledger row and at most one message per recipient',
      { timeout: 60_000 },
      async () => {
        const s = await sink();
        const issueId = await createDraftIssue(db());
        await seedSubscribers(db(), 400, { email: (i) => `twice${i}@example.com` });
        const [a, b] = await Promise.all([
          requestSend(db(), hooks, { issueId, audience: {} }),
          requestSend(db(), hooks, { issueId, audience: {} }),
        ]);
        expect(a.ok && b.ok).toBe(true);
        if (!a.ok || !b.ok) return;
        expect(a.value.sendId).toBe(b.value.sendId);
        expect([a.value.created, b.value.created].sort()).toEqual([false, true]);
        // Each worker's pool is held to 50 messages a second, so neither can finish alone (8 s) before the other starts
        // (at 100 a second one did once, on a loaded machine).
        const [w1, w2] = await Promise.all([
          startWorker(db(), mailerFor(s, 3, 50)),
          startWorker(db(), mailerFor(s, 3, 50)),
        ]);
        await finished(db(), issueId);
        const ledger = await ledgerOf(db(), issueId);
        expect(ledger).toHaveLength(400);
        expect(new Set(ledger.map((r) => r.subscriber_id)).size).toBe(400);
        const arrived = countBy(recipientsOf(s), (r) => r);
        expect(Object.keys(arrived)).toHaveLength(400);
        expect(Math.max(...Object.values(arrived))).toBe(1);
        // Both took part.
        expect(w1.sent).toBeGreaterThan(0);
        expect(w2.sent).toBeGreaterThan(0);
      },
    );
  }
});
