import { relayWebhookRoute } from '../../../web/relay-webhook-deps.ts';

/** Amazon SES (through SNS) bounces and complaints, verified as Amazon SES (through SNS) documents it: src/web/bounce-webhooks.ts. */
export const POST = relayWebhookRoute('ses');
