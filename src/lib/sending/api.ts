import { FAILURE_STATUS, type Failure } from '../outcome.ts';
import type { SendProgress, SendSummary } from './send.service.ts';
import type { CommitTrouble } from './worker-health.ts';

/** The JSON shapes of the sending API (snake_case, times epoch ms), kept beside the domain so routes stay short. */

export function sendJson(summary: SendSummary) {
  return {
    send_id: summary.sendId,
    issue_id: summary.issueId,
    state: summary.state,
    audience: summary.audience,
    scheduled_at: summary.scheduledAt,
    recipients: summary.recipients,
    created: summary.created,
  };
}

export function progressJson(issueId: number, progress: SendProgress, troubles: readonly CommitTrouble[] = []) {
  const { send, counts } = progress;
  return {
    issue_id: issueId,
    send: send
      ? {
          id: send.id,
          state: send.state,
          audience: send.audience,
          scheduled_at: send.scheduledAt,
          started_at: send.startedAt,
          finished_at: send.finishedAt,
          cancelled_at: send.cancelledAt,
          paused_reason: send.pausedReason,
          recipients: send.recipients,
        }
      : null,
    counts,
    rate_per_second: progress.ratePerSecond,
    eta_seconds: progress.etaSeconds,
    done: progress.done,
    /** Send workers that cannot record outcomes right now (the progress above lags while there are any). */
    workers_failing: troubles.map((t) => ({
      worker: t.workerId,
      failing_since: t.since,
      failed_attempts: t.attempts,
      last_error: t.lastError,
    })),
  };
}

const ERROR_CODES: Record<Failure['reason'], string> = {
  invalid: 'invalid',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  'not-found': 'not_found',
  conflict: 'conflict',
  gone: 'gone',
  throttled: 'throttled',
};

export function failureJson(failure: Failure): {
  status: number;
  body: { error: string; message: string; field?: string };
} {
  return {
    status: FAILURE_STATUS[failure.reason],
    body: {
      error: ERROR_CODES[failure.reason],
      message: failure.message,
      ...(failure.field ? { field: failure.field } : {}),
    },
  };
}
