import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { failureResponse, issueIdParam, json, notFound, readJsonObject } from '../../../../web/issues-api.ts';
import { parseTestRecipients, sendTestIssue } from '#lib/issues/issues.service.ts';

/** Sends a test of the issue to {to: ["a@example.com", …]} (at most 5): marked as a test, never counted. Marketer and admin keys. */
export const POST: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.send');
  if (principal instanceof Response) return principal;
  const body = await readJsonObject(context.request);
  if (!body.ok) return body.response;
  const to = body.value.to;
  if (!Array.isArray(to) || !to.every((v) => typeof v === 'string'))
    return json(
      {
        error: 'invalid',
        message: 'Please correct the fields named.',
        fields: { to: 'List the addresses as strings, e.g. {"to": ["you@example.com"]}.' },
      },
      400,
    );
  const recipients = parseTestRecipients(to);
  if (!recipients.ok) return failureResponse(recipients);
  const id = issueIdParam(context.params.id);
  if (id === undefined) return notFound();
  const app = await appContext();
  const sent = await sendTestIssue(app, id, recipients.value);
  if (!sent.ok) return failureResponse(sent);
  return json({ sent: sent.value.sent });
};
