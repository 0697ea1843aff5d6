import type { BounceKind, BounceReport } from './bounces.service.ts';
import { explainedReason, kindFromStatus } from './status.ts';

/**
 * Each relay's own event format turned into bounce reports (kind, recipient, our Message-ID,
 * reason, the relay's event id, time). Events that are not bounces or complaints (deliveries,
 * opens, clicks) give no report. Formats as each provider documents them; the test fixtures in
 * test/fixtures/bounces/ cite the pages.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const join = (...parts: unknown[]) =>
  parts
    .map((p) => (typeof p === 'number' ? String(p) : str(p)))
    .filter((p): p is string => p !== undefined)
    .join(' ');

/**
 * A relay's code before the server's words, unless the words already begin with it ("552-5.2.2 …",
 * "550 5.1.1 …"): the reason reads once, not "5.1.1 550 5.1.1 …".
 */
function withCode(code: unknown, text: string | undefined): string {
  const c = typeof code === 'number' ? String(code) : str(code);
  return text && c && text.split(/[\s;,-]+/, 2).includes(c) ? text : join(c, text);
}

/** An ISO date (or epoch seconds) as epoch ms; `fallback` when missing or unreadable. */
function timeOf(value: unknown, fallback: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.round(value * 1000);
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return fallback;
}

/** The name under which outgoing mail carries our Message-ID to the relays' events (src/lib/mail/mailer.ts). */
export const MESSAGE_ID_METADATA = 'footfall-message-id';

export interface ParsedEvents {
  reports: BounceReport[];
  /** Events read that were not bounces or complaints. */
  ignored: number;
}

// ── Amazon SES (the Message of an SNS Notification) ─────────────────────────────────────────

/**
 * An SES notification (notificationType, or eventType with event publishing): Bounce with
 * bounceType Permanent → hard, Transient or Undetermined → soft, one report per bounced
 * recipient (a full mailbox, by the recipient's `status` or a code in its `diagnosticCode`, is
 * soft whatever the bounceType: status.ts); Complaint → complaint per complained recipient. Our
 * Message-ID is the original message's (`mail.commonHeaders.messageId`, else its `Message-ID`
 * header): SES gives the message an id of its own.
 */
export function parseSesNotification(message: unknown, now: number): ParsedEvents | { error: string } {
  if (!isObject(message)) return { error: 'The SNS Message is not an SES notification (a JSON object).' };
  const type = str(message.notificationType) ?? str(message.eventType);
  const mail = isObject(message.mail) ? message.mail : {};
  const common = isObject(mail.commonHeaders) ? mail.commonHeaders : {};
  const headerId = Array.isArray(mail.headers)
    ? mail.headers.find((h): h is Json => isObject(h) && str(h.name)?.toLowerCase() === 'message-id')?.value
    : undefined;
  const messageId = str(common.messageId) ?? str(headerId);
  const base = (email: unknown) => ({
    source: 'ses' as const,
    ...(messageId ? { messageId } : {}),
    ...(str(email) ? { email: str(email)! } : {}),
  });
  if (type === 'Bounce') {
    const bounce = isObject(message.bounce) ? message.bounce : undefined;
    if (!bounce || !Array.isArray(bounce.bouncedRecipients))
      return { error: 'The SES bounce has no bouncedRecipients.' };
    const verdict: BounceKind = bounce.bounceType === 'Permanent' ? 'hard' : 'soft';
    const feedback = str(bounce.feedbackId);
    return {
      ignored: 0,
      reports: bounce.bouncedRecipients.filter(isObject).map((r) => {
        const kind = kindFromStatus(verdict, r.status, r.diagnosticCode);
        return {
          ...base(r.emailAddress),
          kind: kind.kind,
          reason: explainedReason(
            str(r.diagnosticCode) ?? join(bounce.bounceType, bounce.bounceSubType, r.status),
            kind,
          ),
          ...(feedback ? { eventKey: `${feedback}:${str(r.emailAddress) ?? ''}` } : {}),
          at: timeOf(bounce.timestamp, now),
        };
      }),
    };
  }
  if (type === 'Complaint') {
    const complaint = isObject(message.complaint) ? message.complaint : undefined;
    if (!complaint || !Array.isArray(complaint.complainedRecipients))
      return { error: 'The SES complaint has no complainedRecipients.' };
    const feedback = str(complaint.feedbackId);
    return {
      ignored: 0,
      reports: complaint.complainedRecipients.filter(isObject).map((r) => ({
        ...base(r.emailAddress),
        kind: 'complaint' as const,
        reason: join('complaint', complaint.complaintFeedbackType),
        ...(feedback ? { eventKey: `${feedback}:${str(r.emailAddress) ?? ''}` } : {}),
        at: timeOf(complaint.timestamp, now),
      })),
    };
  }
  if (type) return { reports: [], ignored: 1 };
  return { error: 'The SNS Message has no notificationType.' };
}

// ── Postmark (bounce and spam complaint webhooks) ───────────────────────────────────────────

/**
 * Postmark's bounce types (https://postmarkapp.com/developer/api/bounce-api#bounce-types): those
 * that say the address takes no mail are hard; those that say this message did not get through
 * for now are soft; SpamComplaint is a complaint; the rest (Unsubscribe, Subscribe,
 * AutoResponder, AddressChange, ChallengeVerification, OpenRelayTest, ManuallyDeactivated,
 * Unconfirmed, SMTPApiError, InboundError, TemplateRenderingFailed) are no bounce of a reader's.
 */
export const POSTMARK_TYPES: Readonly<Record<string, BounceKind>> = {
  HardBounce: 'hard',
  BadEmailAddress: 'hard',
  Transient: 'soft',
  SoftBounce: 'soft',
  DnsError: 'soft',
  SpamNotification: 'soft',
  VirusNotification: 'soft',
  Blocked: 'soft',
  DMARCPolicy: 'soft',
  Unknown: 'soft',
  SpamComplaint: 'complaint',
};

export function parsePostmarkEvent(body: unknown, now: number): ParsedEvents | { error: string } {
  if (!isObject(body)) return { error: 'The body is not a Postmark webhook event (a JSON object).' };
  const record = str(body.RecordType);
  if (record !== undefined && record !== 'Bounce' && record !== 'SpamComplaint') return { reports: [], ignored: 1 };
  const type = str(body.Type);
  if (!type) return { error: 'The Postmark event has no Type.' };
  const verdict = record === 'SpamComplaint' ? 'complaint' : POSTMARK_TYPES[type];
  if (!verdict) return { reports: [], ignored: 1 };
  // Postmark gives no status code of its own: an enhanced code in the server's words (Details,
  // e.g. "smtp;552 5.2.2 Mailbox full") decides a full mailbox (status.ts).
  const kind = kindFromStatus(verdict, undefined, join(body.Details, body.Description));
  const email = str(body.Email);
  if (!email) return { error: 'The Postmark event has no Email.' };
  const metadata = isObject(body.Metadata) ? body.Metadata : {};
  const messageId = str(metadata[MESSAGE_ID_METADATA]);
  const id = typeof body.ID === 'number' || typeof body.ID === 'string' ? String(body.ID) : undefined;
  return {
    ignored: 0,
    reports: [
      {
        kind: kind.kind,
        source: 'postmark',
        email,
        ...(messageId ? { messageId } : {}),
        reason: explainedReason(str(body.Details) ?? str(body.Description) ?? str(body.Name) ?? type, kind),
        ...(id ? { eventKey: `${record ?? 'Bounce'}:${id}` } : {}),
        at: timeOf(body.BouncedAt, now),
      },
    ],
  };
}

// ── Mailgun (webhooks: the event-data of failed and complained) ──────────────────────────────

/**
 * `failed` with severity permanent → hard, temporary → soft (a full mailbox is soft whatever the
 * severity: `delivery-status.enhanced-code` when Mailgun sends one, else a code in its `message` or
 * `description`; status.ts); `complained` → complaint.
 */
export function parseMailgunEvent(eventData: unknown, now: number): ParsedEvents | { error: string } {
  if (!isObject(eventData)) return { error: 'The Mailgun webhook has no event-data object.' };
  const event = str(eventData.event);
  if (!event) return { error: 'The Mailgun event-data has no event.' };
  let verdict: BounceKind;
  if (event === 'failed') {
    if (eventData.severity === 'permanent') verdict = 'hard';
    else if (eventData.severity === 'temporary') verdict = 'soft';
    else return { error: 'A Mailgun "failed" event has severity "permanent" or "temporary".' };
  } else if (event === 'complained') verdict = 'complaint';
  else return { reports: [], ignored: 1 };
  const email = str(eventData.recipient);
  const message = isObject(eventData.message) ? eventData.message : {};
  const headers = isObject(message.headers) ? message.headers : {};
  const variables = isObject(eventData['user-variables']) ? eventData['user-variables'] : {};
  // Ours first (the user variable Footfall adds), then the header Mailgun reports.
  const messageId = str(variables[MESSAGE_ID_METADATA]) ?? str(headers['message-id']);
  if (!email && !messageId) return { error: 'The Mailgun event names no recipient and no message-id.' };
  const status = isObject(eventData['delivery-status']) ? eventData['delivery-status'] : {};
  // `code` is the basic SMTP reply (552), not an enhanced code: it only leads the text searched.
  const kind = kindFromStatus(verdict, status['enhanced-code'], join(status.code, status.message, status.description));
  const id = str(eventData.id);
  return {
    ignored: 0,
    reports: [
      {
        kind: kind.kind,
        source: 'mailgun',
        ...(email ? { email } : {}),
        ...(messageId ? { messageId } : {}),
        reason:
          kind.kind === 'complaint'
            ? 'complaint'
            : explainedReason(
                withCode(status.code, str(status.description) ?? str(status.message)) || join(eventData.reason),
                kind,
              ),
        ...(id ? { eventKey: id } : {}),
        at: timeOf(eventData.timestamp, now),
      },
    ],
  };
}

// ── SendGrid (event webhook: a batch of events) ─────────────────────────────────────────────

/**
 * `bounce` with type bounce → hard, type blocked → soft; `deferred` → soft; `dropped` because
 * the address bounced before or is invalid → hard, because it reported spam → complaint (other
 * drops, e.g. unsubscribed, are no bounce); `spamreport` → complaint. A full mailbox (`status`
 * X.2.2, or a code in `reason` when the status is generic 5.0.0) is soft whatever the event
 * (status.ts). Our Message-ID is the event's `smtp-id` (the Message-ID the message was sent with).
 */
export function parseSendgridEvents(body: unknown, now: number): ParsedEvents | { error: string } {
  if (!Array.isArray(body)) return { error: 'The body is not a SendGrid event batch (a JSON array).' };
  const reports: BounceReport[] = [];
  let ignored = 0;
  for (const [i, e] of body.entries()) {
    if (!isObject(e) || !str(e.event)) return { error: `Event ${i} has no "event".` };
    let verdict: BounceKind | undefined;
    if (e.event === 'bounce') verdict = e.type === 'blocked' ? 'soft' : 'hard';
    else if (e.event === 'deferred') verdict = 'soft';
    else if (e.event === 'spamreport') verdict = 'complaint';
    else if (e.event === 'dropped') {
      const reason = str(e.reason) ?? '';
      verdict = /^(bounced address|invalid)/i.test(reason)
        ? 'hard'
        : /^spam reporting address/i.test(reason)
          ? 'complaint'
          : undefined;
    }
    if (!verdict) {
      ignored++;
      continue;
    }
    const kind = kindFromStatus(verdict, e.status, str(e.reason) ?? str(e.response));
    const email = str(e.email);
    // Ours first (the unique argument Footfall adds; engagement events such as spamreport carry no smtp-id).
    const messageId = str(e[MESSAGE_ID_METADATA.replaceAll('-', '_')]) ?? str(e['smtp-id']);
    if (!email && !messageId) return { error: `Event ${i} names no email and no smtp-id.` };
    const id = str(e.sg_event_id);
    reports.push({
      kind: kind.kind,
      source: 'sendgrid',
      ...(email ? { email } : {}),
      ...(messageId ? { messageId } : {}),
      reason:
        kind.kind === 'complaint'
          ? 'complaint'
          : explainedReason(withCode(e.status, str(e.reason) ?? str(e.response)) || String(e.event), kind),
      ...(id ? { eventKey: id } : {}),
      at: timeOf(e.timestamp, now),
    });
  }
  return { reports, ignored };
}
