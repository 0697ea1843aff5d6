import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { issueIdParam, json, notFound } from '../../../../web/issues-api.ts';
import { getIssue } from '#lib/issues/issues.service.ts';
import { progressJson } from '#lib/sending/api.ts';
import { getSendProgress } from '#lib/sending/send.service.ts';
import { findCommitTroubles } from '#lib/sending/worker-health.ts';
import { experimentJson, getExperimentProgress } from '#lib/experiments/experiments.service.ts';

/** The issue's send and the ledger's counts: queued, sending, sent, failed, bounced, skipped; rate and time left. */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'issues.view');
  if (principal instanceof Response) return principal;
  const id = issueIdParam(context.params.id);
  const app = await appContext();
  if (id === undefined || !(await getIssue(app.db, id))) return notFound();
  const progress = await getSendProgress(app.db, id);
  return json({
    ...progressJson(id, progress, await findCommitTroubles(app.db, Date.now(), app.config.sending.leaseMs)),
    experiment: experimentJson(await getExperimentProgress(app.db, id, progress.send?.startedAt ?? null)),
  });
};
