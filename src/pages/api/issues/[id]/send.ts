import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { issueIdParam, json, notFound, readJsonObject } from '../../../../web/issues-api.ts';
import { failureJson, sendJson } from '#lib/sending/api.ts';
import { cancelSend, requestSend, sendOfIssue } from '#lib/sending/send.service.ts';

/**
 * Sends the issue now, or at `at` (epoch ms): `{audience: {topics?: [...]}, at?}` → 202
 * `{send_id, recipients, scheduled_at, …}`. "Now" starts after the undo window
 * (SEND_UNDO_SECONDS): until `scheduled_at`, DELETE stops it with nothing sent. An empty
 * audience → 409 and nothing changes. Repeating it answers the same send. Marketer and admin keys.
 * `experiment`: an A/B test (`variants`: 2–4 of `{subject, preheader?, body_markdown?}`,
 * `test_share` 0–0.5, `wait_ms` up to 7 days, `measure` "human_clickers" | "human_openers"), a
 * holdout (`holdout_share` 0–0.5, or `holdout: {}` for the default 10 % / `holdout: {share}`), or
 * both; bad input (an unknown field too) → 400 naming the field, nothing stored.
 */
export const POST: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.send');
  if (principal instanceof Response) return principal;
  const body = await readJsonObject(context.request);
  if (!body.ok) return body.response;
  const id = issueIdParam(context.params.id);
  if (id === undefined) return notFound();
  const at = body.value.at;
  if (at !== undefined && at !== null && typeof at !== 'number')
    return json(
      {
        error: 'invalid',
        message: 'at must be a time in epoch milliseconds (a number), or left out to send now.',
        field: 'at',
      },
      400,
    );
  const app = await appContext();
  const result = await requestSend(app.db, app.issueSending, {
    issueId: id,
    audience: body.value.audience,
    at: at ?? null,
    createdByKey: principal.keyId,
    undoMs: app.config.sending.undoMs,
    experiment: body.value.experiment,
  });
  if (!result.ok) {
    const failure = failureJson(result);
    return json(failure.body, failure.status);
  }
  return json(sendJson(result.value), 202);
};

/**
 * Stops the issue's send: before its first message nothing is sent and the issue is a draft
 * again (`{removed: true}`); once started, everyone not yet sent is skipped for good
 * (`{removed: false, skipped}`). 404 without a send, 409 once it finished or was cancelled.
 */
export const DELETE: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.send');
  if (principal instanceof Response) return principal;
  const id = issueIdParam(context.params.id);
  if (id === undefined) return notFound();
  const app = await appContext();
  const send = await sendOfIssue(app.db, id);
  if (!send) return json({ error: 'not_found', message: 'This issue has no send.' }, 404);
  const result = await cancelSend(app.db, app.issueSending, Number(send.id));
  if (!result.ok) {
    const failure = failureJson(result);
    return json(failure.body, failure.status);
  }
  return json(
    { send_id: Number(send.id), issue_id: id, removed: result.value.removed, skipped: result.value.skipped },
    200,
  );
};
