import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { webhookRequestOf } from '../../../web/call-webhook.ts';
import { answerCallWebhook, webhookHeaders } from '../../../web/webhook-handler.ts';

/**
 * The Twilio call webhook: no API key, the provider's signature instead. See src/web/provider-call-webhooks.ts.
 * Under `npm start` the server entry answers this path before Astro (src/web/webhook-handler.ts);
 * this route serves `astro dev`.
 */
export const POST: APIRoute = async (context) => {
  const answer = await answerCallWebhook(
    await appContext(),
    '/api/webhooks/twilio',
    webhookRequestOf(context.request),
    context.locals.clientAddress ?? context.clientAddress,
  );
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers: webhookHeaders(answer) });
};
