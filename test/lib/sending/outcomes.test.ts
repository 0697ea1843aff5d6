import { describe, expect, it } from 'vitest';
import { InvalidMailError } from '#lib/mail/message.ts';
import { MailSendError } from '#lib/mail/transport.ts';
import { classifyFailure, MAX_RETRY_DELAY_MS, retryDelay } from '#lib/sending/outcomes.ts';

const policy = { retryBaseMs: 60_000, maxAttempts: 5 };
const smtp = (responseCode: number | undefined, command: string, response: string, code = 'EENVELOPE') =>
  new MailSendError('refused', { responseCode, command, response, code });

describe('retries and bounces', () => {
  it('backs off exponentially, with jitter in the upper half, capped', () => {
    expect(retryDelay(1, 1000, () => 0)).toBe(500);
    expect(retryDelay(1, 1000, () => 1)).toBe(1000);
    expect(retryDelay(3, 1000, () => 0)).toBe(2000);
    expect(retryDelay(3, 1000, () => 1)).toBe(4000);
    expect(retryDelay(40, 1000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelay(2, 1000)));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) {
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('4xx, a dropped connection and a refusal of the sender are retried, then failed after the last attempt', () => {
    const now = 1_000_000;
    for (const error of [
      smtp(451, 'RCPT TO', '451 4.3.0 Try again later'),
      smtp(421, 'RCPT TO', '421 4.4.2 Closing'),
      new MailSendError('Connection closed', { code: 'ECONNECTION' }),
      smtp(550, 'MAIL FROM', '550 5.7.1 Sender not allowed'),
      smtp(535, 'AUTH PLAIN', '535 5.7.8 Authentication failed', 'EAUTH'),
    ]) {
      const retry = classifyFailure(error, 2, policy, now, () => 0.5);
      expect(retry).toMatchObject({ status: 'queued', counts: true });
      expect((retry as { nextAttemptAt: number }).nextAttemptAt).toBe(now + 90_000);
      expect(classifyFailure(error, 5, policy, now)).toMatchObject({
        status: 'failed',
        counts: true,
        reason: expect.stringMatching(/^gave up after 5 attempts: /),
      });
    }
  });

  it('a 5xx to the recipient bounces (also 5.1.x after the message); another 5xx to the message fails at once', () => {
    expect(classifyFailure(smtp(550, 'RCPT TO', '550 5.1.1 No such user'), 1, policy, 0)).toEqual({
      status: 'bounced',
      reason: '550 5.1.1 No such user',
      counts: false,
    });
    expect(classifyFailure(smtp(553, 'RCPT TO', '553 mailbox name not allowed'), 1, policy, 0).status).toBe('bounced');
    expect(classifyFailure(smtp(550, 'DATA', '550 5.1.1 Recipient unknown', 'EMESSAGE'), 1, policy, 0).status).toBe(
      'bounced',
    );
    expect(
      classifyFailure(smtp(554, 'DATA', '554 5.7.1 Message refused as spam', 'EMESSAGE'), 1, policy, 0),
    ).toMatchObject({ status: 'failed', counts: true, reason: 'refused: 554 5.7.1 Message refused as spam' });
    // 503 is a protocol hiccup, not a verdict: retried.
    expect(classifyFailure(smtp(503, 'RCPT TO', '503 Bad sequence'), 1, policy, 0).status).toBe('queued');
  });

  it('a full mailbox (X.2.2) is retried like a 452 4.2.2 even when refused with a 5xx, then failed, never bounced', () => {
    const now = 1_000_000;
    for (const error of [
      smtp(552, 'RCPT TO', '552 5.2.2 Mailbox full'),
      smtp(552, 'DATA', '552-5.2.2 The email account that you tried to reach is over quota.', 'EMESSAGE'),
      smtp(452, 'RCPT TO', '452 4.2.2 Mailbox full'),
    ]) {
      const retry = classifyFailure(error, 1, policy, now, () => 0.5);
      expect(retry).toMatchObject({ status: 'queued', counts: true });
      const last = classifyFailure(error, 5, policy, now);
      expect(last.status).toBe('failed');
      if (error.permanent) expect(last.reason).toMatch(/^gave up after 5 attempts: mailbox full \(5\.2\.2\): 552/);
    }
    // The other 5.2.x stay what they were: a disabled mailbox is a hard bounce.
    expect(classifyFailure(smtp(550, 'DATA', '550 5.2.1 Mailbox disabled', 'EMESSAGE'), 1, policy, 0).status).toBe(
      'bounced',
    );
  });

  it('a message that cannot be built fails at once and says nothing about the server', () => {
    expect(classifyFailure(new InvalidMailError('to', 'is not a valid address'), 1, policy, 0)).toEqual({
      status: 'failed',
      reason: 'not sent: to is not a valid address',
      counts: false,
    });
  });
});
