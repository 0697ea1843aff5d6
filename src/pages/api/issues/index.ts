import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../web/guard.ts';
import { failureResponse, json, readJsonObject } from '../../../web/issues-api.ts';
import { createIssue } from '#lib/issues/issues.service.ts';
import { articleCatalog } from '#site/newsletter.ts';

/** Creates a draft from {subject, preheader?, slug?, body_markdown?, featured_articles?: [slugs]} → 201 {id, slug}. */
export const POST: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.draft');
  if (principal instanceof Response) return principal;
  const body = await readJsonObject(context.request);
  if (!body.ok) return body.response;
  const app = await appContext();
  const created = await createIssue(app.db, body.value, { articles: await articleCatalog(), createdBy: null });
  if (!created.ok) return failureResponse(created);
  return json({ id: created.value.id, slug: created.value.slug }, 201, { location: `/api/issues/${created.value.id}` });
};
