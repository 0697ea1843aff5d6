import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { issueIdParam, json, notFound, readJsonObject } from '../../../../web/issues-api.ts';
import { failureJson } from '#lib/sending/api.ts';
import { getIssue } from '#lib/issues/issues.service.ts';
import { pickWinner, stopExperiment } from '#lib/experiments/experiments.service.ts';

/**
 * Ends an A/B test's wait early: `{"winner": "B"}` sends variant B to the rest now;
 * `{"stop": true}` stops the test (the rest get nothing). 200 `{state}`; 400 naming the field,
 * 404 without a test, 409 once decided or stopped. Marketer and admin keys.
 */
export const POST: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.send');
  if (principal instanceof Response) return principal;
  const body = await readJsonObject(context.request);
  if (!body.ok) return body.response;
  const id = issueIdParam(context.params.id);
  const app = await appContext();
  if (id === undefined || !(await getIssue(app.db, id))) return notFound();
  const { winner, stop } = body.value;
  if ((winner === undefined) === (stop !== true))
    return json(
      {
        error: 'invalid',
        message: 'Send {"winner": "B"} to send a variant to the rest now, or {"stop": true}.',
        field: 'winner',
      },
      400,
    );
  const result =
    stop === true
      ? await stopExperiment(app.db, id)
      : typeof winner === 'string'
        ? await pickWinner(app.db, id, winner)
        : await pickWinner(app.db, id, '');
  if (!result.ok) {
    const failure = failureJson(result);
    return json(failure.body, failure.status);
  }
  return json({ issue_id: id, state: stop === true ? 'stopped' : 'sending_winner' });
};
