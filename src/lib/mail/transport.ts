import nodemailer, { type SendMailOptions } from 'nodemailer';
import { outboxFileName, writeOutboxFile } from './outbox-file.ts';
import { createRateLimiter } from './rate-limit.ts';

/** What a send reports back, in both modes. `file` is the outbox file name (outbox mode only). */
export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
  file?: string;
}

/** Where composed messages go: an SMTP server, or the outbox folder. */
export interface MailTransport {
  readonly kind: 'smtp' | 'outbox';
  deliver(message: SendMailOptions, now: number): Promise<SentMail>;
  close(): void;
}

/**
 * A send that failed. For an SMTP answer, `responseCode` is the server's code (421, 451,
 * 550, …) and `permanent` says whether retrying the same message is pointless (5xx other
 * than 503); a dropped connection or timeout has no responseCode and is not permanent.
 */
export class MailSendError extends Error {
  override name = 'MailSendError';
  /** nodemailer's code: EENVELOPE (MAIL FROM/RCPT refused), EMESSAGE (DATA refused), ECONNECTION, ETIMEDOUT, EAUTH, … */
  readonly code: string | undefined;
  readonly responseCode: number | undefined;
  readonly response: string | undefined;
  readonly command: string | undefined;
  readonly permanent: boolean;
  constructor(message: string, details: { code?: string; responseCode?: number; response?: string; command?: string; permanent?: boolean; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.code = details.code;
    this.responseCode = details.responseCode;
    this.response = details.response;
    this.command = details.command;
    this.permanent = details.permanent ?? (details.responseCode !== undefined && details.responseCode >= 500 && details.responseCode !== 503);
  }
}

type NodemailerFailure = Error & { code?: string; responseCode?: number; response?: string; command?: string; permanent?: boolean; rejectedErrors?: NodemailerFailure[] };

function toMailSendError(error: unknown): MailSendError {
  if (!(error instanceof Error)) return new MailSendError(String(error), { cause: error });
  const failure = error as NodemailerFailure;
  // When every recipient was refused, the per-recipient error carries the RCPT answer.
  const detail = failure.responseCode === undefined ? failure.rejectedErrors?.find((e) => e.responseCode !== undefined) : undefined;
  const source = detail ?? failure;
  return new MailSendError(failure.message, {
    code: failure.code,
    responseCode: source.responseCode,
    response: source.response,
    command: source.command,
    permanent: typeof source.permanent === 'boolean' ? source.permanent : undefined,
    cause: error,
  });
}

const addresses = (list: unknown[] | undefined): string[] => (list ?? []).map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? a)));

/** nodemailer's DKIM options: sign with this key as selector._domainkey.domain. */
export interface DkimOptions {
  domainName: string;
  keySelector: string;
  /** PEM. */
  privateKey: string;
}

export interface SmtpPoolOptions {
  /** Connections kept open to the server; default 5. */
  maxConnections?: number;
  /** At most this many messages a second across the pool; unlimited when absent. */
  rateLimitPerSecond?: number;
}

/** nodemailer's pooled SMTP transport for `smtp://` / `smtps://` URLs (credentials in the URL). */
export function createSmtpTransport(smtpUrl: string, pool: SmtpPoolOptions = {}, dkim?: DkimOptions): MailTransport {
  const transporter = nodemailer.createTransport({
    url: smtpUrl,
    ...(dkim ? { dkim } : {}),
    pool: true,
    maxConnections: pool.maxConnections ?? 5,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  const acquire = pool.rateLimitPerSecond ? createRateLimiter(pool.rateLimitPerSecond) : undefined;
  return {
    kind: 'smtp',
    async deliver(message) {
      await acquire?.();
      try {
        const info = await transporter.sendMail(message);
        return { messageId: info.messageId, accepted: addresses(info.accepted), rejected: addresses(info.rejected), response: info.response };
      } catch (error) {
        throw toMailSendError(error);
      }
    },
    close() {
      transporter.close();
    },
  };
}

/**
 * The embedded outbox: nodemailer builds the exact RFC 5322 bytes (CRLF line ends) it would
 * send, and each message becomes one `.eml` file in `dir` instead.
 */
export function createOutboxTransport(dir: string, dkim?: DkimOptions): MailTransport {
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows', disableFileAccess: true, disableUrlAccess: true, ...(dkim ? { dkim } : {}) });
  return {
    kind: 'outbox',
    async deliver(message, now) {
      const info = await transporter.sendMail(message);
      const file = outboxFileName(info.messageId, now);
      await writeOutboxFile(dir, file, info.message as Buffer);
      return { messageId: info.messageId, accepted: addresses(info.envelope.to), rejected: [], response: `250 written to the outbox as ${file}`, file };
    },
    close() {
      transporter.close();
    },
  };
}
