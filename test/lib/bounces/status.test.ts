import { describe, expect, it } from 'vitest';
import { enhancedStatusOf, explainedReason, kindFromStatus } from '../../../src/lib/bounces/status.ts';

describe('one rule for a full mailbox (kindFromStatus)', () => {
  it('X.2.2 is soft whatever the verdict; otherwise the verdict stands', () => {
    // Generic 5.0.0 (Exim, SendGrid): the code in the diagnostic decides.
    expect(kindFromStatus('hard', '5.0.0', 'smtp; 552 5.2.2 <ann@example.com>: Mailbox full')).toEqual({
      kind: 'soft',
      because: 'mailbox full (5.2.2)',
    });
    expect(kindFromStatus('hard', '4.2.2')).toEqual({ kind: 'soft', because: 'mailbox full (4.2.2)' });
    expect(kindFromStatus('hard', '5.2.2', '550 5.1.1 unknown')).toMatchObject({ kind: 'soft' });
    // A detailed stated code wins over the text.
    expect(kindFromStatus('hard', '5.1.1', '552 5.2.2 Mailbox full')).toEqual({ kind: 'hard' });
    expect(kindFromStatus('hard', '5.1.1')).toEqual({ kind: 'hard' });
    // No code at all, or one only in a longer number: the relay's verdict.
    expect(kindFromStatus('hard')).toEqual({ kind: 'hard' });
    expect(kindFromStatus('hard', undefined, 'mailbox unavailable')).toEqual({ kind: 'hard' });
    expect(kindFromStatus('hard', undefined, 'relay 10.5.2.2 refused')).toEqual({ kind: 'hard' });
    expect(kindFromStatus('soft', '4.7.0')).toEqual({ kind: 'soft' });
    expect(kindFromStatus('complaint', '5.2.2')).toEqual({ kind: 'complaint' });
    // Postmark: no code of its own, one in its Details; an SMTP continuation line ("552-5.2.2").
    expect(kindFromStatus('hard', undefined, 'smtp;552 5.2.2 Mailbox full')).toMatchObject({ kind: 'soft' });
    expect(kindFromStatus('hard', undefined, '552-5.2.2 The email account is over quota')).toMatchObject({
      kind: 'soft',
    });
  });

  it('the code a report gives: the stated one unless generic, then the diagnostic’s', () => {
    expect(enhancedStatusOf('5.0.0', '550 5.1.1 unknown')?.code).toBe('5.1.1');
    expect(enhancedStatusOf('5.0.0', 'no code here')?.code).toBe('5.0.0');
    expect(enhancedStatusOf(undefined, undefined)).toBeUndefined();
    expect(enhancedStatusOf('4.4.7', '552 5.2.2')?.class).toBe('4');
  });

  it('the reason says why the verdict changed, before the relay’s words', () => {
    expect(explainedReason('552 5.2.2 Mailbox full', { kind: 'soft', because: 'mailbox full (5.2.2)' })).toBe(
      'mailbox full (5.2.2): 552 5.2.2 Mailbox full',
    );
    expect(explainedReason(undefined, { kind: 'soft', because: 'mailbox full (5.2.2)' })).toBe('mailbox full (5.2.2)');
    expect(explainedReason('550 5.1.1 unknown', { kind: 'hard' })).toBe('550 5.1.1 unknown');
  });
});
