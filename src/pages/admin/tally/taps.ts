import type { APIRoute } from 'astro';
import { jsonAnswer, readJsonBody, requireSessionEndpoint } from '../../../web/session-endpoint.ts';
import { appContext } from '#lib/app/context.ts';
import { BODY_LIMITS } from '../../../web/http/body-limits.ts';
import { receiveTaps } from '#lib/offline/tally-sync.ts';
import { getSettings } from '#lib/settings/settings.service.ts';

/** The tally page's script: queued taps (sent once each, with their original times) and undo. See src/lib/offline/tally-sync.ts. */
export const POST: APIRoute = async (context) => {
  const user = requireSessionEndpoint(context, 'tally.record');
  if (user instanceof Response) return user;
  const body = await readJsonBody(context.request, BODY_LIMITS.tallyTaps);
  if (body instanceof Response) return body;
  const app = await appContext();
  const settings = await getSettings(app.db);
  const answer = await receiveTaps(app.db, user.id, body.value, settings.timeZone);
  return jsonAnswer(answer.status, answer.body);
};
