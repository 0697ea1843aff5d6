import { createHash } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import type { BounceKind } from '../bounces.service.ts';
import { loadMailParser } from '../../mail/mail-parser.ts';
import { enhancedStatusOf, explainedReason, kindFromStatus } from '../status.ts';

/**
 * Reading one message of the bounce mailbox: an RFC 3464 delivery-status notification
 * (`multipart/report; report-type=delivery-status`, also RFC 6533's global-delivery-status) or
 * an RFC 5965 feedback report (`multipart/report; report-type=feedback-report`, ARF); anything
 * else is not a report.
 *
 * What a report gives, per recipient it names:
 * - DSN: `Action: failed` with a 5.x.x `Status` (or none) → hard; `Action: failed` with 4.x.x or
 *   with X.2.2 (a full mailbox: the rule every source shares, ../status.ts), or `Action: delayed`
 *   → soft; delivered, relayed, expanded → nothing to record. The reason is the `Diagnostic-Code`
 *   (its type, "smtp;", dropped), else the status, after "mailbox full (5.2.2): " when that rule
 *   made a 5.x.x soft; the address the `Final-Recipient` (else `Original-Recipient`).
 * - ARF: `Feedback-Type` abuse, fraud, virus or other → complaint; `not-spam` and `auth-failure`
 *   (RFC 6591: a DKIM/SPF failure report, no reader's complaint) → nothing to record. The address
 *   is `Original-Rcpt-To` (often redacted by the provider).
 * The original message's Message-ID comes from the `text/rfc822-headers` or `message/rfc822`
 * part; the VERP address the report was sent to from `To`, `Delivered-To`, `X-Original-To`,
 * `Envelope-To` (and an ARF's `Original-Mail-From`).
 */
export interface ReportResult {
  /** undefined: the report says nothing went wrong for this recipient. */
  kind: BounceKind | undefined;
  email: string | undefined;
  reason: string | undefined;
}

export interface ParsedReport {
  type: 'delivery-status' | 'feedback-report';
  /** The report's own identity for idempotency: its Message-ID, else a hash of its bytes. */
  key: string;
  /** When the report says it was made (its Date), if it gave one. */
  date: number | undefined;
  originalMessageId: string | undefined;
  /** Addresses the report was sent to, where a VERP token may be. */
  returnPaths: string[];
  results: ReportResult[];
}

export type ReadMessage = { ok: true; report: ParsedReport } | { ok: false; reason: string };

/** RFC 822-style field groups (blank-line separated), names lowercased, folded lines joined. */
export function parseFieldGroups(text: string): Map<string, string>[] {
  const groups: Map<string, string>[] = [];
  for (const block of text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    const unfolded = block.replace(/\n[ \t]+/g, ' ');
    for (const line of unfolded.split('\n')) {
      const match = /^([!-9;-~]+)[ \t]*:[ \t]*(.*)$/.exec(line);
      if (!match) continue;
      const name = match[1]!.toLowerCase();
      if (!fields.has(name)) fields.set(name, match[2]!.trim());
    }
    if (fields.size > 0) groups.push(fields);
  }
  return groups;
}

const oneLine = (text: string, max = 300) => text.replace(/\s+/g, ' ').trim().slice(0, max);

/** `rfc822; ann@example.com` → `ann@example.com`. */
function typedAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const bare = (value.includes(';') ? value.slice(value.indexOf(';') + 1) : value).trim().replace(/^<|>$/g, '');
  return bare.includes('@') ? bare : undefined;
}

function classifyDsnRecipient(fields: Map<string, string>): ReportResult {
  const action = (fields.get('action') ?? '').toLowerCase().trim();
  const diagnostic = fields.get('diagnostic-code');
  // Exim reports every SMTP refusal as Status 5.0.0 or 4.0.0 and leaves the next hop's own code
  // (5.1.1, 5.2.2) in the Diagnostic-Code: the detailed code decides when the Status is generic.
  const diagnosticText = diagnostic?.replace(/^[^;]*;/, '');
  const status = enhancedStatusOf(fields.get('status'), diagnosticText);
  const email = typedAddress(fields.get('final-recipient')) ?? typedAddress(fields.get('original-recipient'));
  const reason = diagnostic
    ? oneLine(diagnostic.includes(';') ? diagnostic.slice(diagnostic.indexOf(';') + 1) : diagnostic)
    : status
      ? `Status ${oneLine(fields.get('status') ?? status.code, 20)}`
      : undefined;
  if (action === 'delayed') return { kind: 'soft', email, reason };
  if (action !== 'failed') return { kind: undefined, email, reason };
  // The report's verdict is its class (4.x.x soft, 5.x.x or none hard); then the rule every source
  // shares (../status.ts): a full mailbox (X.2.2) is soft whatever the class.
  const verdict = kindFromStatus(status?.class === '4' ? 'soft' : 'hard', fields.get('status'), diagnosticText);
  return { kind: verdict.kind, email, reason: explainedReason(reason, verdict) };
}

const COMPLAINT_TYPES = new Set(['abuse', 'fraud', 'virus', 'other']);

function classifyFeedback(fields: Map<string, string>): ReportResult {
  const type = (fields.get('feedback-type') ?? '').toLowerCase().trim();
  return {
    kind: COMPLAINT_TYPES.has(type) ? 'complaint' : undefined,
    email: typedAddress(fields.get('original-rcpt-to')) ?? typedAddress(fields.get('removal-recipient')),
    reason: type ? `Feedback-Type: ${oneLine(type, 40)}` : undefined,
  };
}

const ADDRESS = /[^\s<>"',;:()[\]]+@[^\s<>"',;:()[\]]+/g;

function headerAddresses(mail: ParsedMail, names: string[]): string[] {
  const out: string[] = [];
  for (const line of mail.headerLines) {
    if (!names.includes(line.key)) continue;
    for (const match of line.line.slice(line.line.indexOf(':') + 1).matchAll(ADDRESS))
      out.push(match[0].replace(/^<|>$/g, ''));
  }
  return out;
}

function normalizeMessageId(value: string | undefined): string | undefined {
  const bare = value?.trim().replace(/^<|>$/g, '').trim();
  return bare && !/[\s<>]/.test(bare) ? `<${bare}>` : undefined;
}

/** The `message/rfc822` part's bytes, found by the report's own boundary (mailparser inlines that part). */
function rfc822Part(raw: string, boundary: string | undefined): string | undefined {
  if (!boundary) return undefined;
  const parts = raw.split(
    new RegExp(`\\r?\\n--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*(?=\\r?\\n|$)`),
  );
  for (const part of parts.slice(1)) {
    const body = /\r?\n\r?\n/.exec(part);
    if (!body) continue;
    const head = part.slice(0, body.index).replace(/\r?\n[ \t]+/g, ' ');
    if (/^content-type:[ \t]*message\/(rfc822|global)\b/im.test(head)) return part.slice(body.index + body[0].length);
  }
  return undefined;
}

async function originalMessageId(mail: ParsedMail, raw: string): Promise<string | undefined> {
  const headersPart = mail.attachments.find((a) => /^text\/rfc822-headers$/i.test(a.contentType));
  if (headersPart) {
    const fields = parseFieldGroups(headersPart.content.toString('utf8'))[0];
    const id = normalizeMessageId(fields?.get('message-id'));
    if (id) return id;
  }
  const attached = mail.attachments.find((a) => /^message\/(rfc822|global)$/i.test(a.contentType));
  const original =
    attached?.content.toString('utf8') ??
    rfc822Part(
      raw,
      (mail.headers.get('content-type') as { params?: Record<string, string> } | undefined)?.params?.boundary,
    );
  if (!original) return undefined;
  const head = original.split(/\r?\n\r?\n/, 1)[0]!;
  return normalizeMessageId(parseFieldGroups(head)[0]?.get('message-id'));
}

/** Reads one message of the bounce mailbox (never throws: a message that cannot be read is not a report). */
export async function readMailboxMessage(raw: Buffer): Promise<ReadMessage> {
  const simpleParser = await loadMailParser();
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, { keepDeliveryStatus: true, skipHtmlToText: true, skipTextToHtml: true });
  } catch (error) {
    return { ok: false, reason: `unreadable: ${error instanceof Error ? error.message : String(error)}` };
  }
  const contentType = mail.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  if (contentType?.value?.toLowerCase() !== 'multipart/report')
    return { ok: false, reason: `not a report (${contentType?.value ?? 'no content type'})` };
  const reportType = (contentType.params?.['report-type'] ?? '').toLowerCase();
  const text = raw.toString('utf8');
  const key = normalizeMessageId(mail.messageId) ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  const date = mail.date && Number.isFinite(mail.date.getTime()) ? mail.date.getTime() : undefined;
  const returnPaths = headerAddresses(mail, ['to', 'delivered-to', 'x-original-to', 'envelope-to']);
  if (reportType === 'delivery-status' || reportType === 'global-delivery-status') {
    const part = mail.attachments.find((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType));
    if (!part) return { ok: false, reason: 'a delivery-status report without its message/delivery-status part' };
    const groups = parseFieldGroups(part.content.toString('utf8'));
    const recipients = groups.filter((g) => g.has('action') || g.has('final-recipient'));
    if (recipients.length === 0) return { ok: false, reason: 'a delivery-status report naming no recipient' };
    return {
      ok: true,
      report: {
        type: 'delivery-status',
        key,
        date,
        originalMessageId: await originalMessageId(mail, text),
        returnPaths,
        results: recipients.map(classifyDsnRecipient),
      },
    };
  }
  if (reportType === 'feedback-report') {
    const part = mail.attachments.find((a) => /^message\/feedback-report$/i.test(a.contentType));
    if (!part) return { ok: false, reason: 'a feedback report without its message/feedback-report part' };
    const fields = new Map(parseFieldGroups(part.content.toString('utf8')).flatMap((g) => [...g]));
    const mailFrom = typedAddress(fields.get('original-mail-from'));
    return {
      ok: true,
      report: {
        type: 'feedback-report',
        key,
        date,
        originalMessageId: await originalMessageId(mail, text),
        returnPaths: mailFrom ? [mailFrom, ...returnPaths] : returnPaths,
        results: [classifyFeedback(fields)],
      },
    };
  }
  return { ok: false, reason: `a report of another type (${reportType || 'none given'})` };
}
