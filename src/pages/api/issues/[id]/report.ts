import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requireApi } from '../../../../web/guard.ts';
import { issueIdParam, json } from '../../../../web/issues-api.ts';
import { CURVE_SPANS, issueReport } from '#lib/reports/issue-report.service.ts';
import { callOutcomesJson, doorReportJson, issueReportJson } from '#lib/reports/report-json.ts';
import { issueCallOutcomes } from '#lib/reports/call-outcomes.service.ts';
import { issueDoorReport } from '#lib/reports/door-report.service.ts';
import { getIssueBounces } from '#lib/bounces/bounces.service.ts';
import { cadenceAdviceFor, experimentReport } from '#lib/reports/experiment-report.service.ts';

/** One sent issue's report: its numbers, curves by hour over the first week (up to now) and weekday × hour matrices, and its calls' outcomes. */
export const GET: APIRoute = async (context) => {
  const now = Date.now();
  const principal = await requireApi(context, 'reports.view', now);
  if (principal instanceof Response) return principal;
  const id = issueIdParam(context.params.id);
  const app = await appContext();
  const report = id === undefined ? undefined : await issueReport(app.db, id, { now, span: 'days' });
  if (!report)
    return json(
      {
        error: 'not_found',
        message: 'There is no sent issue with that id: an issue has a report once it has started going out.',
      },
      404,
    );
  // Bounces and complaints relays reported later (src/lib/bounces), as the report page shows them.
  const bounces = await getIssueBounces(app.db, report.issue.issueId);
  const experiment = await experimentReport(app.db, report.issue.issueId, { now });
  // Calls told apart and people through the door, as the report page shows them (its "same numbers as JSON").
  const calls = await issueCallOutcomes(app.db, report.issue.issueId);
  const door = await issueDoorReport(app.db, {
    ...report.issue,
    span: CURVE_SPANS[report.curveSpan],
    timeZone: report.timeZone,
    now,
  });
  return json({
    ...issueReportJson(report, { experiment: experiment ?? null, cadence: cadenceAdviceFor(report, experiment) }),
    bounces_reported: { ...bounces.totals, reasons: bounces.reasons },
    call_outcomes: callOutcomesJson(calls),
    people_through_the_door: doorReportJson(door),
  });
};
