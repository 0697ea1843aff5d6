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
   * The relay replaces our Message-ID (Postmark): each message also carries it as Postmark
   * metadata (`X-PM-Metadata-footfall-message-id`, stripped by Postmark, given back in its bounce
   * webhook's `Metadata`), so a bounce finds its delivery. Set when the Postmark webhook is configured.
   */
  postmarkMetadata?: boolean;
}

/** The Postmark metadata header carrying our Message-ID (src/lib/bounces/providers.ts reads it back). */
export const POSTMARK_MESSAGE_ID_HEADER = 'X-PM-Metadata-footfall-message-id';

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

function composeMessage(mail: ValidatedMail, now: number, postmarkMetadata: boolean): SendMailOptions {
  const messageId = postmarkMetadata
    ? Object.entries(mail.headers).find(([name]) => name.toLowerCase() === 'message-id')?.[1]
    : undefined;
  return {
    from: mail.from,
    to: mail.to,
    ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    headers: messageId ? { ...mail.headers, [POSTMARK_MESSAGE_ID_HEADER]: messageId } : mail.headers,
    date: new Date(now),
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
      const message = composeMessage(validateOutgoingMail(mail), now, options.postmarkMetadata ?? false);
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
