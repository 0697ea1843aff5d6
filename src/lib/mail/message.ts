import { parseMailbox, isValidEmailAddress, type Mailbox } from '../text/mailbox.ts';

export type { Mailbox } from '../text/mailbox.ts';
import { deriveTextFromHtml } from './plain-text.ts';
import type { TextTransferEncoding } from './transfer-encoding.ts';

/** One email to one recipient, as the rest of Footfall hands it to the mailer. */
export interface OutgoingMail {
  /**
   * One address: best as a mailbox object (`{ name: 'Ann <Sales>', address: 'ann@example.com' }`),
   * whose name the mailer quotes or encodes whatever it holds; or as text, `jo@example.com` or
   * `"Jo Bloggs" <jo@example.com>`.
   */
  to: string | Mailbox;
  from: string | Mailbox;
  replyTo?: string | Mailbox;
  subject: string;
  html: string;
  /** Derived from `html` when absent. */
  text?: string;
  headers?: Record<string, string>;
  /** Adds `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058). */
  listUnsubscribe?: { url: string; mailto?: string };
  /** The envelope sender (SMTP MAIL FROM, where bounces go) when it is not `from`: a VERP return path (mail/verp.ts). */
  envelopeFrom?: string;
  /**
   * The bodies' transfer encodings, when the caller has decided them as the mailer would
   * (mail/transfer-encoding.ts: an issue's, once from its template); the mailer decides the rest.
   */
  transferEncoding?: BodyTransferEncodings;
}

export interface BodyTransferEncodings {
  html?: TextTransferEncoding | undefined;
  text?: TextTransferEncoding | undefined;
}

/** A mail that passed validateOutgoingMail: addresses parsed, text part present, list headers set. */
export interface ValidatedMail {
  to: Mailbox;
  from: Mailbox;
  replyTo?: Mailbox;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
  envelopeFrom?: string;
  transferEncoding?: BodyTransferEncodings;
}

export class InvalidMailError extends Error {
  override name = 'InvalidMailError';
  /** The field that failed: `to`, `subject`, `header X-Foo`, `listUnsubscribe.url`, … */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field} ${message}`);
    this.field = field;
  }
}

// Headers the mail's own fields set; taking them from `headers` would bypass the checks
// (Bcc, To) or break the MIME structure (Content-Type).
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'sender',
  'subject',
  'date',
  'return-path',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);
const HEADER_NAME = /^[!-9;-~]+$/; // printable ASCII without the colon (RFC 5322 ftext)
/** Far beyond any person's or company's name; encoded, it still folds into header lines. */
const MAX_DISPLAY_NAME = 500;

/** Refuses what could smuggle a header line: CR, LF, NUL (and other control characters). */
function refuseControlCharacters(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new InvalidMailError(
      field,
      `contains a line break or NUL, which could inject headers; refused: ${JSON.stringify(value.slice(0, 120))}`,
    );
  }
  if (/[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(value)) {
    throw new InvalidMailError(field, `contains a control character; refused: ${JSON.stringify(value.slice(0, 120))}`);
  }
}

function readMailbox(field: string, value: unknown): Mailbox {
  if (value !== null && typeof value === 'object') return readMailboxObject(field, value);
  if (typeof value !== 'string') throw new InvalidMailError(field, 'is missing');
  refuseControlCharacters(field, value);
  const parsed = parseMailbox(value);
  if (!parsed.ok) throw new InvalidMailError(field, parsed.reason);
  return parsed.mailbox;
}

/** A mailbox object: any name the mailer can encode (no control characters, no broken Unicode), one valid address. */
function readMailboxObject(field: string, value: Partial<Mailbox>): Mailbox {
  const { name = '', address } = value;
  if (typeof address !== 'string') throw new InvalidMailError(field, 'has no address');
  if (typeof name !== 'string') throw new InvalidMailError(`${field} name`, 'must be text');
  refuseControlCharacters(field, address);
  refuseControlCharacters(`${field} name`, name);
  if (!name.isWellFormed())
    throw new InvalidMailError(`${field} name`, 'contains broken Unicode (half of a character)');
  if (name.length > MAX_DISPLAY_NAME)
    throw new InvalidMailError(`${field} name`, `is longer than ${MAX_DISPLAY_NAME} characters`);
  const trimmed = address.trim();
  if (!isValidEmailAddress(trimmed))
    throw new InvalidMailError(field, `is not a valid email address (${JSON.stringify(trimmed.slice(0, 80))})`);
  return { name: name.trim(), address: trimmed };
}

function readHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    refuseControlCharacters('header name', name);
    if (!HEADER_NAME.test(name))
      throw new InvalidMailError(`header ${JSON.stringify(name)}`, 'is not a valid header name');
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      throw new InvalidMailError(
        `header ${name}`,
        'is set from the mail fields (to, from, replyTo, subject), not from headers',
      );
    if (typeof value !== 'string') throw new InvalidMailError(`header ${name}`, 'must be a string');
    refuseControlCharacters(`header ${name}`, value);
    out[name] = value;
  }
  return out;
}

/** `<https://…/unsubscribe/…>, <mailto:unsubscribe@…>` for List-Unsubscribe. */
function listUnsubscribeValue(list: { url: string; mailto?: string }): string {
  refuseControlCharacters('listUnsubscribe.url', list.url);
  let url: URL;
  try {
    url = new URL(list.url);
  } catch {
    throw new InvalidMailError(
      'listUnsubscribe.url',
      `is not an absolute URL: ${JSON.stringify(list.url.slice(0, 120))}`,
    );
  }
  // RFC 8058 wants HTTPS; plain http is let through for local installs (http://127.0.0.1:4321).
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidMailError('listUnsubscribe.url', `must be an https URL (got ${url.protocol})`);
  const parts = [`<${url.href}>`];
  if (list.mailto !== undefined) {
    refuseControlCharacters('listUnsubscribe.mailto', list.mailto);
    const mailto = list.mailto.replace(/^mailto:/i, '');
    const [address, query] = mailto.split('?', 2) as [string, string | undefined];
    if (!isValidEmailAddress(address))
      throw new InvalidMailError(
        'listUnsubscribe.mailto',
        `is not a valid email address (${JSON.stringify(address.slice(0, 80))})`,
      );
    if (query !== undefined && /[\s<>,]/.test(query))
      throw new InvalidMailError('listUnsubscribe.mailto', 'has characters a mailto: query cannot carry unencoded');
    parts.push(`<mailto:${mailto}>`);
  }
  return parts.join(', ');
}

/**
 * Checks a mail before anything is sent or written, and completes it: every address is one
 * valid mailbox, no address, subject or header can carry a line break (header injection),
 * the text part is derived from the HTML when absent, and the RFC 8058 one-click
 * unsubscribe headers are added when `listUnsubscribe` is given. Throws InvalidMailError
 * naming the field.
 */
export function validateOutgoingMail(mail: OutgoingMail): ValidatedMail {
  const to = readMailbox('to', mail.to);
  const from = readMailbox('from', mail.from);
  const replyTo = mail.replyTo === undefined ? undefined : readMailbox('replyTo', mail.replyTo);
  if (typeof mail.subject !== 'string' || mail.subject.trim() === '') throw new InvalidMailError('subject', 'is empty');
  refuseControlCharacters('subject', mail.subject);
  if (typeof mail.html !== 'string' || mail.html.trim() === '') throw new InvalidMailError('html', 'is empty');
  if (mail.text !== undefined && typeof mail.text !== 'string') throw new InvalidMailError('text', 'must be a string');

  const headers = readHeaders(mail.headers);
  if (mail.listUnsubscribe) {
    if (Object.keys(headers).some((name) => /^list-unsubscribe(-post)?$/i.test(name))) {
      throw new InvalidMailError('headers', 'set List-Unsubscribe through listUnsubscribe, not both');
    }
    headers['List-Unsubscribe'] = listUnsubscribeValue(mail.listUnsubscribe);
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }

  let envelopeFrom: string | undefined;
  if (mail.envelopeFrom !== undefined) {
    refuseControlCharacters('envelopeFrom', mail.envelopeFrom);
    if (!isValidEmailAddress(mail.envelopeFrom))
      throw new InvalidMailError(
        'envelopeFrom',
        `is not a valid email address (${JSON.stringify(mail.envelopeFrom.slice(0, 80))})`,
      );
    envelopeFrom = mail.envelopeFrom;
  }

  return {
    to,
    from,
    ...(replyTo ? { replyTo } : {}),
    subject: mail.subject,
    html: mail.html,
    text: mail.text ?? deriveTextFromHtml(mail.html),
    headers,
    ...(envelopeFrom ? { envelopeFrom } : {}),
    // A derived text part is not the one the caller decided an encoding for.
    ...(mail.transferEncoding
      ? { transferEncoding: mail.text === undefined ? { html: mail.transferEncoding.html } : mail.transferEncoding }
      : {}),
  };
}
