import type { ImapFlow } from 'imapflow';
import type { DB } from '../../db/database.ts';
import { readVerpAddress } from '../../mail/verp.ts';
import { recordBounce } from '../bounces.service.ts';
import {
  countMailboxBounces,
  ensureMailboxRow,
  findMailboxStatus,
  recordMailboxRead,
  releaseMailboxLease,
  takeMailboxLease,
} from './mailbox.repository.ts';
import { readMailboxMessage, type ParsedReport } from './reports.ts';

/** The mailbox to read: its URL (credentials inside) and the folders messages are moved to. */
export interface MailboxSettings {
  url: string;
  processedFolder: string;
  otherFolder: string;
  /** PEM certificates to trust for the IMAP server besides the system's (a self-signed local server). */
  tlsCa?: string | undefined;
}

export interface MailboxDeps {
  db: DB;
  secret: string;
  /** BOUNCE_VERP_ADDRESS: the base of every delivery's return path, when VERP is on. */
  verpAddress?: string | undefined;
  log?: (line: string) => void;
}

export interface PollOptions {
  /** How long the lease lasts if this reader dies mid-read (it is given back at the end). */
  leaseMs?: number;
  /** At most this many messages a read; the rest wait for the next. */
  maxMessages?: number;
  /** Larger messages are moved aside unread. */
  maxBytes?: number;
  /** IMAP connection and socket timeouts. */
  timeoutMs?: number;
}

export interface PollResult {
  /** Another process holds the lease: nothing was read. */
  locked: boolean;
  /** Reports processed and moved to the processed folder. */
  reports: number;
  /** Other messages moved to the other folder. */
  others: number;
  /** Bounces and complaints recorded now (a repeat of one already recorded is not). */
  recorded: number;
  duplicates: number;
  error?: string;
}

export const MAILBOX_LEASE_MS = 10 * 60_000;
const MAX_MESSAGES = 200;
const MAX_BYTES = 5 * 1024 * 1024;

interface Endpoint {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  folder: string;
}

function endpoint(url: string): Endpoint {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    folder: decodeURIComponent(u.pathname.replace(/^\/+/, '')) || 'INBOX',
  };
}

/** The mailbox's name in the status and in event keys: user@host:port/folder — never the password. */
export function mailboxName(url: string): string {
  const e = endpoint(url);
  return `${e.user}@${e.host}:${e.port}/${e.folder}`;
}

const describe = (error: unknown): string => {
  const e = error as { message?: string; responseText?: string; code?: string };
  const text = e?.responseText || e?.message || String(error);
  return `${e?.code ? `${e.code}: ` : ''}${text}`.replace(/\s+/g, ' ').trim().slice(0, 300);
};

/** The delivery a report's VERP return path names, if VERP is on and a token verifies. */
function verpDelivery(deps: MailboxDeps, report: ParsedReport): number | undefined {
  if (!deps.verpAddress) return undefined;
  for (const address of report.returnPaths) {
    const id = readVerpAddress(deps.verpAddress, deps.secret, address);
    if (id !== undefined) return id;
  }
  return undefined;
}

async function recordReport(
  deps: MailboxDeps,
  mailbox: string,
  report: ParsedReport,
  now: number,
): Promise<{ recorded: number; duplicates: number }> {
  const deliveryId = verpDelivery(deps, report);
  const at = report.date !== undefined && report.date <= now ? report.date : now;
  let recorded = 0;
  let duplicates = 0;
  for (const [index, result] of report.results.entries()) {
    if (!result.kind) continue;
    const outcome = await recordBounce(
      deps.db,
      {
        kind: result.kind,
        source: 'mailbox',
        ...(report.originalMessageId ? { messageId: report.originalMessageId } : {}),
        ...(result.email ? { email: result.email } : {}),
        ...(deliveryId !== undefined ? { deliveryId } : {}),
        ...(result.reason ? { reason: result.reason } : {}),
        eventKey: `${mailbox}:${report.key}:${result.email?.toLowerCase() ?? index}`,
        at,
      },
      now,
    );
    if (outcome.duplicate) duplicates++;
    else if (outcome.recorded) recorded++;
  }
  return { recorded, duplicates };
}

async function ensureFolder(client: ImapFlow, folder: string): Promise<void> {
  const folders = await client.list();
  if (folders.some((f) => f.path === folder || f.name === folder)) return;
  await client.mailboxCreate(folder);
}

/**
 * One read of the bounce mailbox, by whoever holds its lease (a row in `bounce_mailboxes`, so
 * one process at a time whatever the number of workers): each report is parsed and recorded
 * through the one recording service (`recordBounce`, keyed by the mailbox and the report's own
 * Message-ID, so reading it again records nothing), then moved to the processed folder;
 * anything else (not a report, unreadable, too large) is moved to the other folder, so a person
 * finds it there and it is not read again. The status Settings shows is updated either way;
 * when the mailbox cannot be reached, the error is all that changes.
 */
export async function pollBounceMailbox(
  deps: MailboxDeps,
  settings: MailboxSettings,
  holder: string,
  now = Date.now(),
  options: PollOptions = {},
): Promise<PollResult> {
  const mailbox = mailboxName(settings.url);
  const result: PollResult = { locked: false, reports: 0, others: 0, recorded: 0, duplicates: 0 };
  await ensureMailboxRow(deps.db, mailbox);
  if (!(await takeMailboxLease(deps.db, mailbox, holder, now, now + (options.leaseMs ?? MAILBOX_LEASE_MS))))
    return { ...result, locked: true };
  const e = endpoint(settings.url);
  const timeout = options.timeoutMs ?? 30_000;
  // Loaded on the first poll, not at every server start: most installs read no bounce mailbox.
  const { ImapFlow } = await import('imapflow');
  const client = new ImapFlow({
    host: e.host,
    port: e.port,
    secure: e.secure,
    auth: { user: e.user, pass: e.pass },
    logger: false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    ...(settings.tlsCa ? { tls: { ca: settings.tlsCa } } : {}),
  });
  // A dropped connection is reported as an event as well; the awaited command rejects with it.
  client.on('error', () => {});
  try {
    await client.connect();
    await ensureFolder(client, settings.processedFolder);
    await ensureFolder(client, settings.otherFolder);
    const lock = await client.getMailboxLock(e.folder);
    try {
      const opened = client.mailbox;
      const uids = opened && opened.exists > 0 ? (await client.search({ all: true }, { uid: true })) || [] : [];
      for (const uid of uids.slice(0, options.maxMessages ?? MAX_MESSAGES)) {
        const head = await client.fetchOne(String(uid), { size: true }, { uid: true });
        const size = head ? (head.size ?? 0) : 0;
        let report: ParsedReport | undefined;
        let why: string;
        if (size > (options.maxBytes ?? MAX_BYTES)) why = `too large (${size} bytes)`;
        else {
          const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
          const read = message && message.source ? await readMailboxMessage(message.source) : undefined;
          if (read?.ok) report = read.report;
          why = read && !read.ok ? read.reason : 'gone';
        }
        if (report) {
          const done = await recordReport(deps, mailbox, report, now);
          result.recorded += done.recorded;
          result.duplicates += done.duplicates;
          await client.messageMove(String(uid), settings.processedFolder, { uid: true });
          result.reports++;
        } else {
          deps.log?.(`[bounces] ${mailbox}: message ${uid} moved to "${settings.otherFolder}": ${why}`);
          await client.messageMove(String(uid), settings.otherFolder, { uid: true });
          result.others++;
        }
      }
    } finally {
      lock.release();
    }
    await client.logout();
    await recordMailboxRead(deps.db, mailbox, now, result, null);
  } catch (error) {
    result.error = describe(error);
    client.close();
    await recordMailboxRead(deps.db, mailbox, now, result, result.error);
  } finally {
    await releaseMailboxLease(deps.db, mailbox, holder);
  }
  return result;
}

export interface MailboxStatus {
  configured: boolean;
  /** user@host:port/folder (no password). */
  mailbox?: string;
  processedFolder?: string;
  otherFolder?: string;
  pollMs?: number;
  lastPollAt: number | null;
  lastSuccessAt: number | null;
  reports: number;
  others: number;
  lastError: string | null;
  lastErrorAt: number | null;
  verp: boolean;
  /** Bounce records from the mailbox by kind (a direct count of bounce_events). */
  bounces: { hard: number; soft: number; complaint: number };
}

/** What Settings shows about the bounce mailbox (read-only; the password never appears). */
export async function bounceMailboxStatus(
  db: DB,
  config: {
    url: string | undefined;
    pollMs: number;
    processedFolder: string;
    otherFolder: string;
    verpAddress: string | undefined;
  },
): Promise<MailboxStatus> {
  const empty = {
    lastPollAt: null,
    lastSuccessAt: null,
    reports: 0,
    others: 0,
    lastError: null,
    lastErrorAt: null,
    bounces: await countMailboxBounces(db),
  };
  if (!config.url) return { configured: false, verp: config.verpAddress !== undefined, ...empty };
  const mailbox = mailboxName(config.url);
  const row = await findMailboxStatus(db, mailbox);
  return {
    configured: true,
    mailbox,
    processedFolder: config.processedFolder,
    otherFolder: config.otherFolder,
    pollMs: config.pollMs,
    verp: config.verpAddress !== undefined,
    ...empty,
    ...(row && {
      lastPollAt: row.lastPollAt,
      lastSuccessAt: row.lastSuccessAt,
      reports: row.reports,
      others: row.others,
      lastError: row.lastError,
      lastErrorAt: row.lastErrorAt,
    }),
  };
}
