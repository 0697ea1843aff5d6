import type nodemailer from 'nodemailer';
import type { SendMailOptions, Transporter } from 'nodemailer';
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
  constructor(
    message: string,
    details: {
      code?: string;
      responseCode?: number;
      response?: string;
      command?: string;
      permanent?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.code = details.code;
    this.responseCode = details.responseCode;
    this.response = details.response;
    this.command = details.command;
    this.permanent =
      details.permanent ??
      (details.responseCode !== undefined && details.responseCode >= 500 && details.responseCode !== 503);
  }
}

/**
 * True for a MailSendError from any copy of this module: the server entry's mailer and Astro's
 * bundle each load their own, so `instanceof` fails across them.
 */
export function isMailSendError(error: unknown): error is MailSendError {
  return error instanceof Error && error.name === 'MailSendError' && 'permanent' in error;
}

const shorten = (text: string) => text.replace(/\s+/g, ' ').trim();
const TLS_TROUBLE =
  /certificate|self[- ]signed|unable to (get|verify)|\bCERT_|wrong version number|SSL routines|handshake/i;

/**
 * What went wrong, as an admin can act on it: the relay's own answer when it gave one
 * ("550 5.7.1 Relaying denied"), else the connection's error ("ESOCKET: certificate has
 * expired"), with a pointer to the setting that fixes a TLS problem. At most `max` characters.
 */
export function describeMailError(error: unknown, max = 300): string {
  if (!isMailSendError(error)) return shorten(error instanceof Error ? error.message : String(error)).slice(0, max);
  // Node's advice (run with --use-system-ca) is about Node, not about Footfall's settings.
  const message = error.message.replace(/;\s*if the root CA is installed locally.*$/s, '');
  let text = error.response ? shorten(error.response) : shorten(`${error.code ?? 'error'}: ${message}`);
  if (error.code === 'ETLS') text += ' (the relay would not start TLS, and SMTP_URL asks for it: requireTLS)';
  else if (!error.response && TLS_TROUBLE.test(message))
    text +=
      ' (the relay’s TLS certificate is not trusted here: name it, or its CA, in SMTP_TLS_CA_FILE — see SMTP_URL in the README)';
  return text.slice(0, max);
}

type NodemailerFailure = Error & {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  permanent?: boolean;
  rejectedErrors?: NodemailerFailure[];
};

function toMailSendError(error: unknown): MailSendError {
  if (!(error instanceof Error)) return new MailSendError(String(error), { cause: error });
  const failure = error as NodemailerFailure;
  // When every recipient was refused, the per-recipient error carries the RCPT answer.
  const detail =
    failure.responseCode === undefined ? failure.rejectedErrors?.find((e) => e.responseCode !== undefined) : undefined;
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

/**
 * nodemailer's transporter, built on the first message: nodemailer is loaded then rather than at
 * every start of a process that may send nothing. close() before any message has nothing to close.
 */
function lazyTransporter<Info>(create: (mailer: typeof nodemailer) => Transporter<Info>) {
  let transporter: Promise<Transporter<Info>> | undefined;
  let closed = false;
  return {
    get: () =>
      (transporter ??= import('nodemailer').then(({ default: mailer }) => {
        const created = create(mailer);
        if (closed) created.close();
        return created;
      })),
    close() {
      closed = true;
      void transporter?.then((created) => created.close());
    },
  };
}

const addresses = (list: unknown[] | undefined): string[] =>
  (list ?? []).map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? a)));

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

/**
 * nodemailer's pooled SMTP transport for `smtp://` / `smtps://` URLs (credentials in the URL;
 * TLS options such as `?requireTLS=true` or `?tls.servername=relay.lan` in its query). `tlsCa`:
 * PEM certificates to trust for the relay besides the system's (a self-signed local relay).
 */
export function createSmtpTransport(
  smtpUrl: string,
  pool: SmtpPoolOptions = {},
  dkim?: DkimOptions,
  tlsCa?: string,
): MailTransport {
  const transporter = lazyTransporter((mailer) =>
    mailer.createTransport({
      url: smtpUrl,
      ...(dkim ? { dkim } : {}),
      ...(tlsCa ? { tls: { ca: tlsCa } } : {}),
      pool: true,
      maxConnections: pool.maxConnections ?? 5,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    }),
  );
  const acquire = pool.rateLimitPerSecond ? createRateLimiter(pool.rateLimitPerSecond) : undefined;
  return {
    kind: 'smtp',
    async deliver(message) {
      await acquire?.();
      const sender = await transporter.get();
      try {
        const info = await sender.sendMail(message);
        return {
          messageId: info.messageId,
          accepted: addresses(info.accepted),
          rejected: addresses(info.rejected),
          response: info.response,
        };
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
  const transporter = lazyTransporter((mailer) =>
    mailer.createTransport({
      streamTransport: true,
      buffer: true,
      newline: 'windows',
      disableFileAccess: true,
      disableUrlAccess: true,
      ...(dkim ? { dkim } : {}),
    }),
  );
  return {
    kind: 'outbox',
    async deliver(message, now) {
      const info = await (await transporter.get()).sendMail(message);
      const file = outboxFileName(info.messageId, now);
      await writeOutboxFile(dir, file, info.message as Buffer);
      return {
        messageId: info.messageId,
        accepted: addresses(info.envelope.to),
        rejected: [],
        response: `250 written to the outbox as ${file}`,
        file,
      };
    },
    close() {
      transporter.close();
    },
  };
}
