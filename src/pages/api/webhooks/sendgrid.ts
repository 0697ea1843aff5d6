import { relayWebhookRoute } from '../../../web/relay-webhook-deps.ts';

/** SendGrid bounces and complaints, verified as SendGrid documents it: src/web/bounce-webhooks.ts. */
export const POST = relayWebhookRoute('sendgrid');
