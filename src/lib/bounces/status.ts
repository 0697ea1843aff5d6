import type { BounceKind } from './bounces.service.ts';

/**
 * One rule for every source (the relays' webhooks and the bounce mailbox): a full mailbox is a
 * soft bounce, whatever the source called it. RFC 3463 §3.3, X.2.2 "Mailbox full": "This code
 * should be used as a persistent transient failure" — the reader can make room, so a 552 5.2.2
 * that a relay reports as permanent must not suppress the address for good. Otherwise the
 * source's own verdict stands.
 */

/** An RFC 3463 enhanced status code, `class.subject.detail`. */
export interface EnhancedStatus {
  code: string;
  class: '2' | '4' | '5';
  subject: number;
  detail: number;
}

// Not inside a longer dotted number (an IP address, a version); after a space, "smtp;" or an SMTP
// continuation line's "552-" alike.
const ENHANCED_STATUS = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/;

/** The first enhanced status code in a text (a Status field, a relay's diagnostic), if any. */
export function findEnhancedStatus(text: unknown): EnhancedStatus | undefined {
  if (typeof text !== 'string') return undefined;
  const match = ENHANCED_STATUS.exec(text);
  if (!match) return undefined;
  return {
    code: `${match[1]}.${Number(match[2])}.${Number(match[3])}`,
    class: match[1] as EnhancedStatus['class'],
    subject: Number(match[2]),
    detail: Number(match[3]),
  };
}

/**
 * The code a report gives: the stated one, unless it is missing or generic (X.0.0) — then the
 * first code in the diagnostic text (Exim and SendGrid say 5.0.0 and leave the next hop's 5.1.1 or
 * 5.2.2 in the text) — else the generic stated one.
 */
export function enhancedStatusOf(stated: unknown, diagnostic?: unknown): EnhancedStatus | undefined {
  const given = findEnhancedStatus(stated);
  if (given && !(given.subject === 0 && given.detail === 0)) return given;
  return findEnhancedStatus(diagnostic) ?? given;
}

export interface StatusVerdict {
  kind: BounceKind;
  /** Set when the rule changed the source's verdict: put before its words in the reason. */
  because?: string;
}

/**
 * The kind of a report from the source's verdict and the enhanced status code it carries (its
 * `stated` code, and `diagnostic` text to find one in when that is missing or generic): X.2.2 →
 * soft; otherwise the verdict. Complaints are not bounces and stay complaints.
 */
export function kindFromStatus(verdict: BounceKind, stated?: unknown, diagnostic?: unknown): StatusVerdict {
  if (verdict !== 'hard') return { kind: verdict };
  const status = enhancedStatusOf(stated, diagnostic);
  if (status?.subject === 2 && status.detail === 2) return { kind: 'soft', because: `mailbox full (${status.code})` };
  return { kind: verdict };
}

/** The source's reason, after why the rule changed its verdict (if it did). */
export function explainedReason(reason: string | undefined, verdict: StatusVerdict): string | undefined {
  if (!verdict.because) return reason;
  return reason ? `${verdict.because}: ${reason}` : verdict.because;
}
