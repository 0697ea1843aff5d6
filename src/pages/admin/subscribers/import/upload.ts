import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../../web/guard.ts';
import { BODY_LIMITS } from '../../../../web/http/body-limits.ts';
import { receiveMultipartFile } from '../../../../web/http/multipart.ts';
import { importJobs } from '#lib/subscribers/deps.ts';
import { MAX_UPLOAD_BYTES } from '#lib/subscribers/import-jobs.ts';

/**
 * The import's upload (multipart, field "file"): streamed to DATA_DIR/imports/<id>.csv, never
 * held in memory whole, then on to the import's page — its preview, or why the file is refused.
 */
export const POST: APIRoute = async (context) => {
  const user = await requirePage(context, 'subscribers.manage');
  if (user instanceof Response) return user;
  const jobs = importJobs(await appContext());
  const { id, file } = await jobs.reserve();
  const received = await receiveMultipartFile(context.request.body, context.request.headers.get('content-type'), {
    fileField: 'file',
    destination: file,
    maxFileBytes: MAX_UPLOAD_BYTES,
    maxDrainBytes: BODY_LIMITS.subscriberImport,
  });
  if (!received.ok) return context.redirect(`/admin/subscribers/import?error=${received.reason}`, 303);
  if (!received.file) return context.redirect('/admin/subscribers/import?error=no_file', 303);
  await jobs.accept({
    id,
    file,
    fileName: received.file.fileName,
    size: received.file.size,
    head: received.file.head,
    actor: `user:${user.id}`,
  });
  return context.redirect(`/admin/subscribers/import/${id}`, 303);
};
