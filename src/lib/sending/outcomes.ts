import { InvalidMailError } from '../mail/message.ts';
import { describeMailError, MailSendError } from '../mail/transport.ts';
import { explainedReason, kindFromStatus } from '../bounces/status.ts';

export interface RetryPolicy {
  /** The first retry waits about this long; each further one twice as long. */
  retryBaseMs: number;
  /** Attempts in all before a delivery is given up as failed. */
  maxAttempts: number;
}

/** The longest wait between two attempts, however many came before. */
export const MAX_RETRY_DELAY_MS = 6 * 3_600_000;

/**
 * Exponential backoff with jitter: base × 2^(attempt−1), capped, then a random point in its
 * upper half, so retries of a batch that failed together do not come back together.
 */
export function retryDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/** What to do with a delivery after a failed attempt. `counts` says whether it adds to the send's failures in a row. */
export type FailureOutcome =
  | { status: 'queued'; nextAttemptAt: number; reason: string; counts: true }
  | { status: 'failed'; reason: string; counts: boolean }
  | { status: 'bounced'; reason: string; counts: false };

/** The relay's answer (or the connection's error, with what fixes a TLS problem), at most 300 characters. */
export function describeFailure(error: unknown): string {
  return describeMailError(error, 300);
}

/**
 * The recipient's own mailbox refused for good: a 5xx to RCPT TO, or a 5xx to the message
 * with an address status (5.1.x such as 5.1.1 "no such user", 5.2.x such as 5.2.1 "mailbox
 * disabled"). Not a full mailbox (X.2.2), which is retried: see classifyFailure.
 */
function isHardBounce(error: MailSendError): boolean {
  if (!error.permanent || error.responseCode === undefined) return false;
  const command = (error.command ?? '').toUpperCase();
  if (command.includes('RCPT')) return true;
  return command === 'DATA' && /\b5\.[12]\.\d{1,3}\b/.test(error.response ?? '');
}

/** The server refused this message for good (a 5xx after DATA), not the address and not us. */
function isRefusedMessage(error: MailSendError): boolean {
  return error.permanent && error.responseCode !== undefined && (error.command ?? '').toUpperCase() === 'DATA';
}

/**
 * 5xx to the recipient → bounced (and suppressed by the caller); a 5xx to the message itself
 * → failed at once. Anything temporary — a 4xx, a dropped connection, a timeout — and a
 * refusal of us as the sender (MAIL FROM, AUTH: fixable, so worth retrying after a pause) or a
 * full mailbox (X.2.2, even as a 5xx) is retried with backoff until `maxAttempts`, then failed. A message we could not even build
 * (InvalidMailError) fails at once and says nothing about the server.
 */
export function classifyFailure(
  error: unknown,
  attempt: number,
  policy: RetryPolicy,
  now: number,
  random: () => number = Math.random,
): FailureOutcome {
  const described = describeFailure(error);
  if (error instanceof InvalidMailError) return { status: 'failed', reason: `not sent: ${described}`, counts: false };
  // A full mailbox (X.2.2) is temporary by nature, whatever class the server gave it — one rule with
  // the relays' reports and the bounce mailbox (src/lib/bounces/status.ts): retried like a 452 4.2.2,
  // never a bounce that suppresses the address, nor a refused message.
  const byStatus =
    error instanceof MailSendError && error.permanent ? kindFromStatus('hard', error.response) : undefined;
  const reason = byStatus ? explainedReason(described, byStatus)! : described;
  if (error instanceof MailSendError && byStatus?.kind !== 'soft') {
    if (isHardBounce(error)) return { status: 'bounced', reason, counts: false };
    if (isRefusedMessage(error)) return { status: 'failed', reason: `refused: ${reason}`, counts: true };
  }
  if (attempt >= policy.maxAttempts)
    return {
      status: 'failed',
      reason: `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${reason}`,
      counts: true,
    };
  return {
    status: 'queued',
    nextAttemptAt: now + retryDelay(attempt, policy.retryBaseMs, random),
    reason,
    counts: true,
  };
}
