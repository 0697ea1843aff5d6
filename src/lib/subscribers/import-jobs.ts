import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DB } from '../db/database.ts';
import type { Result } from './subscribers.service.ts';
import {
  applyImport,
  inspectCsv,
  planImport,
  type ColumnMapping,
  type CsvPreview,
  type Delimiter,
  type ImportOutcome,
  type ImportPlan,
} from './import.service.ts';

/**
 * CSV imports as the admin drives them: upload → preview and mapping → dry run → apply in the
 * background with progress. Jobs live in this process's memory, keyed by a random id, with the
 * uploaded file under DATA_DIR/imports/ until the import is applied or dropped; a restart
 * forgets them (an unfinished import is simply not applied: applyImport is all or nothing).
 */

/** refused: the upload cannot be CSV (the file is deleted, `error` says why); failed: the apply failed, nothing was written. */
export type ImportJobState = 'refused' | 'uploaded' | 'planned' | 'running' | 'done' | 'failed';

export interface ImportJob {
  id: string;
  /** The uploaded file's name as the browser sent it, for display only. */
  fileName: string;
  size: number;
  createdAt: number;
  createdBy: string;
  state: ImportJobState;
  /** The delimiter the preview and mapping use (detected at upload, changeable). */
  delimiter: Delimiter;
  /** The dry run, once run; `writes` is dropped once applied (the report needs only `rejected`). */
  plan?: ImportPlan;
  consentNote?: string;
  progress: { done: number; total: number };
  outcome?: ImportOutcome;
  /** Why the upload was refused, or why the apply failed (nothing was written either way). */
  error?: string;
  finishedAt?: number;
}

export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
const JOB_ID = /^[0-9a-f]{32}$/;
const MAX_JOBS = 20;
const MAX_AGE_MS = 24 * 3_600_000;

export function isImportJobId(value: unknown): value is string {
  return typeof value === 'string' && JOB_ID.test(value);
}

/** What the first bytes say about a file that should be CSV: undefined when it looks like text. */
export function sniffNotCsv(head: Buffer): string | undefined {
  if (head.length === 0) return 'The file is empty.';
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    return 'This is a spreadsheet workbook (.xlsx or .ods) or a zip archive, not CSV. In your spreadsheet program choose “Save as” → “CSV UTF-8”, then upload that file.';
  }
  if (head.subarray(0, 5).toString('latin1') === '%PDF-')
    return 'This is a PDF document, not CSV. Export the list as CSV (comma-separated values) and upload that.';
  const utf16 = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
  if (!utf16 && head.includes(0))
    return 'This is not a text file, so it cannot be CSV. Export the list as CSV (comma-separated values) and upload that.';
  return undefined;
}

export class ImportJobs {
  readonly #jobs = new Map<string, ImportJob & { file: string | undefined }>();
  readonly #db: DB;
  readonly #dir: string;
  /** The server secret: keys the hash of a phone number column. */
  readonly #phoneKey: string | undefined;

  constructor(db: DB, dir: string, phoneKey?: string) {
    this.#db = db;
    this.#dir = dir;
    this.#phoneKey = phoneKey;
  }

  /** A fresh id and the path its upload is written to (the folder is created). Sweeps out old jobs and leftover files. */
  async reserve(now = Date.now()): Promise<{ id: string; file: string }> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await this.#sweep(now);
    const id = randomBytes(16).toString('hex');
    return { id, file: path.join(this.#dir, `${id}.csv`) };
  }

  /**
   * Takes an uploaded file: a job in the `uploaded` state with the detected delimiter, or —
   * when the file cannot be CSV (empty, a workbook, binary, a quote never closed) — in the
   * `refused` state with the reason, the file deleted. Nothing is written to the database.
   */
  async accept(
    input: { id: string; file: string; fileName: string; size: number; head: Buffer; actor: string },
    now = Date.now(),
  ): Promise<ImportJob> {
    const job: ImportJob & { file: string | undefined } = {
      id: input.id,
      fileName: input.fileName.replace(/[\0-\x1f\x7f]/g, '').slice(0, 200) || 'upload.csv',
      size: input.size,
      createdAt: now,
      createdBy: input.actor,
      state: 'uploaded',
      delimiter: ',',
      progress: { done: 0, total: 0 },
      file: input.file,
    };
    const refused = sniffNotCsv(input.head);
    const preview = refused ? undefined : await inspectCsv(input.file);
    if (refused || !preview?.ok) {
      await rm(input.file, { force: true });
      Object.assign(job, {
        state: 'refused',
        error: refused ?? (preview && !preview.ok ? preview.error : 'The file could not be read.'),
        file: undefined,
      });
    } else {
      job.delimiter = preview.value.delimiter;
    }
    this.#jobs.set(job.id, job);
    await this.#evictBeyondLimit();
    return job;
  }

  get(id: string): ImportJob | undefined {
    return isImportJobId(id) ? this.#jobs.get(id) : undefined;
  }

  /** The header and first rows, read with `delimiter` (or the job's). */
  async preview(id: string, delimiter?: Delimiter): Promise<Result<CsvPreview>> {
    const job = this.#jobs.get(id);
    if (!job?.file || (job.state !== 'uploaded' && job.state !== 'planned'))
      return { ok: false, error: 'This import is no longer waiting for a mapping.' };
    return inspectCsv(job.file, delimiter ?? job.delimiter);
  }

  /** The dry run with this mapping and consent note: counts every row, writes nothing. */
  async plan(id: string, mapping: ColumnMapping, consentNote: string, now = Date.now()): Promise<Result<ImportPlan>> {
    const job = this.#jobs.get(id);
    if (!job)
      return {
        ok: false,
        error: 'This import is gone (imports are kept for a day, and a restart forgets them). Upload the file again.',
      };
    if (!job.file || (job.state !== 'uploaded' && job.state !== 'planned'))
      return { ok: false, error: 'This import has already run.' };
    const note = consentNote.trim();
    if (!note)
      return {
        ok: false,
        error: 'A consent note is required: say where and when these people agreed to receive the newsletter.',
      };
    const planned = await planImport(this.#db, job.file, mapping, now, { phoneKey: this.#phoneKey });
    if (!planned.ok) return planned;
    Object.assign(job, {
      state: 'planned',
      delimiter: mapping.delimiter,
      plan: planned.value,
      consentNote: note,
      progress: { done: 0, total: planned.value.writes.emails.length },
    });
    return planned;
  }

  /** Starts applying the dry run in the background; the job's progress and state tell how it goes. */
  start(id: string, actor: string, now = Date.now()): Result<ImportJob> {
    const job = this.#jobs.get(id);
    if (!job)
      return {
        ok: false,
        error: 'This import is gone (imports are kept for a day, and a restart forgets them). Upload the file again.',
      };
    if (job.state === 'running' || job.state === 'done') return { ok: true, value: job };
    if ((job.state !== 'planned' && job.state !== 'failed') || !job.plan || !job.consentNote)
      return { ok: false, error: 'Run the dry run first.' };
    if (job.plan.writes.emails.length === 0)
      return { ok: false, error: 'Nothing to import: the dry run found no address to add or merge.' };
    job.state = 'running';
    job.error = undefined;
    void this.#run(job, job.plan, job.consentNote, actor, now);
    return { ok: true, value: job };
  }

  async #run(
    job: ImportJob & { file: string | undefined },
    plan: ImportPlan,
    consentNote: string,
    actor: string,
    now: number,
  ): Promise<void> {
    try {
      const applied = await applyImport(this.#db, plan, { consentNote, actor }, now, (progress) => {
        job.progress = progress;
      });
      if (!applied.ok) {
        Object.assign(job, { state: 'failed', error: applied.error, finishedAt: Date.now() });
        return;
      }
      plan.writes = { emails: [], names: [], topics: [] }; // the report needs only the rejected rows
      // The upload goes before the job says it finished: whoever sees "finished" finds no file left.
      if (job.file) await rm(job.file, { force: true });
      job.file = undefined;
      Object.assign(job, { state: 'done', outcome: applied.value, finishedAt: Date.now() });
    } catch (error) {
      console.error(`[import] job ${job.id} failed:`, error);
      Object.assign(job, {
        state: 'failed',
        error:
          'The database refused the import, so nothing was written. Try again; if it fails again, the server log says why.',
        finishedAt: Date.now(),
      });
    }
  }

  /** Forgets jobs older than a day (unless running) and files no job owns. */
  async #sweep(now: number): Promise<void> {
    for (const job of this.#jobs.values()) {
      if (job.state !== 'running' && now - job.createdAt > MAX_AGE_MS) await this.#drop(job);
    }
    const owned = new Set([...this.#jobs.values()].map((j) => j.file).filter(Boolean));
    for (const name of await readdir(this.#dir).catch(() => [] as string[])) {
      const file = path.join(this.#dir, name);
      if (owned.has(file)) continue;
      // Left by an earlier process (or an upload in flight, hence the hour's grace).
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > 3_600_000) await rm(file, { force: true });
    }
  }

  async #evictBeyondLimit(): Promise<void> {
    const idle = [...this.#jobs.values()]
      .filter((j) => j.state !== 'running')
      .sort((a, b) => a.createdAt - b.createdAt);
    while (this.#jobs.size > MAX_JOBS && idle.length > 0) await this.#drop(idle.shift()!);
  }

  async #drop(job: ImportJob & { file: string | undefined }): Promise<void> {
    this.#jobs.delete(job.id);
    if (job.file) await rm(job.file, { force: true });
  }
}
