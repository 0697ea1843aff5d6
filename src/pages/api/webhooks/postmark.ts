import { relayWebhookRoute } from '../../../web/relay-webhook-deps.ts';

/** Postmark bounces and complaints, verified as Postmark documents it: src/web/bounce-webhooks.ts. */
export const POST = relayWebhookRoute('postmark');
