import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

/** An SMTP reply the sink gives instead of accepting, e.g. `{ code: 451, message: 'Try again later' }`. */
export type SinkAnswer = null | undefined | { code: number; message: string };

export interface SmtpSinkOptions {
  /** Called at each RCPT TO: a non-null answer refuses that recipient with it (4xx, 5xx). */
  respond?: (rcpt: string) => SinkAnswer;
  /** Called at the end of DATA with the accepted recipients: a non-null answer refuses the message. */
  respondToData?: (rcpts: string[]) => SinkAnswer;
  /** At RCPT TO: true closes the connection there and then, without a reply. */
  dropConnectionFor?: (rcpt: string) => boolean;
  /**
   * TLS with this key and certificate (PEM): offered by STARTTLS, or from the first byte with
   * `implicit` (an smtps:// relay). Without it the sink speaks plain SMTP and offers no STARTTLS.
   */
  tls?: { key: string; cert: string; implicit?: boolean };
}

export interface SinkEnvelope {
  mailFrom: string;
  rcptTo: string[];
  /** When MAIL FROM arrived (epoch ms): for rate and timing assertions. */
  receivedAt: number;
  /** Whether the session was encrypted (STARTTLS or implicit TLS). */
  secure: boolean;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:PORT` (`smtps://` for implicit TLS), for createMailer or SMTP_URL. */
  url: string;
  port: number;
  /** Every accepted message, parsed with mailparser, in arrival order. */
  messages: ParsedMail[];
  /** The SMTP envelope of each message in `messages`, same order. */
  envelopes: SinkEnvelope[];
  /** The bytes of each message in `messages` as they arrived (CRLF line ends), same order: what a relay hands on. */
  raw: string[];
  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

function smtpError(answer: { code: number; message: string }): Error {
  return Object.assign(new Error(answer.message), { responseCode: answer.code });
}

/**
 * A real SMTP server on 127.0.0.1 (random port, no TLS unless given, any or no login) that keeps what it
 * receives. A message is in `messages` before the client gets its 250, so after `await send()`
 * there is no need to wait.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  const envelopes: SinkEnvelope[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  const mailStarts = new Map<string, number>();

  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    ...(options.tls
      ? { key: options.tls.key, cert: options.tls.cert, secure: options.tls.implicit ?? false }
      : { disabledCommands: ['STARTTLS'] }),
    logger: false,
    closeTimeout: 250,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'sink' });
    },
    onMailFrom(_address, session, callback) {
      mailStarts.set(session.id, Date.now());
      callback();
    },
    onRcptTo(address, session: SMTPServerSession, callback) {
      if (options.dropConnectionFor?.(address.address)) {
        for (const connection of server.connections) if (connection.id === session.id) connection._socket.destroy();
        callback(smtpError({ code: 421, message: 'Connection dropped' }));
        return;
      }
      const answer = options.respond?.(address.address);
      callback(answer ? smtpError(answer) : undefined);
    },
    onData(stream, session, callback) {
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      new Promise<Buffer>((resolve, reject) => {
        stream.once('end', () => resolve(Buffer.concat(chunks)));
        stream.once('error', reject);
      })
        .then(async (bytes) => ({ mail: await simpleParser(bytes), bytes }))
        .then(({ mail, bytes }) => {
          const answer = options.respondToData?.(rcptTo);
          if (answer) {
            callback(smtpError(answer));
            return;
          }
          messages.push(mail);
          raw.push(bytes.toString('utf8'));
          envelopes.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo,
            receivedAt: mailStarts.get(session.id) ?? Date.now(),
            secure: session.secure,
          });
          for (const wake of waiters) wake();
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `${options.tls?.implicit ? 'smtps' : 'smtp'}://127.0.0.1:${port}`,
    port,
    messages,
    envelopes,
    raw,
    waitFor(count, timeoutMs = 5000) {
      if (messages.length >= count) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(messages);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`SMTP sink: expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
