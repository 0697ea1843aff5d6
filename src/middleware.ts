import { defineMiddleware } from 'astro:middleware';
import { appContext } from './lib/app/context.ts';
import { recordPageView } from './lib/analytics/page-views.service.ts';
import { isCountedPath } from './lib/analytics/page-view.ts';

/** Counts server-rendered public pages; prerendered ones are counted by the server entry. */
export const onRequest = defineMiddleware(async (context, next) => {
  const response = await next();
  if (
    context.isPrerendered ||
    context.request.method !== 'GET' ||
    response.status !== 200 ||
    !response.headers.get('content-type')?.startsWith('text/html') ||
    !isCountedPath(context.url.pathname)
  ) {
    return response;
  }
  const app = await appContext();
  const headers = context.request.headers;
  try {
    await recordPageView(app, {
      url: context.url.pathname + context.url.search,
      referrer: headers.get('referer') ?? undefined,
      userAgent: headers.get('user-agent') ?? undefined,
      ownHost: headers.get('host') ?? undefined,
      ip: context.locals.clientAddress ?? context.clientAddress,
    });
  } catch {
    // Logged by the writer; the page is still served.
  }
  return response;
});
