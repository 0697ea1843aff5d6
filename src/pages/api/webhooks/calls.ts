import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { handleCallWebhook } from '../../../web/call-webhook.ts';
import { getSettings } from '#lib/settings/settings.service.ts';

/**
 * The call-tracking webhook: no API key, its own shared secret (CALLS_WEBHOOK_SECRET). JSON
 * only — Astro's origin check lets a JSON POST without Origin through (it blocks form types).
 * See src/lib/offline/call-webhook.ts.
 */
export const POST: APIRoute = async (context) => {
  const app = await appContext();
  const settings = await getSettings(app.db);
  const answer = await handleCallWebhook(
    {
      db: app.db,
      webhookSecret: app.config.callsWebhookSecret,
      serverSecret: app.secret,
      timeZone: settings.timeZone,
      rateLimits: app.rateLimits,
    },
    context.request,
    context.locals.clientAddress ?? context.clientAddress,
  );
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...answer.headers },
  });
};
