import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { startImapServer, dovecotInstalled, type ImapServer } from '../../helpers/imap-server.ts';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { createDraftIssue, eventually, ledgerOf, seedSubscribers } from '../../helpers/sending.ts';
import {
  appendRefusalDsn,
  buildArf,
  buildAuthFailureReport,
  buildDsn,
  headerBlock,
} from '../../helpers/bounce-reports.ts';
import type { DB } from '#lib/db/database.ts';
import { createMailer, type Mailer } from '#lib/mail/mailer.ts';
import { readVerpAddress, verpAddress } from '#lib/mail/verp.ts';
import { createIssueSendingPort } from '#lib/issues/sending-port.ts';
import { getSendProgress, requestSend } from '#lib/sending/send.service.ts';
import { SendWorker } from '#lib/sending/worker.ts';
import { emailHash } from '#lib/subscribers/email-address.ts';
import { bounceMailboxStatus, mailboxName, pollBounceMailbox } from '#lib/bounces/mailbox/mailbox.service.ts';
import { takeMailboxLease } from '#lib/bounces/mailbox/mailbox.repository.ts';
import { makeSelfSignedCertificate } from '../../helpers/tls.ts';

const SECRET = 'mailbox-test-secret-mailbox-test-secret-0';
const VERP = 'bounces@shop.example';
const hooks = createIssueSendingPort({ secret: SECRET, knownPaths: async () => undefined });
const PROCESSED = 'Processed reports';
const OTHER = 'Not reports';

let imap: ImapServer;
beforeAll(async () => {
  if (!dovecotInstalled) throw new Error('Dovecot is not installed: apt-get install -y dovecot-imapd (.ci/run does)');
  imap = await startImapServer();
}, 30_000);
afterAll(async () => {
  await imap?.close();
});

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

/** Empties the mailbox and its folders between tests. */
async function emptyMailbox(): Promise<void> {
  const c = await imap.client();
  try {
    for (const folder of (await c.list()).map((f) => f.path)) {
      if (folder === 'INBOX') {
        const lock = await c.getMailboxLock('INBOX');
        try {
          if (c.mailbox && c.mailbox.exists > 0) await c.messageDelete('1:*');
        } finally {
          lock.release();
        }
      } else await c.mailboxDelete(folder);
    }
  } finally {
    await c.logout();
  }
}

async function sink(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  running.sinks.push(s);
  return s;
}

/** Sends an issue through the relay sink with a real worker (VERP return paths when asked); answers the issue id. */
async function sendIssue(db: DB, relay: SmtpSink, options: { verp: boolean }): Promise<number> {
  const mailer = createMailer({
    smtpUrl: relay.url,
    outboxDir: mkdtempSync(path.join(tmpdir(), 'footfall-outbox-')),
    pool: { maxConnections: 2 },
  });
  running.mailers.push(mailer);
  const issueId = await createDraftIssue(db);
  const sent = await requestSend(db, hooks, { issueId, audience: {} });
  if (!sent.ok) throw new Error(sent.message);
  const worker = new SendWorker({
    db,
    mailer,
    hooks,
    concurrency: 2,
    leaseMs: 30_000,
    pollMs: 20,
    retryBaseMs: 5,
    maxAttempts: 2,
    pauseAfterFailures: 1000,
    log: () => {},
    ...(options.verp ? { returnPath: (id: number) => verpAddress(VERP, SECRET, id) } : {}),
  });
  await worker.start();
  running.workers.push(worker);
  await eventually(async () => (await getSendProgress(db, issueId)).send?.state === 'finished', 'the send to finish');
  await worker.stop();
  return issueId;
}

const settings = () => ({ url: imap.url, processedFolder: PROCESSED, otherFolder: OTHER });

async function suppressed(db: DB, email: string) {
  return db.selectFrom('suppressions').select('reason').where('email_hash', '=', emailHash(email)).executeTakeFirst();
}

describeEachDatabase('bounce mailbox over IMAP (Dovecot)', (db) => {
  beforeEach(async () => {
    await emptyMailbox();
    await db().deleteFrom('subscribers').execute();
    await db().deleteFrom('suppressions').execute();
    await db().deleteFrom('bounce_mailboxes').execute();
  });

  it('a relay’s DSN for a recipient the next hop refused marks that delivery bounced through its VERP return path, suppresses the address (skipped by the next send), moves the report, and a re-read records nothing', async () => {
    await seedSubscribers(db(), 3, { email: (i) => ['ann@example.com', 'gone@example.org', 'cal@example.com'][i]! });
    const relay = await sink();
    const issueId = await sendIssue(db(), relay, { verp: true });
    const ledger = await ledgerOf(db(), issueId);
    expect(ledger.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);

    // Each message left with its own signed return path; the From header stays the shop's.
    expect(relay.envelopes).toHaveLength(3);
    for (const [i, envelope] of relay.envelopes.entries()) {
      const id = readVerpAddress(VERP, SECRET, envelope.mailFrom);
      expect(ledger.map((r) => r.id)).toContain(id);
      expect(relay.messages[i]!.from?.value[0]?.address).not.toMatch(/^bounces\+/);
    }

    // The relay hands each message on; the next hop refuses gone@example.org after the relay accepted it.
    const { rejection, returnPath, dsn } = await appendRefusalDsn(imap, relay, 'gone@example.org', {
      refusal: {
        code: 550,
        message: '5.1.1 <gone@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
      },
      // Without the original's Message-ID: only the VERP address names the delivery.
      withoutMessageId: true,
      date: new Date(1_800_000_000_000),
    });
    expect(rejection.response).toMatch(/^550 5\.1\.1 .*User unknown/);
    // Something that is not a report, and something unreadable, in the same mailbox: neither stops the read.
    await imap.append(
      'From: someone@example.com\r\nTo: bounces@shop.example\r\nSubject: Out of office\r\nMessage-ID: <ooo@example.com>\r\n\r\nBack on Monday.\r\n',
    );
    await imap.append(
      'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\r\nMessage-ID: <broken@example.com>\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nno status part\r\n--x--\r\n',
    );

    const now = 1_800_000_100_000;
    const read = await pollBounceMailbox(
      { db: db(), secret: SECRET, verpAddress: VERP, log: () => {} },
      settings(),
      'worker-a',
      now,
    );
    expect(read).toMatchObject({ locked: false, reports: 1, others: 2, recorded: 1, duplicates: 0 });
    expect(read.error).toBeUndefined();

    const after = await ledgerOf(db(), issueId);
    const gone = after.find((r) => r.id === readVerpAddress(VERP, SECRET, returnPath))!;
    expect(gone.status).toBe('bounced');
    expect(after.filter((r) => r.status === 'sent')).toHaveLength(2);
    expect(await suppressed(db(), 'gone@example.org')).toEqual({ reason: 'bounced' });
    expect(await suppressed(db(), 'ann@example.com')).toBeUndefined();

    // The report went to the processed folder, the other two aside; the inbox is empty.
    expect(await imap.messageIds('INBOX')).toEqual([]);
    expect(await imap.messageIds(PROCESSED)).toHaveLength(1);
    expect((await imap.messageIds(OTHER)).sort()).toEqual(['<broken@example.com>', '<ooo@example.com>']);

    const status = await bounceMailboxStatus(db(), {
      url: imap.url,
      pollMs: 60_000,
      processedFolder: PROCESSED,
      otherFolder: OTHER,
      verpAddress: VERP,
    });
    expect(status).toMatchObject({
      configured: true,
      lastPollAt: now,
      lastSuccessAt: now,
      reports: 1,
      others: 2,
      lastError: null,
    });
    expect(JSON.stringify(status)).not.toContain(imap.password);

    // The relay sends the same report again: it is read and moved, and nothing more is recorded.
    await imap.append(dsn);
    const again = await pollBounceMailbox(
      { db: db(), secret: SECRET, verpAddress: VERP },
      settings(),
      'worker-b',
      now + 60_000,
    );
    expect(again).toMatchObject({ reports: 1, others: 0, recorded: 0, duplicates: 1 });
    expect(await ledgerOf(db(), issueId)).toEqual(after);
    expect(await db().selectFrom('suppressions').select('reason').execute()).toHaveLength(1);
    // One bounce recorded, with the next hop's own words (the address masked).
    const events = await db().selectFrom('bounce_events').select(['kind', 'source', 'reason', 'delivery_id']).execute();
    expect(events).toEqual([
      {
        kind: 'hard',
        source: 'mailbox',
        reason: '550 5.1.1 <address>: Recipient address rejected: User unknown in virtual mailbox table',
        delivery_id: gone.id,
      },
    ]);

    // The next send skips the bounced address.
    const relay2 = await sink();
    await sendIssue(db(), relay2, { verp: true });
    expect(relay2.envelopes.flatMap((e) => e.rcptTo).sort()).toEqual(['ann@example.com', 'cal@example.com']);
  });

  it('an ARF complaint (RFC 5965’s sample) about a real message finds its delivery by the Message-ID of the attached message; an RFC 6591 authentication-failure report records nothing', async () => {
    await seedSubscribers(db(), 2, { email: (i) => ['dee@example.com', 'eve@example.com'][i]! });
    const relay = await sink();
    const issueId = await sendIssue(db(), relay, { verp: false });
    const ledger = await ledgerOf(db(), issueId);
    const eveIndex = relay.envelopes.findIndex((e) => e.rcptTo.includes('eve@example.com'));
    const eveDelivery = ledger.find((r) => r.message_id === relay.messages[eveIndex]!.messageId)!;
    expect(eveDelivery).toBeDefined();
    const headers = headerBlock(relay.raw[eveIndex]!);
    await imap.append(
      buildArf({
        originalHeaders: headers,
        rcptTo: 'eve@example.com',
        mailFrom: relay.envelopes[eveIndex]!.mailFrom,
        messageId: '<arf-1@example.com>',
      }),
    );
    await imap.append(buildAuthFailureReport({ originalHeaders: headers, messageId: '<auth-1@example.com>' }));

    const read = await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-a', 1_800_000_000_000);
    expect(read).toMatchObject({ reports: 2, others: 0, recorded: 1 });
    const row = await db()
      .selectFrom('deliveries')
      .select(['complained_at', 'status'])
      .where('id', '=', eveDelivery.id)
      .executeTakeFirstOrThrow();
    expect(row.complained_at).not.toBeNull();
    expect(await suppressed(db(), 'eve@example.com')).toEqual({ reason: 'complained' });
    expect(await suppressed(db(), 'dee@example.com')).toBeUndefined();
    expect((await imap.messageIds(PROCESSED)).sort()).toEqual(['<arf-1@example.com>', '<auth-1@example.com>']);
  });

  it('a relay still trying (Action: delayed, 4.x.x) is a soft bounce: recorded with its reason, the delivery and the address unchanged', async () => {
    await seedSubscribers(db(), 1, { email: () => 'slow@example.net' });
    const relay = await sink();
    const issueId = await sendIssue(db(), relay, { verp: false });
    const { rejection } = await appendRefusalDsn(imap, relay, 'slow@example.net', {
      refusal: { code: 452, message: '4.2.2 Mailbox full, try again later' },
      action: 'delayed',
      date: new Date(1_800_000_000_000),
    });
    expect(rejection.response).toMatch(/^452 4\.2\.2/);
    const read = await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-a', 1_800_000_100_000);
    expect(read).toMatchObject({ reports: 1, recorded: 1 });
    expect((await ledgerOf(db(), issueId)).map((r) => r.status)).toEqual(['sent']);
    expect(await suppressed(db(), 'slow@example.net')).toBeUndefined();
    const events = await db()
      .selectFrom('bounce_events')
      .select(['kind', 'reason', 'at'])
      .where('issue_id', '=', issueId)
      .execute();
    expect(events.map((e) => ({ ...e, at: Number(e.at) }))).toEqual([
      { kind: 'soft', reason: '452 4.2.2 Mailbox full, try again later', at: 1_800_000_000_000 },
    ]);
  });

  it('with the IMAP server down the status shows the error and nothing else changes; the next good read clears it', async () => {
    await imap.append('From: a@example.com\r\nSubject: hello\r\nMessage-ID: <kept@example.com>\r\n\r\nhi\r\n');
    await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-a', 1_000);
    await imap.append('From: a@example.com\r\nSubject: hello again\r\nMessage-ID: <waits@example.com>\r\n\r\nhi\r\n');
    const before = await db().selectFrom('bounce_mailboxes').selectAll().executeTakeFirstOrThrow();
    await imap.stop();
    try {
      const read = await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-a', 2_000, {
        timeoutMs: 3000,
      });
      expect(read.error).toMatch(/ECONNREFUSED|connect/i);
      expect(read).toMatchObject({ reports: 0, others: 0, recorded: 0 });
      const status = await bounceMailboxStatus(db(), {
        url: imap.url,
        pollMs: 1000,
        processedFolder: PROCESSED,
        otherFolder: OTHER,
        verpAddress: undefined,
      });
      expect(status).toMatchObject({
        lastPollAt: 2_000,
        lastSuccessAt: 1_000,
        reports: 0,
        others: 1,
        lastErrorAt: 2_000,
      });
      expect(status.lastError).toMatch(/ECONNREFUSED|connect/i);
      const row = await db().selectFrom('bounce_mailboxes').selectAll().executeTakeFirstOrThrow();
      expect({ ...row, last_poll_at: before.last_poll_at, last_error: null, last_error_at: null }).toEqual(before);
    } finally {
      await imap.restart();
    }
    expect(await imap.messageIds('INBOX')).toEqual(['<waits@example.com>']);
    await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-a', 3_000);
    const status = await bounceMailboxStatus(db(), {
      url: imap.url,
      pollMs: 1000,
      processedFolder: PROCESSED,
      otherFolder: OTHER,
      verpAddress: undefined,
    });
    expect(status).toMatchObject({
      lastPollAt: 3_000,
      lastSuccessAt: 3_000,
      others: 2,
      lastError: null,
      lastErrorAt: null,
    });
  });

  it('two workers reading at the same moment: one reads, the other finds the lease taken, and the report is recorded once', async () => {
    await seedSubscribers(db(), 1, { email: () => 'twice@example.org' });
    const relay = await sink();
    const issueId = await sendIssue(db(), relay, { verp: false });
    await imap.append(
      buildDsn({
        reportingMta: 'relay.shop.example',
        to: relay.envelopes[0]!.mailFrom,
        rejection: { recipient: 'twice@example.org', response: '550 5.1.1 No such user', responseCode: 550 },
        originalHeaders: headerBlock(relay.raw[0]!),
        date: new Date(1_800_000_000_000),
      }),
    );
    const deps = { db: db(), secret: SECRET };
    const [a, b] = await Promise.all([
      pollBounceMailbox(deps, settings(), 'worker-a', 1_800_000_100_000),
      pollBounceMailbox(deps, settings(), 'worker-b', 1_800_000_100_000),
    ]);
    expect([a.locked, b.locked].sort()).toEqual([false, true]);
    expect(a.reports + b.reports).toBe(1);
    expect(await db().selectFrom('bounce_events').select('kind').where('issue_id', '=', issueId).execute()).toEqual([
      { kind: 'hard' },
    ]);
    expect((await ledgerOf(db(), issueId)).map((r) => r.status)).toEqual(['bounced']);
  });

  it('over imaps:// a server whose certificate is not trusted is an error shown in the status; trusted through BOUNCE_IMAP_TLS_CA_FILE’s certificates it is read', async () => {
    const certificate = makeSelfSignedCertificate('imap.test');
    const secure = await startImapServer({ tls: { keyFile: certificate.keyFile, certFile: certificate.certFile } });
    try {
      expect(secure.url).toMatch(/^imaps:/);
      await secure.append('From: a@example.com\r\nSubject: hello\r\nMessage-ID: <tls@example.com>\r\n\r\nhi\r\n');
      const refused = await pollBounceMailbox(
        { db: db(), secret: SECRET },
        { url: secure.url, processedFolder: PROCESSED, otherFolder: OTHER },
        'worker-a',
        1_000,
      );
      expect(refused.error).toMatch(/certificate/i);
      expect(await secure.messageIds('INBOX')).toEqual(['<tls@example.com>']);
      const read = await pollBounceMailbox(
        { db: db(), secret: SECRET },
        { url: secure.url, processedFolder: PROCESSED, otherFolder: OTHER, tlsCa: certificate.cert },
        'worker-a',
        2_000,
      );
      expect(read).toMatchObject({ others: 1 });
      expect(read.error).toBeUndefined();
      expect(await secure.messageIds('INBOX')).toEqual([]);
    } finally {
      await secure.close();
    }
  });

  it('one reader at a time: while another process holds the lease nothing is read; a lease left by a dead reader runs out', async () => {
    await imap.append('From: a@example.com\r\nSubject: hello\r\nMessage-ID: <one@example.com>\r\n\r\nhi\r\n');
    await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-a', 1_000);
    await imap.append('From: a@example.com\r\nSubject: hello\r\nMessage-ID: <two@example.com>\r\n\r\nhi\r\n');
    const name = mailboxName(imap.url);
    expect(name).not.toContain(imap.password);
    expect(await takeMailboxLease(db(), name, 'worker-dead', 5_000, 5_000 + 600_000)).toBe(true);
    const blocked = await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-b', 6_000);
    expect(blocked).toMatchObject({ locked: true, reports: 0, others: 0 });
    expect(await imap.messageIds('INBOX')).toEqual(['<two@example.com>']);
    const later = await pollBounceMailbox({ db: db(), secret: SECRET }, settings(), 'worker-b', 5_000 + 600_001);
    expect(later).toMatchObject({ locked: false, others: 1 });
    expect(await imap.messageIds('INBOX')).toEqual([]);
  });
});
