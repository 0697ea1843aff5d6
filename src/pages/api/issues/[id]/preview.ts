import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { issueIdParam, json, notFound } from '../../../../web/issues-api.ts';
import { previewIssue } from '#lib/issues/issues.service.ts';

/**
 * {html, text, headers} exactly as a recipient gets them: tracked links, the pixel and the
 * unsubscribe links made for a sample recipient whose tokens record nothing.
 */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.view');
  if (principal instanceof Response) return principal;
  const id = issueIdParam(context.params.id);
  if (id === undefined) return notFound();
  const app = await appContext();
  const preview = await previewIssue(app.db, id, { secret: app.secret });
  if (!preview) return notFound();
  return json({ html: preview.message.html, text: preview.message.text, headers: preview.headers });
};
