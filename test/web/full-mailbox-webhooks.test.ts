import { createHmac, createSign, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../helpers/databases.ts';
import { makeSelfSignedCertificate } from '../helpers/tls.ts';
import { seedSubscribers } from '../helpers/sending.ts';
import { handleRelayWebhook, type Relay, type RelayWebhookDeps } from '../../src/web/bounce-webhooks.ts';
import { RateLimits } from '../../src/lib/security/rate-limit.ts';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';
import type { DB } from '../../src/lib/db/database.ts';
import * as fixtures from '../fixtures/bounces/payloads.ts';

/**
 * A full mailbox (enhanced status X.2.2) is a soft bounce whichever relay reports it, even when the
 * relay calls it permanent; the same payload with 5.1.1 stays hard. Each payload is the relay's
 * documented shape (test/fixtures/bounces/payloads.ts cites the pages), posted through the
 * webhook with its authentication, recorded in the database.
 */

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-bounces';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem';
const POSTMARK = { user: 'postmark', password: 'postmark-password-0123456789' };
const MAILGUN_KEY = 'mailgun-signing-key-0123456789abcdef';
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let certificate: string;
let snsKey: string;

beforeAll(() => {
  ({ cert: certificate, key: snsKey } = makeSelfSignedCertificate('sns'));
});

/** Each relay's request as it sends it, authenticated as it documents. */
function requestFor(relay: Relay, payload: unknown, now: number): Request {
  const url = `http://localhost/api/webhooks/${relay}`;
  const json = { 'content-type': 'application/json' };
  if (relay === 'mailgun') {
    const timestamp = String(Math.floor(now / 1000));
    const token = randomBytes(25).toString('hex');
    const signature = createHmac('sha256', MAILGUN_KEY)
      .update(timestamp + token)
      .digest('hex');
    const body = JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': payload });
    return new Request(url, { method: 'POST', headers: json, body });
  }
  if (relay === 'sendgrid') {
    const body = JSON.stringify(payload);
    const timestamp = String(Math.floor(now / 1000));
    const signature = sign('sha256', Buffer.from(timestamp + body), sendgridKeys.privateKey).toString('base64');
    return new Request(url, {
      method: 'POST',
      headers: {
        ...json,
        'x-twilio-email-event-webhook-timestamp': timestamp,
        'x-twilio-email-event-webhook-signature': signature,
      },
      body,
    });
  }
  if (relay === 'ses') {
    const message = fixtures.snsNotification({
      messageId: randomBytes(8).toString('hex'),
      topicArn: TOPIC,
      message: payload,
      at: new Date(now),
      certUrl: CERT_URL,
    });
    const signer = createSign('RSA-SHA256');
    signer.update(
      ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
        .filter((k) => message[k] !== undefined)
        .map((k) => `${k}\n${message[k]}\n`)
        .join(''),
    );
    const body = JSON.stringify({ ...message, Signature: signer.sign(snsKey, 'base64') });
    return new Request(url, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body });
  }
  const auth = `Basic ${Buffer.from(`${POSTMARK.user}:${POSTMARK.password}`).toString('base64')}`;
  return new Request(url, { method: 'POST', headers: { ...json, authorization: auth }, body: JSON.stringify(payload) });
}

const recorded = async (db: DB, email: string) => ({
  bounces: (
    await db
      .selectFrom('bounce_events')
      .innerJoin('subscribers', 'subscribers.id', 'bounce_events.subscriber_id')
      .select(['bounce_events.kind', 'bounce_events.reason', 'bounce_events.source'])
      .where('subscribers.email', '=', email)
      .execute()
  ).map((r) => ({ kind: r.kind, source: r.source, reason: r.reason })),
  status: (await db.selectFrom('subscribers').select('status').where('email', '=', email).executeTakeFirstOrThrow())
    .status,
  suppressed:
    (await db.selectFrom('suppressions').select('reason').where('email_hash', '=', emailHash(email)).executeTakeFirst())
      ?.reason ?? null,
});

describeEachDatabase('a full mailbox is soft whichever relay reports it', (getDb) => {
  const deps = (): RelayWebhookDeps => ({
    db: getDb(),
    providers: {
      ses: { topicArns: [TOPIC], certificateDir: undefined },
      postmark: POSTMARK,
      mailgun: { signingKey: MAILGUN_KEY },
      sendgrid: { publicKey: sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
    },
    rateLimits: new RateLimits({ db: getDb(), secret: 'test-secret-test-secret-test-secret' }),
    fetchCertificate: async () => certificate,
    fetchSubscribeUrl: async () => ({ status: 200 }),
  });
  const MID = '<footfall.7.42@frobozz.example>';

  /** Posts one payload per address and returns what each recorded. */
  async function post(relay: Relay, cases: { email: string; payload: (at: Date) => unknown }[]) {
    const db = getDb();
    await seedSubscribers(db, cases.length, { email: (i) => cases[i]!.email });
    const now = Date.now();
    for (const c of cases) {
      const answer = await handleRelayWebhook(
        relay,
        deps(),
        requestFor(relay, c.payload(new Date(now - 60_000)), now),
        '192.0.2.9',
        now,
      );
      expect(answer, `${relay} ${c.email}`).toMatchObject({ status: 200, body: { recorded: 1 } });
    }
    return Promise.all(cases.map((c) => recorded(db, c.email)));
  }

  it('Mailgun: failed with severity permanent and 5.2.2 (enhanced-code, or only in the message) → soft, not suppressed; 5.1.1 → hard, suppressed', async () => {
    const failed =
      (id: string, email: string, deliveryStatus: Parameters<typeof fixtures.mailgunFailed>[0]['deliveryStatus']) =>
      (at: Date) =>
        fixtures.mailgunFailed({ id, severity: 'permanent', email, messageId: MID, at, deliveryStatus });
    const [full, fullInText, unknown] = await post('mailgun', [
      {
        email: 'mg-full@example.com',
        payload: failed('mg1', 'mg-full@example.com', {
          code: 552,
          'enhanced-code': '5.2.2',
          message: '5.2.2 The email account that you tried to reach is over quota.',
          description: '',
        }),
      },
      {
        email: 'mg-full-text@example.com',
        payload: failed('mg2', 'mg-full-text@example.com', {
          code: 552,
          message:
            '552-5.2.2 The email account that you tried to reach is over quota.\n552 5.2.2 Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp',
          description: '',
        }),
      },
      {
        email: 'mg-unknown@example.com',
        payload: failed('mg3', 'mg-unknown@example.com', {
          code: 550,
          'enhanced-code': '5.1.1',
          message: '5.1.1 The email account that you tried to reach does not exist.',
          description: '',
        }),
      },
    ]);
    expect(full).toEqual({
      bounces: [
        {
          kind: 'soft',
          source: 'mailgun',
          reason: 'mailbox full (5.2.2): 552 5.2.2 The email account that you tried to reach is over quota.',
        },
      ],
      status: 'active',
      suppressed: null,
    });
    expect(fullInText).toMatchObject({ bounces: [{ kind: 'soft' }], status: 'active', suppressed: null });
    // One line, the code once, as the report lists it.
    expect(fullInText!.bounces[0]!.reason).toBe(
      'mailbox full (5.2.2): 552-5.2.2 The email account that you tried to reach is over quota. 552 5.2.2 Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp',
    );
    expect(unknown).toEqual({
      bounces: [
        {
          kind: 'hard',
          source: 'mailgun',
          reason: '550 5.1.1 The email account that you tried to reach does not exist.',
        },
      ],
      status: 'bounced',
      suppressed: 'bounced',
    });
  });

  it('SendGrid: bounce (type bounce) with status 5.2.2, or generic 5.0.0 and 5.2.2 in the reason → soft, not suppressed; 5.1.1 → hard, suppressed', async () => {
    const bounce = (id: string, email: string, status: string, reason: string) => (at: Date) => [
      fixtures.sendgridEvent({ event: 'bounce', type: 'bounce', id, email, messageId: MID, at, status, reason }),
    ];
    const [full, generic, unknown] = await post('sendgrid', [
      {
        email: 'sg-full@example.com',
        payload: bounce('sg1', 'sg-full@example.com', '5.2.2', '552 5.2.2 Mailbox full'),
      },
      {
        email: 'sg-generic@example.com',
        payload: bounce('sg2', 'sg-generic@example.com', '5.0.0', '552 5.2.2 <sg-generic@example.com>: quota exceeded'),
      },
      {
        email: 'sg-unknown@example.com',
        payload: bounce('sg3', 'sg-unknown@example.com', '5.1.1', '550 5.1.1 The email account does not exist.'),
      },
    ]);
    expect(full).toEqual({
      bounces: [{ kind: 'soft', source: 'sendgrid', reason: 'mailbox full (5.2.2): 552 5.2.2 Mailbox full' }],
      status: 'active',
      suppressed: null,
    });
    expect(generic).toEqual({
      bounces: [
        { kind: 'soft', source: 'sendgrid', reason: 'mailbox full (5.2.2): 5.0.0 552 5.2.2 <address>: quota exceeded' },
      ],
      status: 'active',
      suppressed: null,
    });
    expect(unknown).toMatchObject({ bounces: [{ kind: 'hard' }], status: 'bounced', suppressed: 'bounced' });
  });

  it('SES: a Permanent bounce whose recipient status is 5.2.2 → soft, not suppressed; 5.1.1 → hard, suppressed', async () => {
    const [full, unknown] = await post('ses', [
      {
        email: 'ses-full@example.com',
        payload: (at) =>
          fixtures.sesBounce({
            email: 'ses-full@example.com',
            messageId: MID,
            bounceType: 'Permanent',
            feedbackId: 'fb1',
            at,
            status: '5.2.2',
            diagnosticCode: 'smtp; 552 5.2.2 Mailbox full',
          }),
      },
      {
        email: 'ses-unknown@example.com',
        payload: (at) =>
          fixtures.sesBounce({
            email: 'ses-unknown@example.com',
            messageId: MID,
            bounceType: 'Permanent',
            feedbackId: 'fb2',
            at,
          }),
      },
    ]);
    expect(full).toEqual({
      bounces: [{ kind: 'soft', source: 'ses', reason: 'mailbox full (5.2.2): smtp; 552 5.2.2 Mailbox full' }],
      status: 'active',
      suppressed: null,
    });
    expect(unknown).toMatchObject({ bounces: [{ kind: 'hard' }], status: 'bounced', suppressed: 'bounced' });
  });

  it('Postmark: a HardBounce whose Details say 5.2.2 → soft, not suppressed; 5.1.1 → hard, suppressed', async () => {
    const hard = (id: number, email: string, details?: string) => (at: Date) =>
      fixtures.postmarkBounce({
        id,
        type: 'HardBounce',
        typeCode: 1,
        email,
        messageId: MID,
        at,
        ...(details ? { details } : {}),
      });
    const [full, unknown] = await post('postmark', [
      { email: 'pm-full@example.com', payload: hard(1, 'pm-full@example.com', 'smtp;552 5.2.2 Mailbox full') },
      { email: 'pm-unknown@example.com', payload: hard(2, 'pm-unknown@example.com') },
    ]);
    expect(full).toEqual({
      bounces: [{ kind: 'soft', source: 'postmark', reason: 'mailbox full (5.2.2): smtp;552 5.2.2 Mailbox full' }],
      status: 'active',
      suppressed: null,
    });
    expect(unknown).toMatchObject({ bounces: [{ kind: 'hard' }], status: 'bounced', suppressed: 'bounced' });
  });
});
