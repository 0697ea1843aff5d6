import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { handleRelayWebhook } from '../../../web/bounce-webhooks.ts';
import { relayWebhookDeps } from '../../../web/relay-webhook-deps.ts';

/** Postmark bounces and complaints, verified as Postmark documents it: src/web/bounce-webhooks.ts. */
export const POST: APIRoute = async (context) => {
  const app = await appContext();
  const answer = await handleRelayWebhook(
    'postmark',
    relayWebhookDeps(app),
    context.request,
    context.locals.clientAddress ?? context.clientAddress,
  );
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...answer.headers },
  });
};
