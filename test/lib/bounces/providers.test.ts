import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/lib/config.ts';
import {
  parseMailgunEvent,
  parsePostmarkEvent,
  parseSendgridEvents,
  parseSesNotification,
} from '../../../src/lib/bounces/providers.ts';
import { cleanReason } from '../../../src/lib/bounces/bounces.service.ts';
import * as fixtures from '../../fixtures/bounces/payloads.ts';

const at = new Date(Date.UTC(2026, 11, 6, 10, 0));
const NOW = at.getTime() + 60_000;
const MID = '<footfall.7.42@frobozz.example>';
const kinds = (parsed: ReturnType<typeof parseSendgridEvents>) =>
  'error' in parsed ? parsed.error : parsed.reports.map((r) => r.kind);

describe('relay event formats → bounce reports', () => {
  it('SES: Permanent → hard, Transient → soft, complaints; our Message-ID from commonHeaders, the relay time kept', () => {
    const hard = parseSesNotification(
      fixtures.sesBounce({ email: 'a@example.com', messageId: MID, bounceType: 'Permanent', feedbackId: 'f1', at }),
      NOW,
    );
    expect(hard).toEqual({
      ignored: 0,
      reports: [
        {
          kind: 'hard',
          source: 'ses',
          email: 'a@example.com',
          messageId: MID,
          reason: 'smtp; 550 5.1.1 <a@example.com>: Recipient address rejected: User unknown',
          eventKey: 'f1:a@example.com',
          at: at.getTime(),
        },
      ],
    });
    const soft = parseSesNotification(
      fixtures.sesBounce({ email: 'a@example.com', messageId: MID, bounceType: 'Transient', feedbackId: 'f2', at }),
      NOW,
    );
    expect('reports' in soft && soft.reports[0]!.kind).toBe('soft');
    const complaint = parseSesNotification(
      fixtures.sesComplaint({ email: 'a@example.com', messageId: MID, feedbackId: 'f3', at }),
      NOW,
    );
    expect('reports' in complaint && complaint.reports[0]).toMatchObject({
      kind: 'complaint',
      reason: 'complaint abuse',
    });
    expect(parseSesNotification({ notificationType: 'Delivery', mail: {} }, NOW)).toEqual({ reports: [], ignored: 1 });
    expect(parseSesNotification({ notificationType: 'Bounce' }, NOW)).toHaveProperty('error');
  });

  it('Postmark: by its Type list, from Metadata our Message-ID; other record types are ignored', () => {
    const of = (type: string, code: number) =>
      parsePostmarkEvent(
        fixtures.postmarkBounce({ id: 1, type, typeCode: code, email: 'b@example.com', messageId: MID, at }),
        NOW,
      );
    expect(of('HardBounce', 1)).toMatchObject({ reports: [{ kind: 'hard', messageId: MID, eventKey: 'Bounce:1' }] });
    expect(of('BadEmailAddress', 100000)).toMatchObject({ reports: [{ kind: 'hard' }] });
    for (const [type, code] of [
      ['SoftBounce', 4096],
      ['Transient', 2],
      ['DnsError', 256],
      ['Blocked', 100006],
    ] as const)
      expect(of(type, code), type).toMatchObject({ reports: [{ kind: 'soft' }] });
    for (const [type, code] of [
      ['AutoResponder', 64],
      ['Unsubscribe', 16],
      ['ChallengeVerification', 4096],
    ] as const)
      expect(of(type, code), type).toEqual({ reports: [], ignored: 1 });
    expect(
      parsePostmarkEvent(fixtures.postmarkSpamComplaint({ id: 9, email: 'b@example.com', messageId: MID, at }), NOW),
    ).toMatchObject({
      reports: [{ kind: 'complaint', eventKey: 'SpamComplaint:9' }],
    });
    expect(parsePostmarkEvent(fixtures.postmarkDelivery({ email: 'b@example.com', at }), NOW)).toEqual({
      reports: [],
      ignored: 1,
    });
  });

  it('Mailgun: failed permanent/temporary, complained; other events ignored', () => {
    const failed = (severity: 'permanent' | 'temporary') =>
      parseMailgunEvent(
        fixtures.mailgunFailed({ id: 'e1', severity, email: 'c@example.com', messageId: MID, at }),
        NOW,
      );
    expect(failed('permanent')).toMatchObject({
      reports: [
        {
          kind: 'hard',
          messageId: MID, // the user variable Footfall added, before the header
          eventKey: 'e1',
          at: at.getTime(),
          reason: '550 The email account that you tried to reach does not exist.',
        },
      ],
    });
    expect(failed('temporary')).toMatchObject({ reports: [{ kind: 'soft' }] });
    expect(
      parseMailgunEvent(fixtures.mailgunComplained({ id: 'e2', email: 'c@example.com', messageId: MID, at }), NOW),
    ).toMatchObject({
      // No user variable here: the message-id header Mailgun reports, without brackets.
      reports: [{ kind: 'complaint', messageId: MID.slice(1, -1) }],
    });
    expect(parseMailgunEvent({ event: 'delivered', recipient: 'c@example.com' }, NOW)).toEqual({
      reports: [],
      ignored: 1,
    });
  });

  it('SendGrid: bounce/blocked, dropped by reason, spamreport, deferred; delivered ignored', () => {
    const e = (
      o: Partial<Parameters<typeof fixtures.sendgridEvent>[0]> & {
        event: Parameters<typeof fixtures.sendgridEvent>[0]['event'];
      },
    ) => fixtures.sendgridEvent({ id: 'x', email: 'd@example.com', messageId: MID, at, ...o });
    const parsed = parseSendgridEvents(
      [
        e({ event: 'bounce', type: 'bounce' }),
        e({ event: 'bounce', type: 'blocked' }),
        e({ event: 'deferred' }),
        e({ event: 'dropped', reason: 'Bounced Address' }),
        e({ event: 'dropped', reason: 'Spam Reporting Address' }),
        e({ event: 'dropped', reason: 'Unsubscribed Address' }),
        e({ event: 'spamreport' }),
        e({ event: 'delivered' }),
      ],
      NOW,
    );
    expect(kinds(parsed)).toEqual(['hard', 'soft', 'soft', 'hard', 'complaint', 'complaint']);
    expect('ignored' in parsed && parsed.ignored).toBe(2);
    expect(parseSendgridEvents({ event: 'bounce' }, NOW)).toHaveProperty('error');
  });

  it('reasons are one line with addresses masked', () => {
    expect(cleanReason('550 5.1.1 <ann@example.com>:\n  user   unknown; bob@example.org')).toBe(
      '550 5.1.1 <address>: user unknown; <address>',
    );
  });

  it('configuration: each webhook on only with its settings; bad values fail naming the variable', () => {
    expect(loadConfig({}).bounceProviders).toEqual({
      ses: undefined,
      postmark: undefined,
      mailgun: undefined,
      sendgrid: undefined,
    });
    const on = loadConfig({
      SES_SNS_TOPIC_ARNS: 'arn:aws:sns:us-east-1:123456789012:a, arn:aws:sns:eu-west-1:123456789012:b',
      POSTMARK_WEBHOOK_USER: 'pm',
      POSTMARK_WEBHOOK_PASSWORD: 'a-long-enough-password',
      MAILGUN_WEBHOOK_SIGNING_KEY: 'key-0123456789abcdef',
      SENDGRID_WEBHOOK_PUBLIC_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        .publicKey.export({ type: 'spki', format: 'der' })
        .toString('base64'),
    }).bounceProviders;
    expect(on.ses?.topicArns).toEqual(['arn:aws:sns:us-east-1:123456789012:a', 'arn:aws:sns:eu-west-1:123456789012:b']);
    expect(on.postmark).toEqual({ user: 'pm', password: 'a-long-enough-password' });
    expect(() => loadConfig({ SES_SNS_TOPIC_ARNS: 'my-topic' })).toThrow(/SES_SNS_TOPIC_ARNS/);
    expect(() => loadConfig({ POSTMARK_WEBHOOK_USER: 'pm' })).toThrow(/POSTMARK_WEBHOOK_PASSWORD/);
    expect(() => loadConfig({ MAILGUN_WEBHOOK_SIGNING_KEY: 'short' })).toThrow(/MAILGUN_WEBHOOK_SIGNING_KEY/);
    expect(() => loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: 'not base64!' })).toThrow(/SENDGRID_WEBHOOK_PUBLIC_KEY/);
    expect(() => loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE' })).toThrow(
      /SENDGRID_WEBHOOK_PUBLIC_KEY: not an ECDSA public key/,
    );
  });
});
