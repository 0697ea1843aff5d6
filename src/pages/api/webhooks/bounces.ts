import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { BODY_LIMITS } from '../../../web/http/body-limits.ts';
import { json, readJsonObject } from '../../../web/issues-api.ts';
import { recordBounceReport, webhookSecretMatches } from '#lib/sending/bounce-webhook.ts';

/**
 * Bounces and complaints from the mail provider. No API key: the shared secret
 * BOUNCE_WEBHOOK_SECRET, as `Authorization: Bearer …` or `X-Webhook-Secret: …`.
 * Body `{email?, message_id?, type: "bounce"|"complaint", reason?}` → suppressed (a full mailbox,
 * X.2.2 in the reason, is a soft bounce: recorded, nobody suppressed).
 */
export const POST: APIRoute = async (context) => {
  const app = await appContext();
  if (!webhookSecretMatches(app.config.bounceWebhookSecret, context.request.headers)) {
    const message = app.config.bounceWebhookSecret
      ? 'Send the shared secret as "Authorization: Bearer <secret>" or "X-Webhook-Secret: <secret>".'
      : 'The bounce webhook is off: set BOUNCE_WEBHOOK_SECRET to turn it on.';
    return json({ error: 'unauthorized', message }, 401);
  }
  const body = await readJsonObject(context.request, BODY_LIMITS.webhook);
  if (!body.ok) return body.response;
  const outcome = await recordBounceReport(app.db, body.value);
  if (!outcome.ok)
    return json(
      { error: 'invalid', message: outcome.message, ...(outcome.fields ? { fields: outcome.fields } : {}) },
      400,
    );
  return json({ suppressed: outcome.suppressed, delivery_id: outcome.deliveryId });
};
