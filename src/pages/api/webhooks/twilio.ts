import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { handleTwilioWebhook } from '../../../web/provider-call-webhooks.ts';
import { getSettings } from '#lib/settings/settings.service.ts';

/** The Twilio call webhook: no API key, the provider's signature instead. See src/web/provider-call-webhooks.ts. */
export const POST: APIRoute = async (context) => {
  const app = await appContext();
  const settings = await getSettings(app.db);
  const answer = await handleTwilioWebhook(
    {
      db: app.db,
      serverSecret: app.secret,
      timeZone: settings.timeZone,
      rateLimits: app.rateLimits,
      siteUrl: settings.siteUrl,
      twilioAuthToken: app.config.twilioAuthToken,
      callrailSigningKey: app.config.callrailSigningKey,
    },
    context.request,
    context.locals.clientAddress ?? context.clientAddress,
  );
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...answer.headers },
  });
};
