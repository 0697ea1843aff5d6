import { chmodSync, statSync } from 'node:fs';

/**
 * Footfall's files hold password, session and API-key hashes, the signing secret and every
 * subscriber's address: the database (and its -wal and -shm), backups, the secret, the outbox,
 * uploads. No other local user may read them. Every process (server, worker, CLI scripts)
 * starts with keepNewFilesPrivate(), and the places that create these files give the mode
 * themselves too, so `astro dev` and tests that skip the entry points make them private as well.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** umask 077: whatever this process creates is its owner's alone. */
export function keepNewFilesPrivate(): void {
  process.umask(0o077);
}

/**
 * A file group or others may read or write (a database made before this rule, or copied in)
 * becomes its owner's alone. True when its mode changed; a missing file is left missing.
 */
export function makeFilePrivate(file: string): boolean {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if ((mode & 0o077) === 0) return false;
  chmodSync(file, mode & 0o700);
  return true;
}
