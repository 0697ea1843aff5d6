import type { SendMailOptions } from 'nodemailer';
import { validateOutgoingMail, type OutgoingMail, type ValidatedMail } from './message.ts';
import {
  createOutboxTransport,
  createSmtpTransport,
  type DkimOptions,
  type MailTransport,
  type SentMail,
  type SmtpPoolOptions,
} from './transport.ts';
import type { TextTransferEncoding } from './transfer-encoding.ts';

export type { SentMail } from './transport.ts';

export interface MailerOptions {
  /** `smtp://user:pass@host:587` or `smtps://…`; without it mail goes to the outbox. */
  smtpUrl?: string | undefined;
  /** Where outbox mode writes `.eml` files (created on the first send), e.g. DATA_DIR/outbox. */
  outboxDir: string;
  pool?: SmtpPoolOptions;
  /** DKIM-sign every message (SMTP and outbox alike) when set. */
  dkim?: DkimOptions | undefined;
  /** PEM certificates to trust for the SMTP relay besides the system's (SMTP_TLS_CA_FILE). */
  tlsCa?: string | undefined;
  /**
   * Relays whose bounce webhooks are configured (src/web/bounce-webhooks.ts): each message also
   * carries our Message-ID where that relay hands it back on every event, for relays that
   * replace the Message-ID (Postmark) or leave it out of some events (SendGrid's spam reports):
   * Postmark metadata `X-PM-Metadata-footfall-message-id`, SendGrid's SMTP API unique argument
   * `footfall_message_id` (`X-SMTPAPI`), Mailgun's user variable `footfall-message-id`
   * (`X-Mailgun-Variables`). Each relay strips its own header; the value is the Message-ID the
   * recipient sees anyway.
   */
  relayMetadata?: { postmark?: boolean; sendgrid?: boolean; mailgun?: boolean };
}

/** The headers carrying our Message-ID to each relay's events (src/lib/bounces/providers.ts reads them back). */
export function relayMetadataHeaders(
  messageId: string,
  relays: NonNullable<MailerOptions['relayMetadata']>,
): Record<string, string> {
  return {
    ...(relays.postmark ? { 'X-PM-Metadata-footfall-message-id': messageId } : {}),
    ...(relays.sendgrid ? { 'X-SMTPAPI': JSON.stringify({ unique_args: { footfall_message_id: messageId } }) } : {}),
    ...(relays.mailgun ? { 'X-Mailgun-Variables': JSON.stringify({ 'footfall-message-id': messageId }) } : {}),
  };
}

export interface Mailer {
  readonly mode: 'smtp' | 'outbox';
  /**
   * Validates (InvalidMailError: nothing is sent or written), then sends over SMTP or writes
   * to the outbox. SMTP refusals reject with a MailSendError carrying `responseCode`.
   */
  send(mail: OutgoingMail, now?: number): Promise<SentMail>;
  /** Waits for sends in flight, then closes the SMTP pool. Later sends are refused. */
  close(): Promise<void>;
}

/** A body as nodemailer takes it: with its transfer encoding when decided, so nodemailer does not count it again. */
const bodyPart = (content: string, encoding: TextTransferEncoding | undefined) =>
  encoding ? { content, contentTransferEncoding: encoding } : content;

function composeMessage(mail: ValidatedMail, now: number, relays: MailerOptions['relayMetadata']): SendMailOptions {
  const messageId =
    relays && (relays.postmark || relays.sendgrid || relays.mailgun)
      ? Object.entries(mail.headers).find(([name]) => name.toLowerCase() === 'message-id')?.[1]
      : undefined;
  return {
    from: mail.from,
    to: mail.to,
    ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
    subject: mail.subject,
    html: bodyPart(mail.html, mail.transferEncoding?.html),
    text: bodyPart(mail.text, mail.transferEncoding?.text),
    // Prepared: sent as they are (short ASCII), never MIME-encoded, so the relay can read its JSON.
    headers:
      messageId && relays
        ? {
            ...mail.headers,
            ...Object.fromEntries(
              Object.entries(relayMetadataHeaders(messageId, relays)).map(([name, value]) => [
                name,
                { prepared: true, value },
              ]),
            ),
          }
        : mail.headers,
    date: new Date(now),
    // A VERP return path: MAIL FROM (and so Return-Path) is the per-delivery address, the From header stays.
    ...(mail.envelopeFrom ? { envelope: { from: mail.envelopeFrom, to: mail.to.address } } : {}),
  };
}

/** One mailer per process: pooled SMTP when an SMTP URL is configured, the outbox folder otherwise. */
export function createMailer(options: MailerOptions): Mailer {
  const transport: MailTransport = options.smtpUrl
    ? createSmtpTransport(options.smtpUrl, options.pool, options.dkim, options.tlsCa)
    : createOutboxTransport(options.outboxDir, options.dkim);
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  return {
    mode: transport.kind,
    async send(mail, now = Date.now()) {
      if (closed) throw new Error('The mailer is closed: the process is shutting down.');
      const message = composeMessage(validateOutgoingMail(mail), now, options.relayMetadata);
      const sending = transport.deliver(message, now);
      inFlight.add(sending);
      try {
        return await sending;
      } finally {
        inFlight.delete(sending);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlight]);
      transport.close();
    },
  };
}
