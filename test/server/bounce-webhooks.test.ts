import { createHmac, createSign, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { addAccount, apiKeyFor, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { rawBounceCounts } from '../helpers/rows.ts';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';
import { getIssueBounces } from '../../src/lib/bounces/bounces.service.ts';
import * as fixtures from '../fixtures/bounces/payloads.ts';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-bounces';
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-footfalltest.pem';
const POSTMARK = { user: 'postmark', password: 'postmark-password-0123456789' };
const MAILGUN_KEY = 'mailgun-signing-key-0123456789abcdef';
const MB = 1024 * 1024;

/** A self-signed certificate standing in for SNS's (the server trusts it from SES_SNS_CERTIFICATE_DIR). */
function makeSnsCertificate(dir: string): string {
  const keyFile = path.join(dir, 'sns-key.pem');
  const certDir = path.join(dir, 'sns-certs');
  mkdirSync(certDir);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      path.join(certDir, 'SimpleNotificationService-footfalltest.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=sns.amazonaws.com',
    ],
    { stdio: 'ignore' },
  );
  return keyFile;
}

/** The string to sign, written out from AWS's page (not the server's code): "Name\nvalue\n" in this order. */
function signSns(message: Record<string, string>, privateKey: string): Record<string, string> {
  const keys =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = keys
    .filter((k) => message[k] !== undefined)
    .map((k) => `${k}\n${message[k]}\n`)
    .join('');
  const signer = createSign('RSA-SHA256');
  signer.update(text);
  return { ...message, Signature: signer.sign(privateKey, 'base64') };
}

for (const dialect of testDialects()) {
  describe(`relay bounce webhooks over HTTP [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let snsKey: string;
    const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    let marketerKey: string;
    let adminCookie: string;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-relay-'));
      snsKey = readFileSync(makeSnsCertificate(dir), 'utf8');
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: {
          SMTP_URL: sink.url,
          MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
          SEND_POLL_MS: '50',
          SES_SNS_TOPIC_ARNS: TOPIC,
          SES_SNS_CERTIFICATE_DIR: path.join(dir, 'sns-certs'),
          POSTMARK_WEBHOOK_USER: POSTMARK.user,
          POSTMARK_WEBHOOK_PASSWORD: POSTMARK.password,
          MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
          SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridKeys.publicKey
            .export({ type: 'spki', format: 'der' })
            .toString('base64'),
        },
      });
      marketerKey = await apiKeyFor(server.databaseUrl, 'marketer');
      adminCookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'admin@frobozz.example', 'admin'),
      );
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    const post = (relay: string, body: string, headers: Record<string, string> = {}) =>
      request(server, `/api/webhooks/${relay}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const stored = () =>
      withDatabase(server.databaseUrl, async (db) => {
        const count = async (table: 'bounce_events' | 'suppressions' | 'subscriber_events' | 'report_counts') =>
          Number(
            (
              await db
                .selectFrom(table)
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          );
        return {
          bounces: await count('bounce_events'),
          suppressions: await count('suppressions'),
          events: await count('subscriber_events'),
          counts: await count('report_counts'),
        };
      });
    const sendIssue = async (subject: string) => {
      const id = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, subject));
      const sent = await request(server, `/api/issues/${id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${marketerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience: { topics: ['guides'] } }),
      });
      expect(sent.status, sent.text).toBe(202);
      await eventually(async () => {
        const progress = JSON.parse(
          (await request(server, `/api/issues/${id}/progress`, { headers: { authorization: `Bearer ${marketerKey}` } }))
            .text,
        );
        return progress.send?.state === 'finished';
      }, 'the send to finish');
      return id;
    };
    const deliveryOf = (issueId: number, email: string) =>
      withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('deliveries')
          .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
          .select(['deliveries.id', 'deliveries.message_id', 'deliveries.status', 'deliveries.complained_at'])
          .where('subscribers.email', '=', email)
          .where('deliveries.issue_id', '=', issueId)
          .executeTakeFirstOrThrow(),
      );
    const subscriber = (email: string) =>
      withDatabase(server.databaseUrl, async (db) => ({
        status: (await db.selectFrom('subscribers').select('status').where('email', '=', email).executeTakeFirst())
          ?.status,
        suppressed: (
          await db
            .selectFrom('suppressions')
            .select('reason')
            .where('email_hash', '=', emailHash(email))
            .executeTakeFirst()
        )?.reason,
      }));

    const people = {
      sesHard: 'ses-hard@example.com',
      sesSoft: 'ses-soft@example.com',
      sesSpam: 'ses-spam@example.com',
      pmHard: 'pm-hard@example.com',
      pmSoft: 'pm-soft@example.com',
      pmSpam: 'pm-spam@example.com',
      mgHard: 'mg-hard@example.com',
      mgSoft: 'mg-soft@example.com',
      mgSpam: 'mg-spam@example.com',
      sgHard: 'sg-hard@example.com',
      sgBlocked: 'sg-blocked@example.com',
      sgSpam: 'sg-spam@example.com',
      fine: 'fine@example.com',
    };
    let issueId: number;
    const mid = async (email: string) => (await deliveryOf(issueId, email)).message_id!;

    it('an issue goes out through the SMTP sink to every relay test address', async () => {
      const emails = Object.values(people);
      await withDatabase(server.databaseUrl, (db) =>
        seedSubscribers(db, emails.length, { email: (i) => emails[i]!, topics: () => ['guides'] }),
      );
      issueId = await sendIssue('Springs are in');
      expect(sink.envelopes.filter((e) => emails.includes(e.rcptTo[0]!))).toHaveLength(emails.length);
      // Postmark replaces the Message-ID: with its webhook configured, each message carries ours as metadata.
      // SendGrid and Mailgun get it as a unique argument and a user variable (every event of theirs carries those).
      for (const message of sink.messages) {
        const ours = `<${message.messageId!.replace(/^<|>$/g, '')}>`;
        expect(JSON.parse(message.headers.get('x-smtpapi') as string)).toEqual({
          unique_args: { footfall_message_id: ours },
        });
        expect(JSON.parse(message.headers.get('x-mailgun-variables') as string)).toEqual({
          'footfall-message-id': ours,
        });
      }
      for (const message of sink.messages)
        expect(message.headers.get('x-pm-metadata-footfall-message-id')).toBe(
          message.messageId && `<${message.messageId.replace(/^<|>$/g, '')}>`,
        );
      expect(sink.messages.length).toBeGreaterThan(0);
    });

    it('Amazon SES through SNS: signed notifications record a hard bounce (suppressed), a soft one (not) and a complaint; replays, forgeries, foreign topics and certificates, stale messages, wrong types and 5 MB bodies store nothing', async () => {
      const now = new Date();
      const notify = async (message: unknown, snsId: string, patch: Record<string, string> = {}, key = snsKey) =>
        signSns(
          {
            ...fixtures.snsNotification({ messageId: snsId, topicArn: TOPIC, message, at: now, certUrl: CERT_URL }),
            ...patch,
          },
          key,
        );
      const sns = (body: Record<string, string>, type = 'text/plain; charset=UTF-8') =>
        post('ses', JSON.stringify(body), { 'content-type': type, 'x-amz-sns-message-type': body.Type! });

      const hard = await notify(
        fixtures.sesBounce({
          email: people.sesHard,
          messageId: await mid(people.sesHard),
          bounceType: 'Permanent',
          feedbackId: 'fb-1',
          at: now,
        }),
        'sns-1',
      );
      const before = await stored();
      // Forged, foreign, stale, mistyped or too large: 4xx and nothing stored.
      const forged = { ...hard, Message: hard.Message!.replace('Permanent', 'Transient') };
      expect((await sns(forged)).status).toBe(401);
      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      expect((await sns(await notify(JSON.parse(hard.Message!), 'sns-1', {}, otherKey))).status).toBe(401);
      const foreignCert = await notify(JSON.parse(hard.Message!), 'sns-1', {
        SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem',
      });
      const foreign = await sns(foreignCert);
      expect(foreign.status).toBe(401);
      expect(JSON.parse(foreign.text).message).toMatch(/SNS host/);
      const stale = await notify(JSON.parse(hard.Message!), 'sns-1', {
        Timestamp: new Date(Date.now() - 2 * 3_600_000).toISOString(),
      });
      expect((await sns(stale)).status).toBe(401);
      const otherTopic = await notify(JSON.parse(hard.Message!), 'sns-1', {
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:someone-else',
      });
      expect((await sns(otherTopic)).status).toBe(403);
      expect((await sns(hard, 'application/x-www-form-urlencoded')).status).toBe(415);
      expect((await post('ses', ' '.repeat(5 * MB), { 'content-type': 'text/plain' })).status).toBe(413);
      expect((await sns({ ...hard, Message: 'not json' })).status).toBe(401); // the signature covers Message
      const subscribe = signSns(
        fixtures.snsSubscriptionConfirmation({
          messageId: 'sns-sub',
          topicArn: TOPIC,
          at: now,
          certUrl: CERT_URL,
          subscribeUrl: `http://127.0.0.1:${server.port}/?Action=ConfirmSubscription`,
        }),
        snsKey,
      );
      const notSns = await sns(subscribe);
      expect(notSns.status).toBe(400);
      expect(JSON.parse(notSns.text).message).toMatch(/not on an Amazon SNS host/);
      expect(await stored()).toEqual(before);

      // The real thing, in SNS's own content type; then its replay.
      const ok = await sns(hard);
      expect(ok.status, ok.text).toBe(200);
      expect(JSON.parse(ok.text)).toEqual({ recorded: 1, duplicates: 0, unmatched: 0, ignored: 0 });
      expect(await subscriber(people.sesHard)).toEqual({ status: 'bounced', suppressed: 'bounced' });
      expect((await deliveryOf(issueId, people.sesHard)).status).toBe('bounced');
      const afterOne = await stored();
      const replay = await sns(hard);
      expect(JSON.parse(replay.text)).toMatchObject({ recorded: 0, duplicates: 1 });
      expect(await stored()).toEqual(afterOne);

      const soft = await notify(
        fixtures.sesBounce({
          email: people.sesSoft,
          messageId: await mid(people.sesSoft),
          bounceType: 'Transient',
          feedbackId: 'fb-2',
          at: now,
        }),
        'sns-2',
      );
      expect(JSON.parse((await sns(soft, 'application/json')).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.sesSoft)).toEqual({ status: 'active', suppressed: undefined });
      expect((await deliveryOf(issueId, people.sesSoft)).status).toBe('sent');
      const complaint = await notify(
        fixtures.sesComplaint({
          email: people.sesSpam,
          messageId: await mid(people.sesSpam),
          feedbackId: 'fb-3',
          at: now,
        }),
        'sns-3',
      );
      expect(JSON.parse((await sns(complaint)).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.sesSpam)).toEqual({ status: 'complained', suppressed: 'complained' });
      expect((await deliveryOf(issueId, people.sesSpam)).complained_at).not.toBeNull();
    });

    it('Postmark: basic auth; HardBounce suppresses, SoftBounce is recorded only, SpamComplaint suppresses, a delivery is ignored; a replay changes nothing', async () => {
      const now = new Date();
      const auth = {
        authorization: `Basic ${Buffer.from(`${POSTMARK.user}:${POSTMARK.password}`).toString('base64')}`,
      };
      const hard = JSON.stringify(
        fixtures.postmarkBounce({
          id: 4201,
          type: 'HardBounce',
          typeCode: 1,
          email: people.pmHard,
          messageId: await mid(people.pmHard),
          at: now,
        }),
      );
      const before = await stored();
      expect((await post('postmark', hard)).status).toBe(401);
      const wrong = await post('postmark', hard, {
        authorization: `Basic ${Buffer.from(`${POSTMARK.user}:nope-nope-nope-nope`).toString('base64')}`,
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect((await post('postmark', hard, { ...auth, 'content-type': 'text/plain' })).status).toBe(415);
      expect((await post('postmark', '{"RecordType": "Bounce", ', auth)).status).toBe(400);
      expect((await post('postmark', JSON.stringify({ RecordType: 'Bounce', Type: 'HardBounce' }), auth)).status).toBe(
        400,
      );
      expect((await post('postmark', ' '.repeat(5 * MB), auth)).status).toBe(413);
      expect(await stored()).toEqual(before);

      expect(JSON.parse((await post('postmark', hard, auth)).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.pmHard)).toEqual({ status: 'bounced', suppressed: 'bounced' });
      expect((await deliveryOf(issueId, people.pmHard)).status).toBe('bounced');
      const once = await stored();
      expect(JSON.parse((await post('postmark', hard, auth)).text)).toMatchObject({ recorded: 0, duplicates: 1 });
      expect(await stored()).toEqual(once);
      const soft = fixtures.postmarkBounce({
        id: 4202,
        type: 'SoftBounce',
        typeCode: 4096,
        email: people.pmSoft,
        messageId: await mid(people.pmSoft),
        at: now,
      });
      expect(JSON.parse((await post('postmark', JSON.stringify(soft), auth)).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.pmSoft)).toEqual({ status: 'active', suppressed: undefined });
      const spam = fixtures.postmarkSpamComplaint({
        id: 4203,
        email: people.pmSpam,
        messageId: await mid(people.pmSpam),
        at: now,
      });
      expect(JSON.parse((await post('postmark', JSON.stringify(spam), auth)).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.pmSpam)).toEqual({ status: 'complained', suppressed: 'complained' });
      const delivered = await post(
        'postmark',
        JSON.stringify(fixtures.postmarkDelivery({ email: people.fine, at: now })),
        auth,
      );
      expect(JSON.parse(delivered.text)).toEqual({ recorded: 0, duplicates: 0, unmatched: 0, ignored: 1 });
    });

    it('Mailgun: HMAC of timestamp and token; failed permanent → hard, temporary → soft, complained → complaint; bad signatures, stale timestamps (over 15 minutes) and replayed tokens store nothing', async () => {
      const now = new Date();
      const signed = (
        eventData: unknown,
        at = Date.now(),
        token = randomBytes(25).toString('hex'),
        key = MAILGUN_KEY,
      ) => {
        const timestamp = String(Math.floor(at / 1000));
        return JSON.stringify({
          signature: {
            timestamp,
            token,
            signature: createHmac('sha256', key)
              .update(timestamp + token)
              .digest('hex'),
          },
          'event-data': eventData,
        });
      };
      const hardEvent = fixtures.mailgunFailed({
        id: 'mg-1',
        severity: 'permanent',
        email: people.mgHard,
        messageId: await mid(people.mgHard),
        at: now,
      });
      const before = await stored();
      expect(
        (await post('mailgun', signed(hardEvent, Date.now(), undefined, 'another-key-0123456789abcdef'))).status,
      ).toBe(401);
      const tampered = JSON.parse(signed(hardEvent));
      tampered.signature.timestamp = String(Number(tampered.signature.timestamp) + 1);
      expect((await post('mailgun', JSON.stringify(tampered))).status).toBe(401);
      expect((await post('mailgun', signed(hardEvent, Date.now() - 16 * 60_000))).status).toBe(401);
      expect((await post('mailgun', JSON.stringify({ 'event-data': hardEvent }))).status).toBe(401);
      expect(
        (await post('mailgun', signed(hardEvent), { 'content-type': 'multipart/form-data; boundary=x' })).status,
      ).toBe(415);
      expect((await post('mailgun', signed({ ...hardEvent, severity: 'sometimes' }))).status).toBe(400);
      expect((await post('mailgun', ' '.repeat(5 * MB))).status).toBe(413);
      expect(await stored()).toEqual(before);

      const body = signed(hardEvent);
      expect(JSON.parse((await post('mailgun', body)).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.mgHard)).toEqual({ status: 'bounced', suppressed: 'bounced' });
      const once = await stored();
      const replayed = await post('mailgun', body);
      expect(replayed.status).toBe(406);
      expect(
        JSON.parse(signed(hardEvent)) && JSON.parse((await post('mailgun', signed(hardEvent))).text),
      ).toMatchObject({
        recorded: 0,
        duplicates: 1,
      });
      expect(await stored()).toEqual(once);
      const soft = fixtures.mailgunFailed({
        id: 'mg-2',
        severity: 'temporary',
        email: people.mgSoft,
        messageId: await mid(people.mgSoft),
        at: now,
      });
      expect(JSON.parse((await post('mailgun', signed(soft))).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.mgSoft)).toEqual({ status: 'active', suppressed: undefined });
      const spam = fixtures.mailgunComplained({
        id: 'mg-3',
        email: people.mgSpam,
        messageId: await mid(people.mgSpam),
        at: now,
      });
      expect(JSON.parse((await post('mailgun', signed(spam))).text)).toMatchObject({ recorded: 1 });
      expect(await subscriber(people.mgSpam)).toEqual({ status: 'complained', suppressed: 'complained' });
    });

    it('SendGrid: the signed event webhook (ECDSA); a batch with a bounce, a block, a spam report and a delivery; bad signatures, stale timestamps and replays store nothing new', async () => {
      const now = new Date();
      const signedHeaders = (body: string, at = Date.now(), key = sendgridKeys.privateKey) => {
        const timestamp = String(Math.floor(at / 1000));
        return {
          'x-twilio-email-event-webhook-timestamp': timestamp,
          'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(timestamp + body), key).toString(
            'base64',
          ),
        };
      };
      const batch = JSON.stringify([
        fixtures.sendgridEvent({
          event: 'bounce',
          type: 'bounce',
          id: 'sg-1',
          email: people.sgHard,
          messageId: await mid(people.sgHard),
          at: now,
        }),
        fixtures.sendgridEvent({
          event: 'bounce',
          type: 'blocked',
          id: 'sg-2',
          email: people.sgBlocked,
          messageId: await mid(people.sgBlocked),
          at: now,
        }),
        fixtures.sendgridEvent({
          event: 'spamreport',
          id: 'sg-3',
          email: people.sgSpam,
          messageId: await mid(people.sgSpam),
          at: now,
        }),
        fixtures.sendgridEvent({
          event: 'delivered',
          id: 'sg-4',
          email: people.fine,
          messageId: await mid(people.fine),
          at: now,
        }),
      ]);
      const before = await stored();
      expect((await post('sendgrid', batch)).status).toBe(401);
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      expect((await post('sendgrid', batch, signedHeaders(batch, Date.now(), other))).status).toBe(401);
      expect((await post('sendgrid', batch.replace('sg-1', 'sg-9'), signedHeaders(batch))).status).toBe(401);
      expect((await post('sendgrid', batch, signedHeaders(batch, Date.now() - 16 * 60_000))).status).toBe(401);
      expect((await post('sendgrid', batch, { ...signedHeaders(batch), 'content-type': 'text/plain' })).status).toBe(
        415,
      );
      expect((await post('sendgrid', '{"event": "bounce"}', signedHeaders('{"event": "bounce"}'))).status).toBe(400);
      expect((await post('sendgrid', ' '.repeat(5 * MB))).status).toBe(413);
      expect(await stored()).toEqual(before);

      const ok = await post('sendgrid', batch, signedHeaders(batch));
      expect(ok.status, ok.text).toBe(200);
      expect(JSON.parse(ok.text)).toEqual({ recorded: 3, duplicates: 0, unmatched: 0, ignored: 1 });
      expect(await subscriber(people.sgHard)).toEqual({ status: 'bounced', suppressed: 'bounced' });
      expect(await subscriber(people.sgBlocked)).toEqual({ status: 'active', suppressed: undefined });
      expect(await subscriber(people.sgSpam)).toEqual({ status: 'complained', suppressed: 'complained' });
      // The spam report names our message only by the unique argument: its delivery records the complaint.
      expect((await deliveryOf(issueId, people.sgSpam)).complained_at).not.toBeNull();
      expect((await deliveryOf(issueId, people.sgHard)).status).toBe('bounced');
      const once = await stored();
      expect(JSON.parse((await post('sendgrid', batch, signedHeaders(batch))).text)).toMatchObject({
        recorded: 0,
        duplicates: 3,
      });
      expect(await stored()).toEqual(once);
    });

    it('the figures equal a direct count of rows; the issue report shows them; the next send skips every hard-bounced and complaining address', async () => {
      const figures = await withDatabase(server.databaseUrl, (db) => getIssueBounces(db, issueId));
      expect(figures.totals).toEqual({ hard: 4, soft: 4, complaint: 4 });
      const direct = await withDatabase(server.databaseUrl, (db) => rawBounceCounts(db, issueId));
      expect(figures.totals).toEqual(direct.totals);
      const key = (r: { kind: string; reason: string; count: number }) => `${r.kind}|${r.reason}|${r.count}`;
      expect(direct.reasons.length).toBeGreaterThan(3);
      expect(figures.reasons.map(key).sort()).toEqual(direct.reasons.map(key).sort());
      const rows = await withDatabase(server.databaseUrl, async (db) =>
        Number(
          (
            await db
              .selectFrom('bounce_events')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('issue_id', '=', issueId)
              .executeTakeFirstOrThrow()
          ).n,
        ),
      );
      expect(rows).toBe(12);

      const report = await request(server, `/admin/issues/${issueId}/report`, { cookie: adminCookie });
      expect(report.status).toBe(200);
      expect(report.text).toContain('data-bounces-hard="4"');
      expect(report.text).toContain('data-bounces-soft="4"');
      expect(report.text).toContain('data-bounces-complaint="4"');
      const api = await request(server, `/api/issues/${issueId}/report`, {
        headers: { authorization: `Bearer ${marketerKey}` },
      });
      expect(JSON.parse(api.text).bounces_reported).toEqual({ ...figures.totals, reasons: figures.reasons });

      // The subscriber's timeline shows each report with its kind, reason and source.
      const softId = await withDatabase(server.databaseUrl, async (db) =>
        Number(
          (await db.selectFrom('subscribers').select('id').where('email', '=', people.mgSoft).executeTakeFirstOrThrow())
            .id,
        ),
      );
      const page = await request(server, `/admin/subscribers/${softId}`, { cookie: adminCookie });
      expect(page.status).toBe(200);
      expect(page.text).toContain('Soft bounce reported for');
      expect(page.text).toContain('452 Mailbox full, try again later');
      expect(page.text).toContain('Mailgun');

      sink.envelopes.length = 0;
      await sendIssue('More springs');
      const reached = sink.envelopes.map((e) => e.rcptTo[0]!);
      const suppressedPeople = [
        people.sesHard,
        people.sesSpam,
        people.pmHard,
        people.pmSpam,
        people.mgHard,
        people.mgSpam,
        people.sgHard,
        people.sgSpam,
      ];
      for (const email of suppressedPeople) expect(reached, email).not.toContain(email);
      for (const email of [people.sesSoft, people.pmSoft, people.mgSoft, people.sgBlocked, people.fine])
        expect(reached, email).toContain(email);
      expect(reached).toHaveLength(5);
    });
  });
}
