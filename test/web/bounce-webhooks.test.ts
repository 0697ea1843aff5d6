import { createSign, generateKeyPairSync } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../helpers/databases.ts';
import { makeSelfSignedCertificate } from '../helpers/tls.ts';
import { handleRelayWebhook, type RelayWebhookDeps } from '../../src/web/bounce-webhooks.ts';
import { RateLimits } from '../../src/lib/security/rate-limit.ts';
import * as fixtures from '../fixtures/bounces/payloads.ts';

/**
 * The SES webhook's subscription handling and certificate rules, with the certificate fetcher and
 * the SubscribeURL fetcher injected (the server's own fetch the real ones over HTTPS).
 */

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-bounces';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem';
let certificate: string;
let key: string;

beforeAll(() => {
  ({ cert: certificate, key: key } = makeSelfSignedCertificate('sns'));
});

function signed(message: Record<string, string>, version: '1' | '2' = '2', privateKey = key): Record<string, string> {
  const keys =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(
    keys
      .filter((k) => message[k] !== undefined)
      .map((k) => `${k}\n${message[k]}\n`)
      .join(''),
  );
  return { ...message, SignatureVersion: version, Signature: signer.sign(privateKey, 'base64') };
}

const post = (body: unknown) =>
  new Request('http://localhost/api/webhooks/ses', {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8' },
    body: JSON.stringify(body),
  });

describeEachDatabase('SES webhook: subscriptions and certificates', (getDb) => {
  const fetched: string[] = [];
  const confirmed: string[] = [];
  let confirmStatus = 200;
  const deps = (over: Partial<RelayWebhookDeps> = {}): RelayWebhookDeps => ({
    db: getDb(),
    providers: {
      ses: { topicArns: [TOPIC], certificateDir: undefined },
      postmark: undefined,
      mailgun: undefined,
      sendgrid: undefined,
    },
    rateLimits: new RateLimits({ db: getDb(), secret: 'test-secret-test-secret-test-secret' }),
    fetchCertificate: async (url) => {
      fetched.push(url);
      return certificate;
    },
    fetchSubscribeUrl: async (url) => {
      confirmed.push(url);
      return { status: confirmStatus };
    },
    ...over,
  });
  const subscription = (subscribeUrl: string, at = new Date()) =>
    fixtures.snsSubscriptionConfirmation({ messageId: 'sub-1', topicArn: TOPIC, at, certUrl: CERT_URL, subscribeUrl });
  const SNS_CONFIRM = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=abc`;

  it('confirms a signed subscription by fetching its SubscribeURL on an SNS host, and only there', async () => {
    const ok = await handleRelayWebhook('ses', deps(), post(signed(subscription(SNS_CONFIRM))), '192.0.2.1');
    expect(ok).toMatchObject({ status: 200, body: { confirmed: true, topic: TOPIC } });
    expect(confirmed).toEqual([SNS_CONFIRM]);
    expect(fetched).toEqual([CERT_URL]);

    for (const elsewhere of [
      'https://sns.eu-west-1.amazonaws.com.attacker.example/?Action=ConfirmSubscription',
      'http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription',
      'https://169.254.169.254/latest/meta-data/',
    ]) {
      const refused = await handleRelayWebhook('ses', deps(), post(signed(subscription(elsewhere))), '192.0.2.1');
      expect(refused.status, elsewhere).toBe(400);
    }
    expect(confirmed).toEqual([SNS_CONFIRM]);
    // SNS's answer not 200: not confirmed, and SNS will try again.
    confirmStatus = 403;
    expect((await handleRelayWebhook('ses', deps(), post(signed(subscription(SNS_CONFIRM))), '192.0.2.1')).status).toBe(
      502,
    );
    confirmStatus = 200;
    // An unsigned or foreign-topic confirmation is never followed.
    const unsigned = { ...signed(subscription(SNS_CONFIRM)), Token: 'changed' };
    expect((await handleRelayWebhook('ses', deps(), post(unsigned), '192.0.2.1')).status).toBe(401);
    const foreign = signed({ ...subscription(SNS_CONFIRM), TopicArn: 'arn:aws:sns:eu-west-1:123456789012:other' });
    expect((await handleRelayWebhook('ses', deps(), post(foreign), '192.0.2.1')).status).toBe(403);
    expect(confirmed).toHaveLength(2);
  });

  it('takes SignatureVersion 1 (SHA1) and 2 (SHA256), never fetches a certificate off an SNS host, and refuses an expired one', async () => {
    const note = (id: string) =>
      fixtures.snsNotification({
        messageId: id,
        topicArn: TOPIC,
        message: { notificationType: 'Delivery', mail: {} },
        at: new Date(),
        certUrl: CERT_URL,
      });
    for (const version of ['1', '2'] as const) {
      const answer = await handleRelayWebhook('ses', deps(), post(signed(note(`v${version}`), version)), '192.0.2.2');
      expect(answer, version).toMatchObject({ status: 200, body: { recorded: 0, ignored: 1 } });
    }
    expect(
      (await handleRelayWebhook('ses', deps(), post({ ...signed(note('v3')), SignatureVersion: '3' }), '192.0.2.2'))
        .status,
    ).toBe(401);
    fetched.length = 0;
    for (const url of [
      'http://sns.eu-west-1.amazonaws.com/cert.pem',
      'https://sns.eu-west-1.amazonaws.com/cert.txt',
      'https://sns.eu-west-1.amazonaws.com:8443/cert.pem',
      'https://s3.amazonaws.com/sns/cert.pem',
    ])
      expect(
        (await handleRelayWebhook('ses', deps(), post(signed({ ...note('x'), SigningCertURL: url })), '192.0.2.2'))
          .status,
        url,
      ).toBe(401);
    expect(fetched).toEqual([]);
    const expired = await handleRelayWebhook(
      'ses',
      deps(),
      post(signed(note('later'))),
      '192.0.2.2',
      Date.now() + 5 * 86_400_000,
    );
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/certificate is not valid now/);
  });

  it('refuses everything while unconfigured, and a network after repeated failures (429)', async () => {
    const off = await handleRelayWebhook(
      'ses',
      deps({ providers: { ses: undefined, postmark: undefined, mailgun: undefined, sendgrid: undefined } }),
      post(signed(subscription(SNS_CONFIRM))),
      '192.0.2.3',
    );
    expect(off.status).toBe(401);
    expect(off.body.message).toMatch(/SES_SNS_TOPIC_ARNS/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const forged = signed(subscription(SNS_CONFIRM), '2', other);
    const statuses = [];
    for (let i = 0; i < 22; i++)
      statuses.push((await handleRelayWebhook('ses', deps(), post(forged), '198.51.100.7')).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});
