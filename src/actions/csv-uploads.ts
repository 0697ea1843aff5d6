import { ActionError } from 'astro:actions';
import { z } from 'astro/zod';
import { appContext, type AppContext } from '../lib/app/context.ts';
import {
  deleteUpload,
  findUpload,
  MAX_OFFLINE_UPLOAD_BYTES,
  notCsvReason,
  saveUpload,
  type UploadMeta,
} from '../lib/offline/offline-uploads.ts';

/**
 * What the offline-event and door-count CSV imports share: step 1 keeps the file under DATA_DIR
 * (refused when too large, not text, or unreadable as the import reads it) and answers its id;
 * step 3 finds it again by that id.
 */

export const uploadFileInput = z.object({ file: z.instanceof(File, { error: 'Choose a CSV file to upload.' }) });

export const uploadId = z.string().regex(/^[0-9a-f]{32}$/, 'This upload is not valid; upload the file again.');

/** Keeps `file` when `inspect` reads it (else deletes it again and refuses with inspect's error). */
export async function keepCsvUpload(
  file: File,
  userId: number,
  inspect: (app: AppContext, path: string) => Promise<{ ok: true } | { ok: false; error: string }>,
): Promise<{ uploadId: string }> {
  if (file.size > MAX_OFFLINE_UPLOAD_BYTES)
    throw new ActionError({
      code: 'CONTENT_TOO_LARGE',
      message: `The file is larger than ${MAX_OFFLINE_UPLOAD_BYTES / 1_000_000} MB; split it into smaller files.`,
    });
  const bytes = new Uint8Array(await file.arrayBuffer());
  const notCsv = notCsvReason(bytes);
  if (notCsv) throw new ActionError({ code: 'BAD_REQUEST', message: notCsv });
  const app = await appContext();
  const saved = await saveUpload(app.config.dataDir, { name: file.name, bytes }, userId);
  const read = await inspect(app, saved.file);
  if (!read.ok) {
    await deleteUpload(app.config.dataDir, saved.id);
    throw new ActionError({ code: 'BAD_REQUEST', message: read.error });
  }
  return { uploadId: saved.id };
}

/** The kept upload `id`, or NOT_FOUND (uploads are kept for a day, and an import deletes its own). */
export async function keptUpload(app: AppContext, id: string): Promise<UploadMeta & { file: string }> {
  const upload = await findUpload(app.config.dataDir, id);
  if (!upload)
    throw new ActionError({
      code: 'NOT_FOUND',
      message: 'This upload is no longer here (uploads are kept for a day); upload the file again.',
    });
  return upload;
}
