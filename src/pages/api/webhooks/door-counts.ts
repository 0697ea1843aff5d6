import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { getSettings } from '#lib/settings/settings.service.ts';
import { handleDoorCountsWebhook } from '../../../web/door-counts-webhook.ts';

/** Door counters' interval counts: its own shared secret (DOOR_COUNTS_WEBHOOK_SECRET). See src/web/door-counts-webhook.ts. */
export const POST: APIRoute = async (context) => {
  const app = await appContext();
  const settings = await getSettings(app.db);
  const answer = await handleDoorCountsWebhook(
    {
      db: app.db,
      webhookSecret: app.config.doorCountsWebhookSecret,
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
