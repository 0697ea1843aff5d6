import { open, readdir, lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';
import { isOutboxFileName, outboxFileTime } from './outbox-file.ts';

/** One line of the outbox listing. */
export interface OutboxEntry {
  file: string;
  date: Date;
  to: string;
  subject: string;
  size: number;
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
  const format = (a: EmailAddress): string => (a.group ? a.group.map(format).join(', ') : a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? ''));
  return (Array.isArray(value) ? value : [value]).flatMap((header) => header.value.map(format)).join(', ');
}

function isAddressObject(value: unknown): value is AddressObject {
  return typeof value === 'object' && value !== null && Array.isArray((value as AddressObject).value) && typeof (value as AddressObject).text === 'string';
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

/**
 * The outbox, newest first: `limit` entries after skipping `offset`, and how many there are.
 * Only the header block of each listed file is parsed.
 */
export async function listOutbox(dir: string, { limit = 50, offset = 0 }: { limit?: number; offset?: number } = {}): Promise<{ total: number; entries: OutboxEntry[] }> {
  const files = await listOutboxFiles(dir);
  const page = files.slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, limit));
  const entries = await Promise.all(
    page.map(async (file): Promise<OutboxEntry | undefined> => {
      try {
        const { head, size } = await readHeaderBlock(path.join(dir, file));
        const parsed = await simpleParser(head);
        return { file, date: parsed.date ?? outboxFileTime(file)!, to: addressText(parsed.to), subject: parsed.subject ?? '', size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // deleted meanwhile
        throw error;
      }
    }),
  );
  return { total: files.length, entries: entries.filter((e) => e !== undefined) };
}

function collectHeaders(parsed: ParsedMail): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const parsedValue = parsed.headers.get(key);
    // mailparser decodes unstructured headers (encoded words); keep its text for those and
    // for addresses, and the unfolded raw value for structured ones (dates, content types, lists).
    const raw = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    const value = typeof parsedValue === 'string' ? parsedValue : isAddressObject(parsedValue) ? addressText(parsedValue) : raw;
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
  const parsed = await simpleParser(bytes);
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
