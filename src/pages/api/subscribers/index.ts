import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../web/guard.ts';
import { BODY_LIMITS } from '../../../web/http/body-limits.ts';
import { readJsonBody } from '../../../web/http/request-body.ts';
import { addSubscribersFromApi, findApiSubscriber, parseApiSubscribers } from '#lib/subscribers/api.service.ts';
import { subscriberDeps } from '#lib/subscribers/deps.ts';

const json = (body: unknown, status = 200) => Response.json(body, { status, headers: { 'cache-control': 'no-store' } });

/** `GET /api/subscribers?email=…`: one subscriber with status, topics, source and consent. */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'subscribers.manage');
  if (principal instanceof Response) return principal;
  const app = await appContext();
  const found = await findApiSubscriber(app.db, context.url.searchParams.get('email') ?? '');
  if (!found.ok) return json({ error: 'invalid_email', message: found.error }, 400);
  if (!found.subscriber) return json({ error: 'not_found', message: 'No subscriber has this address.' }, 404);
  return json({ subscriber: found.subscriber });
};

/**
 * `POST /api/subscribers`: one `{email, name?, topics?, status?, consent_note?}` or an array of
 * up to 10,000. Answers 200 with a result per row (`ok` and `outcome`, or `error`); 400 when
 * the body is not JSON of that shape (a message per field), 413 over 10 MB.
 */
export const POST: APIRoute = async (context) => {
  const principal = await requireApi(context, 'subscribers.manage');
  if (principal instanceof Response) return principal;
  const body = await readJsonBody(context.request, BODY_LIMITS.apiSubscribers);
  if (!body.ok)
    return json(
      {
        error: body.status === 413 ? 'too_large' : body.status === 415 ? 'unsupported_media_type' : 'invalid_json',
        message: body.message,
      },
      body.status,
    );
  const parsed = parseApiSubscribers(body.value);
  if (!parsed.ok) return json({ error: 'invalid_body', message: parsed.message, fields: parsed.fields }, 400);
  const app = await appContext();
  const results = await addSubscribersFromApi(await subscriberDeps(app), parsed.rows, `api-key:${principal.keyId}`);
  return json({ results });
};
