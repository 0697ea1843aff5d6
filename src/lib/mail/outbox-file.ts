import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Outbox files are named `<UTC time>-<hash of the Message-ID>.eml`, e.g.
 * `20261126T153012.123Z-3f9a0c1d2e4b5a69.eml`: sorting the names sorts by time, and
 * only names of exactly this shape are ever read back (no path can be smuggled in).
 */
export const OUTBOX_FILE_NAME = /^(\d{8}T\d{6}\.\d{3}Z)-([0-9a-f]{16})\.eml$/;

export function isOutboxFileName(name: string): boolean {
  return OUTBOX_FILE_NAME.test(name);
}

export function outboxFileName(messageId: string, now: number): string {
  const time = new Date(now).toISOString().replace(/[-:]/g, '');
  return `${time}-${createHash('sha256').update(messageId).digest('hex').slice(0, 16)}.eml`;
}

/** The time encoded in an outbox file name. */
export function outboxFileTime(name: string): Date | undefined {
  const match = OUTBOX_FILE_NAME.exec(name);
  if (!match) return undefined;
  const t = match[1]!;
  return new Date(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 11)}:${t.slice(11, 13)}:${t.slice(13)}`);
}

/**
 * Writes a message atomically: to a hidden temporary name, then renamed into place, so a
 * reader never sees half a file. Mode 600: the outbox holds addresses and personal links.
 */
export async function writeOutboxFile(dir: string, name: string, bytes: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, bytes, { mode: 0o600, flag: 'wx' });
    await rename(temporary, path.join(dir, name));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
