import type { APIRoute } from 'astro';
import { jsonAnswer, requireSessionEndpoint } from '../../../web/session-endpoint.ts';
import { appContext } from '#lib/app/context.ts';
import { mappingFromFields } from '#lib/offline/import-mapping.ts';
import { offlineRejectedRowsCsv, planOfflineImport } from '#lib/offline/offline-import.service.ts';
import { findUpload } from '#lib/offline/offline-uploads.ts';
import { getSettings } from '#lib/settings/settings.service.ts';

/** The dry run's rejected rows as a CSV download: ?upload=<id> and the mapping fields of the dry run. */
export const GET: APIRoute = async (context) => {
  const user = requireSessionEndpoint(context, 'offline-events.manage');
  if (user instanceof Response) return user;
  const app = await appContext();
  const params = Object.fromEntries(context.url.searchParams);
  const upload = await findUpload(app.config.dataDir, params.upload);
  if (!upload)
    return jsonAnswer(404, { error: 'not_found', message: 'This upload is no longer here; upload the file again.' });
  const mapping = mappingFromFields(params);
  if (!mapping)
    return jsonAnswer(400, {
      error: 'bad_mapping',
      message: 'Give the mapping of the dry run (delimiter, time, kind, …).',
    });
  const plan = await planOfflineImport(app.db, upload.file, mapping, {
    timeZone: (await getSettings(app.db)).timeZone,
  });
  if (!plan.ok) return jsonAnswer(400, { error: 'unreadable', message: plan.error });
  const name =
    upload.fileName
      .replace(/\.[^.]*$/, '')
      .replace(/[^\w.-]+/g, '-')
      .slice(0, 60) || 'import';
  return new Response(offlineRejectedRowsCsv(plan.value), {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}-rejected-rows.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
};
