import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { webhookRequestOf } from '../../../web/call-webhook.ts';
import { answerCallWebhook, webhookHeaders } from '../../../web/webhook-handler.ts';

/**
 * The call-tracking webhook: no API key, its own shared secret (CALLS_WEBHOOK_SECRET). JSON
 * only — Astro's origin check lets a JSON POST without Origin through (it blocks form types).
 * See src/lib/offline/call-webhook.ts.
 * Under `npm start` the server entry answers this path before Astro (src/web/webhook-handler.ts);
 * this route serves `astro dev`.
 */
export const POST: APIRoute = async (context) => {
  const answer = await answerCallWebhook(
    await appContext(),
    '/api/webhooks/calls',
    webhookRequestOf(context.request),
    context.locals.clientAddress ?? context.clientAddress,
  );
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers: webhookHeaders(answer) });
};
