import { open, readdir, lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressObject, EmailAddress, ParsedMail } from 'mailparser';
import { isOutboxFileName, outboxFileTime } from './outbox-file.ts';
import { loadMailParser } from './mail-parser.ts';

/** One line of the outbox listing. */
export interface OutboxEntry {
  file: string;
  date: Date;
  to: string;
  subject: string;
  size: number;
  /** Which site email this is (`X-Footfall-Email`: `welcome`, `invite`, …), when the message says. */
  kind: string | undefined;
  /** The message carries List-Unsubscribe: mail to a list's subscriber. */
  listMail: boolean;
}

/** One outbox message, read back from its `.eml` file. */
export interface OutboxMessage {
  file: string;
  size: number;
  messageId: string;
  date: Date;
  from: string;
  to: string;
  replyTo: string | undefined;
  subject: string;
  html: string;
  text: string;
  /** Every header, keyed by lower-case name, values unfolded and decoded (repeated headers joined by a line break). */
  headers: Record<string, string>;
}

export class OutboxFileNameError extends Error {
  override name = 'OutboxFileNameError';
}

const HEADER_BLOCK_LIMIT = 64 * 1024;

/** `Jo Bloggs <jo@example.com>, sam@example.com`: names as written, unquoted, for reading. */
function addressText(value: AddressObject | AddressObject[] | undefined): string {
  if (!value) return '';
  const format = (a: EmailAddress): string =>
    a.group ? a.group.map(format).join(', ') : a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '');
  return (Array.isArray(value) ? value : [value]).flatMap((header) => header.value.map(format)).join(', ');
}

function isAddressObject(value: unknown): value is AddressObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as AddressObject).value) &&
    typeof (value as AddressObject).text === 'string'
  );
}

/** Names of the outbox files, newest first (the names sort by time). */
async function listOutboxFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(isOutboxFileName).sort().reverse();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The header block of a message file (up to the first empty line), without reading the body. */
async function readHeaderBlock(file: string): Promise<{ head: Buffer; size: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, HEADER_BLOCK_LIMIT));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const bytes = buffer.subarray(0, bytesRead);
    const end = bytes.indexOf('\r\n\r\n');
    return { head: end === -1 ? bytes : bytes.subarray(0, end + 4), size };
  } finally {
    await handle.close();
  }
}

// Outbox files never change once written (new mail gets a new name), so what their headers
// say is kept per path: a filtered listing reads each file's header block once per process.
const entryCache = new Map<string, OutboxEntry>();
const ENTRY_CACHE_LIMIT = 50_000;

/** The listing line of one file, from its header block; undefined when it was deleted meanwhile. */
async function readOutboxEntry(dir: string, file: string): Promise<OutboxEntry | undefined> {
  const key = path.join(dir, file);
  const cached = entryCache.get(key);
  if (cached) return cached;
  try {
    const { head, size } = await readHeaderBlock(key);
    const parsed = await (await loadMailParser())(head);
    const kind = parsed.headers.get('x-footfall-email');
    const entry: OutboxEntry = {
      file,
      date: parsed.date ?? outboxFileTime(file)!,
      to: addressText(parsed.to),
      subject: parsed.subject ?? '',
      size,
      kind: typeof kind === 'string' ? kind : undefined,
      listMail: parsed.headerLines.some((line) => line.key === 'list-unsubscribe'), // (mailparser files List-* under "list")
    };
    if (entryCache.size >= ENTRY_CACHE_LIMIT) entryCache.clear();
    entryCache.set(key, entry);
    return entry;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // deleted meanwhile
    throw error;
  }
}

/** Reads entries a few at a time (a listing of thousands must not open thousands of files at once). */
async function readOutboxEntries(dir: string, files: readonly string[]): Promise<OutboxEntry[]> {
  const entries: OutboxEntry[] = [];
  for (let i = 0; i < files.length; i += 64) {
    const read = await Promise.all(files.slice(i, i + 64).map((file) => readOutboxEntry(dir, file)));
    for (const entry of read) if (entry) entries.push(entry);
  }
  return entries;
}

/**
 * The outbox, newest first: `limit` entries after skipping `offset`, and how many there are.
 * Without `include` only the header block of each listed file is parsed; with it, every
 * file's (once per process) so that `total` and the pages count only the included ones.
 */
export async function listOutbox(
  dir: string,
  {
    limit = 50,
    offset = 0,
    include,
  }: { limit?: number; offset?: number; include?: (entry: OutboxEntry) => boolean } = {},
): Promise<{ total: number; entries: OutboxEntry[] }> {
  const files = await listOutboxFiles(dir);
  const from = Math.max(0, offset);
  const to = from + Math.max(0, limit);
  if (!include) return { total: files.length, entries: await readOutboxEntries(dir, files.slice(from, to)) };
  const included = (await readOutboxEntries(dir, files)).filter(include);
  return { total: included.length, entries: included.slice(from, to) };
}

function collectHeaders(parsed: ParsedMail): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const parsedValue = parsed.headers.get(key);
    // mailparser decodes unstructured headers (encoded words); keep its text for those and
    // for addresses, and the unfolded raw value for structured ones (dates, content types, lists).
    const raw = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    const value =
      typeof parsedValue === 'string' ? parsedValue : isAddressObject(parsedValue) ? addressText(parsedValue) : raw;
    headers[key] = key in headers ? `${headers[key]}\n${value}` : value;
  }
  return headers;
}

/**
 * One outbox message, parsed with mailparser; undefined when no such file exists.
 * `file` must be a bare outbox file name (as listOutbox returns it): anything else — a path,
 * `../secret`, an absolute path — is refused with an OutboxFileNameError before the disk is touched.
 */
export async function readOutboxMessage(dir: string, file: string): Promise<OutboxMessage | undefined> {
  if (typeof file !== 'string' || !isOutboxFileName(file)) {
    throw new OutboxFileNameError(`Not an outbox file name: ${JSON.stringify(String(file).slice(0, 120))}`);
  }
  const fullPath = path.join(dir, file);
  let bytes: Buffer;
  try {
    if (!(await lstat(fullPath)).isFile()) return undefined; // no symlinks, no directories
    bytes = await readFile(fullPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = await (await loadMailParser())(bytes);
  return {
    file,
    size: bytes.length,
    messageId: parsed.messageId ?? '',
    date: parsed.date ?? outboxFileTime(file)!,
    from: addressText(parsed.from),
    to: addressText(parsed.to),
    replyTo: parsed.replyTo ? addressText(parsed.replyTo) : undefined,
    subject: parsed.subject ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    text: parsed.text ?? '',
    headers: collectHeaders(parsed),
  };
}
