import { relayWebhookRoute } from '../../../web/relay-webhook-deps.ts';

/** Mailgun bounces and complaints, verified as Mailgun documents it: src/web/bounce-webhooks.ts. */
export const POST = relayWebhookRoute('mailgun');
