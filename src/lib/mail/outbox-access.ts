import path from 'node:path';
import { listOutbox, OutboxFileNameError, readOutboxMessage, type OutboxEntry, type OutboxMessage } from './outbox.ts';

/**
 * Who may read which outbox message. Account mail (invitations, password resets) carries a
 * link that signs someone in, so only those who manage users may read it; everyone else
 * with the outbox permission sees subscriber mail only. That is decided from what a message
 * says about itself, and fails closed: a message that names no site email (`X-Footfall-Email`)
 * and is not list mail (`List-Unsubscribe`) is account-mail-readers only.
 */
const ACCOUNT_EMAILS: ReadonlySet<string> = new Set(['invite', 'password-reset']);

export function mayReadOutboxMessage(
  message: { kind: string | undefined; listMail: boolean },
  mayReadAccountMail: boolean,
): boolean {
  if (mayReadAccountMail) return true;
  if (message.kind !== undefined) return !ACCOUNT_EMAILS.has(message.kind);
  return message.listMail;
}

/** The outbox folder of a data directory (where the mailer writes without SMTP_URL). */
export function outboxFolder(dataDir: string): string {
  return path.join(dataDir, 'outbox');
}

/**
 * One message for a reader: undefined when there is no such file, when the name is not an
 * outbox file name (`../secret`), or when the reader may not see it — the same answer each
 * time, so a file name cannot be probed.
 */
export async function readOutboxMessageFor(
  dir: string,
  file: string,
  mayReadAccountMail: boolean,
): Promise<OutboxMessage | undefined> {
  let message: OutboxMessage | undefined;
  try {
    message = await readOutboxMessage(dir, file);
  } catch (error) {
    if (error instanceof OutboxFileNameError) return undefined;
    throw error;
  }
  if (!message) return undefined;
  const kind = message.headers['x-footfall-email'];
  return mayReadOutboxMessage({ kind, listMail: 'list-unsubscribe' in message.headers }, mayReadAccountMail)
    ? message
    : undefined;
}

/** The listing a reader may see, newest first. */
export function listOutboxFor(
  dir: string,
  page: { limit: number; offset: number },
  mayReadAccountMail: boolean,
): Promise<{ total: number; entries: OutboxEntry[] }> {
  return listOutbox(
    dir,
    mayReadAccountMail ? page : { ...page, include: (entry) => mayReadOutboxMessage(entry, false) },
  );
}

/**
 * The message's HTML as the outbox viewer serves it (in a sandboxed frame, under a CSP that
 * allows no script): links open in a new tab, outside the sandbox.
 */
export function htmlForViewer(html: string): string {
  const base = '<base target="_blank">';
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (head) => head + base) : base + html;
}
