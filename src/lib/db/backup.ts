import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { makeFilePrivate, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../security/private-files.ts';

export interface BackupResult {
  file: string;
  pages: number;
  bytes: number;
  integrity: string;
}

/**
 * An online, consistent copy of a live SQLite database through SQLite's backup API (never a
 * file copy, which can catch the database between a write and its WAL checkpoint). Pages
 * are copied in one step, so writers elsewhere cannot keep restarting it; the copy is
 * then checked with PRAGMA integrity_check. The copy is its owner's alone (mode 600), as the
 * database is.
 */
export async function backupSqlite(source: string, destination: string): Promise<BackupResult> {
  if (!existsSync(source)) throw new Error(`no database at ${source}`);
  const target = path.resolve(destination);
  if (target === path.resolve(source)) throw new Error('the backup must go to another file');
  if (existsSync(target)) throw new Error(`${target} exists already; choose a new file name`);
  mkdirSync(path.dirname(target), { recursive: true, mode: PRIVATE_DIR_MODE });
  closeSync(openSync(target, 'wx', PRIVATE_FILE_MODE)); // SQLite writes into the empty file, keeping its mode
  const db = new BetterSqlite3(source, { fileMustExist: true, timeout: 5000 });
  try {
    let totalPages: number;
    try {
      ({ totalPages } = await db.backup(target, { progress: ({ totalPages: total }) => Math.max(total, 100) }));
    } catch (error) {
      rmSync(target, { force: true }); // no half copy left behind
      throw error;
    }
    const copy = new BetterSqlite3(target, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE'); // a self-contained single file
      const integrity = String(copy.pragma('integrity_check', { simple: true }));
      const bytes =
        Number(copy.pragma('page_count', { simple: true })) * Number(copy.pragma('page_size', { simple: true }));
      makeFilePrivate(target);
      return { file: target, pages: totalPages, bytes, integrity };
    } finally {
      copy.close();
    }
  } finally {
    db.close();
  }
}
