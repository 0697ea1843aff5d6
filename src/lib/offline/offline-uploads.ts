import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Uploaded CSV files of offline events, kept under DATA_DIR/offline-imports/ between the
 * upload, the dry run and the import (each a request of its own), and deleted a day later.
 * Each upload is named by a random id, which is all a page or link carries.
 */

/** Astro's actions read at most 1 MiB; this leaves room for the form around the file (~20,000 rows). */
export const MAX_OFFLINE_UPLOAD_BYTES = 1_000_000;
const KEEP_MS = 24 * 3_600_000;
const UPLOAD_ID = /^[0-9a-f]{32}$/;

export interface UploadMeta {
  id: string;
  fileName: string;
  size: number;
  uploadedAt: number;
  uploadedBy: number;
}

export function uploadsDir(dataDir: string): string {
  return path.join(dataDir, 'offline-imports');
}

export function isUploadId(value: unknown): value is string {
  return typeof value === 'string' && UPLOAD_ID.test(value);
}

/** Why these bytes are not a CSV file, in words; undefined when they look like text. */
export function notCsvReason(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'The file is empty.';
  const head = Buffer.from(bytes.subarray(0, 8));
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    return 'This is a spreadsheet workbook (.xlsx or .ods) or a zip archive, not CSV. In your spreadsheet program choose “Save as” → “CSV UTF-8”, then upload that file.';
  }
  if (head.equals(Buffer.from('d0cf11e0a1b11ae1', 'hex')))
    return 'This is an old Excel workbook (.xls), not CSV. Save it as “CSV UTF-8” and upload that file.';
  if (head.subarray(0, 5).equals(Buffer.from('%PDF-'))) return 'This is a PDF, not CSV.';
  const sample = bytes.subarray(0, 4096);
  const utf16 = (sample[0] === 0xff && sample[1] === 0xfe) || (sample[0] === 0xfe && sample[1] === 0xff);
  if (utf16) return 'The file is UTF-16 text. Save it as “CSV UTF-8” and upload it again.';
  if (sample.includes(0)) return 'This is not a text file. Upload a CSV file.';
  return undefined;
}

/** Stores an upload; answers its id. Uploads older than a day are swept out first. */
export async function saveUpload(
  dataDir: string,
  file: { name: string; bytes: Uint8Array },
  uploadedBy: number,
  now = Date.now(),
): Promise<UploadMeta & { file: string }> {
  const dir = uploadsDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await sweepUploads(dataDir, now);
  const meta: UploadMeta = {
    id: randomBytes(16).toString('hex'),
    fileName: file.name.replace(/[^\p{L}\p{N} ._()-]/gu, '_').slice(0, 120) || 'upload.csv',
    size: file.bytes.length,
    uploadedAt: now,
    uploadedBy,
  };
  const stored = path.join(dir, `${meta.id}.csv`);
  await writeFile(stored, file.bytes, { mode: 0o600 });
  await writeFile(path.join(dir, `${meta.id}.json`), JSON.stringify(meta), { mode: 0o600 });
  return { ...meta, file: stored };
}

/** The upload's file path and details; undefined for an unknown, malformed or expired id. */
export async function findUpload(
  dataDir: string,
  id: unknown,
  now = Date.now(),
): Promise<(UploadMeta & { file: string }) | undefined> {
  if (!isUploadId(id)) return undefined;
  const dir = uploadsDir(dataDir);
  try {
    const meta = JSON.parse(await readFile(path.join(dir, `${id}.json`), 'utf8')) as UploadMeta;
    if (now - meta.uploadedAt > KEEP_MS) return undefined;
    const file = path.join(dir, `${id}.csv`);
    await stat(file);
    return { ...meta, file };
  } catch {
    return undefined;
  }
}

export async function deleteUpload(dataDir: string, id: string): Promise<void> {
  if (!isUploadId(id)) return;
  const dir = uploadsDir(dataDir);
  await Promise.all([
    rm(path.join(dir, `${id}.csv`), { force: true }),
    rm(path.join(dir, `${id}.json`), { force: true }),
  ]);
}

async function sweepUploads(dataDir: string, now: number): Promise<void> {
  const dir = uploadsDir(dataDir);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, name);
    const info = await stat(full).catch(() => undefined);
    if (info && now - info.mtimeMs > KEEP_MS) await rm(full, { force: true });
  }
}
