import type { DB } from '../db/database.ts';
import { fail, ok, type Outcome } from '../outcome.ts';
import { parseTopics, TOPICS } from '../subscribers/topics.ts';
import { checkPeopleRule, PER_PERSON_OFF_MESSAGE } from '../reports/people.service.ts';
import { getSettings } from '../settings/settings.service.ts';
import {
  countAudience,
  countDeliveriesByStatus,
  countFailureReasons,
  countSentSince,
  freezeAudience,
  skipQueuedDeliveries,
} from './deliveries.repository.ts';
import { readExperiment, checkAudienceSize, type ExperimentOptions } from '../experiments/experiment.ts';
import {
  assignExperimentArms,
  createExperiment,
  sameExperiment,
  storedExperimentOptions,
} from '../experiments/assignment.ts';
import { changeExperimentState, deleteExperiment } from '../experiments/experiments.repository.ts';
import {
  changeSendState,
  deleteSend,
  findDueSends,
  findSendById,
  findSendByIssue,
  finishSendIfDone as markSendFinishedIfDone,
  insertSendIfAbsent,
  markSendStarted,
  setSendRecipients,
} from './sends.repository.ts';
import {
  parseAudience,
  type Audience,
  type DeliveryCounts,
  type IssueHooks,
  type Send,
  type SendState,
} from './sending.ts';

/** A time this close to now (or earlier) means "send now". */
const NOW_TOLERANCE_MS = 1000;
/** The furthest ahead a send may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;

/** Why a send is refused, or a due send not started, when nobody would get it. */
export const EMPTY_AUDIENCE_MESSAGE =
  'Nobody would get this issue: the audience has no active subscriber (people who paused their subscription are left out). Add or import subscribers, or choose other topics.';
const EMPTY_AT_START_REASON =
  'Not started: nobody is in the audience any more (they unsubscribed, paused or were suppressed since the send was requested). Nothing was sent. Resume once there are subscribers, or cancel to make the issue a draft again.';

export interface SendRequest {
  issueId: number;
  /** `{topics?: [...]}` from a form or JSON: checked here. */
  audience: unknown;
  /** Epoch ms; absent, null or past: now. */
  at?: number | null;
  createdBy?: number | null;
  createdByKey?: number | null;
  /**
   * The undo window: the first message goes out no sooner than this long after the request
   * (SEND_UNDO_SECONDS), so a send started by mistake can still be stopped with nothing sent.
   */
  undoMs?: number;
  /** An A/B test, a holdout or both (`{variants?, test_share?, wait_ms?, measure?, holdout_share? | holdout?}`): checked here. */
  experiment?: unknown;
}

/** What a send would be, checked but not made: the confirmation step names these. */
export interface SendReview {
  issueId: number;
  audience: Audience;
  /** When the first message would go out (a "now" send: now plus the undo window). */
  scheduledAt: number;
  /** Who would get it if it started now. */
  recipients: number;
  /** The experiment asked for, checked (absent: none). */
  experiment?: ExperimentOptions;
}

export interface SendSummary {
  sendId: number;
  issueId: number;
  state: SendState;
  audience: Audience;
  scheduledAt: number;
  /** Ledger rows once the audience is frozen; before that, how many it would be now. */
  recipients: number;
  /** False when the issue already had a send (a repeated or concurrent request): that one is answered. */
  created: boolean;
}

/**
 * Checks `{topics?: string[], behaviour?: {issue, figure, link?}}` as far as it can without the
 * database: known topics only (none or empty means every active subscriber), a behaviour that
 * is an object. checkBehaviour checks the behaviour against the database.
 */
export function readAudience(input: unknown): Outcome<Audience> {
  if (input === undefined || input === null) return ok({});
  if (typeof input !== 'object' || Array.isArray(input))
    return fail(
      'invalid',
      'The audience must be an object such as {"topics": ["guides"]} or {"behaviour": {"issue": 12, "figure": "clicked"}}, or {} for every active subscriber.',
      { field: 'audience' },
    );
  const raw = (input as { topics?: unknown }).topics;
  const behaviour = (input as { behaviour?: unknown }).behaviour;
  if (behaviour !== undefined && behaviour !== null && (typeof behaviour !== 'object' || Array.isArray(behaviour)))
    return fail(
      'invalid',
      'The audience behaviour must be an object such as {"issue": 12, "figure": "clicked", "link": 5}.',
      { field: 'audience.behaviour' },
    );
  const rule = behaviour ? { behaviour: behaviour as NonNullable<Audience['behaviour']> } : {};
  if (raw === undefined || raw === null) return ok(rule);
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string') || raw.length > 20)
    return fail('invalid', 'The audience topics must be a list of topic names.', { field: 'audience.topics' });
  const { topics, unknown } = parseTopics(raw as string[]);
  if (unknown.length > 0) return fail('invalid', `Unknown topic: ${unknown.join(', ')}.`, { field: 'audience.topics' });
  return ok({ ...(topics.length > 0 ? { topics } : {}), ...rule });
}

/** An audience's behaviour checked against the database (a figure of an issue that went out, a link of its own), with per-person tracking on; the rule as stored. */
async function checkBehaviour(db: DB, audience: Audience): Promise<Outcome<Audience>> {
  if (!audience.behaviour) return ok(audience);
  if (!(await getSettings(db)).personTracking)
    return fail('conflict', PER_PERSON_OFF_MESSAGE, { field: 'audience.behaviour' });
  const b = audience.behaviour as { issue?: unknown; figure?: unknown; link?: unknown };
  const checked = await checkPeopleRule(db, { issue: b.issue, figure: b.figure, link: b.link });
  if (!checked.ok) return { ...checked, field: `audience.behaviour.${checked.field ?? 'issue'}` };
  return ok({ ...audience, behaviour: checked.value.rule });
}

async function summarize(db: DB, send: Send, created: boolean): Promise<SendSummary> {
  const audience = parseAudience(send.audience);
  return {
    sendId: Number(send.id),
    issueId: Number(send.issue_id),
    state: send.state,
    audience,
    scheduledAt: Number(send.scheduled_at),
    recipients: send.recipients ?? (await countAudience(db, audience)),
    created,
  };
}

/**
 * Starts a send that is due: freezes the issue (hooks.prepareIssue), then in one transaction
 * moves it scheduled → running and freezes the audience into the ledger. Two callers at once
 * (the API and a worker, or two workers) start it once: only one moves the state. When the
 * issue cannot be frozen, or nobody is in the audience any more, the send is paused with the
 * reason and nothing is frozen or sent.
 */
export async function startSend(
  db: DB,
  hooks: Pick<IssueHooks, 'prepareIssue' | 'setIssueStatus'>,
  send: Send,
  now = Date.now(),
): Promise<boolean> {
  const audience = parseAudience(send.audience);
  // People chosen by what they did are chosen only while per-person tracking is on.
  if (audience.behaviour && !(await getSettings(db, { now })).personTracking) {
    await changeSendState(
      db,
      Number(send.id),
      ['scheduled'],
      'paused',
      { paused_reason: `Not started: ${PER_PERSON_OFF_MESSAGE}` },
      now,
    );
    return false;
  }
  // Nobody to send to: the issue is neither frozen nor sent (it would join the archive having reached no one).
  if ((await countAudience(db, audience)) === 0) {
    await changeSendState(db, Number(send.id), ['scheduled'], 'paused', { paused_reason: EMPTY_AT_START_REASON }, now);
    return false;
  }
  const prepared = await hooks.prepareIssue(db, Number(send.issue_id), now);
  if (!prepared.ok) {
    await changeSendState(
      db,
      Number(send.id),
      ['scheduled'],
      'paused',
      { paused_reason: `Could not start: ${prepared.message}` },
      now,
    );
    return false;
  }
  const started = await db
    .transaction()
    .execute(async (trx) => {
      if (!(await markSendStarted(trx, Number(send.id), now))) return false;
      await hooks.setIssueStatus(trx, Number(send.issue_id), ['draft', 'scheduled'], 'sending', now);
      const added = await freezeAudience(trx, { issueId: Number(send.issue_id), ...audience }, now);
      // Everyone left between the count above and now: undo the start rather than send to nobody.
      if (added === 0) throw new EmptyAudienceError();
      // An experiment's arms, in the same transaction: no ledger row is ever visible without its arm.
      await assignExperimentArms(trx, Number(send.issue_id), now);
      await setSendRecipients(trx, Number(send.id), added);
      return true;
    })
    .catch((error: unknown) => {
      if (error instanceof EmptyAudienceError) return 'empty' as const;
      throw error;
    });
  if (started === 'empty') {
    await changeSendState(db, Number(send.id), ['scheduled'], 'paused', { paused_reason: EMPTY_AT_START_REASON }, now);
    return false;
  }
  return started;
}

class EmptyAudienceError extends Error {}

/** Scheduled sends whose time came: started now (the worker calls this on every poll). */
export async function startDueSends(
  db: DB,
  hooks: Pick<IssueHooks, 'prepareIssue' | 'setIssueStatus'>,
  now = Date.now(),
): Promise<number> {
  let started = 0;
  for (const send of await findDueSends(db, now)) if (await startSend(db, hooks, send, now)) started++;
  return started;
}

/**
 * Checks a send request without making it: the audience and time are valid, the issue may be
 * sent and passes its checks, and somebody would get it. The confirmation step shows the result.
 */
export async function reviewSend(
  db: DB,
  hooks: Pick<IssueHooks, 'checkIssue'>,
  input: SendRequest,
  now = Date.now(),
): Promise<Outcome<SendReview>> {
  const read = readAudience(input.audience);
  if (!read.ok) return read;
  const audience = await checkBehaviour(db, read.value);
  if (!audience.ok) return audience;
  const experiment = readExperiment(input.experiment);
  if (!experiment.ok) return experiment;
  if (input.at !== undefined && input.at !== null && (!Number.isSafeInteger(input.at) || input.at < 0))
    return fail('invalid', 'The time must be epoch milliseconds (an integer).', { field: 'at' });
  if (input.at && input.at > now + MAX_SCHEDULE_AHEAD_MS)
    return fail('invalid', 'A send can be scheduled at most a year ahead.', { field: 'at' });
  if (await findSendByIssue(db, input.issueId))
    return fail('conflict', 'This issue already has a send: see its progress.');
  const checked = await hooks.checkIssue(db, input.issueId, experiment.value?.variants);
  if (!checked.ok) return checked;
  const recipients = await countAudience(db, audience.value);
  if (recipients === 0) return fail('conflict', EMPTY_AUDIENCE_MESSAGE, { field: 'audience' });
  if (experiment.value) {
    const big = checkAudienceSize(experiment.value, recipients);
    if (!big.ok) return big;
  }
  const requested = input.at && input.at > now + NOW_TOLERANCE_MS ? input.at : now;
  return ok({
    issueId: input.issueId,
    audience: audience.value,
    scheduledAt: Math.max(requested, now + Math.max(0, input.undoMs ?? 0)),
    recipients,
    ...(experiment.value ? { experiment: experiment.value } : {}),
  });
}

/**
 * Sends an issue now or at `at`, never sooner than the undo window allows. The issue must pass
 * its checks (hooks.checkIssue) and the audience must have somebody in it. An issue has one
 * send: a second request — repeated, or at the same moment — gets the existing one, and the
 * ledger's UNIQUE(issue_id, subscriber_id) keeps one row per recipient whatever happens.
 */
export async function requestSend(
  db: DB,
  hooks: Pick<IssueHooks, 'prepareIssue' | 'checkIssue' | 'setIssueStatus'>,
  input: SendRequest,
  now = Date.now(),
): Promise<Outcome<SendSummary>> {
  const audience = readAudience(input.audience);
  if (!audience.ok) return audience;
  const existing = await findSendByIssue(db, input.issueId);
  if (existing) return repeated(db, existing, input);
  const review = await reviewSend(db, hooks, input, now);
  if (!review.ok) {
    // Two requests at once: the other one made the send meanwhile.
    const made = review.reason === 'conflict' && (await findSendByIssue(db, input.issueId));
    return made ? repeated(db, made, input) : review;
  }
  const { scheduledAt } = review.value;
  const sendId = await db.transaction().execute(async (trx) => {
    const id = await insertSendIfAbsent(trx, {
      issue_id: input.issueId,
      audience: JSON.stringify(review.value.audience),
      state: 'scheduled',
      scheduled_at: scheduledAt,
      paused_reason: null,
      recipients: null,
      created_by: input.createdBy ?? null,
      created_by_key: input.createdByKey ?? null,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
      cancelled_at: null,
    });
    if (id !== undefined && review.value.experiment)
      await createExperiment(trx, input.issueId, review.value.experiment, now);
    if (id !== undefined && scheduledAt > now)
      await hooks.setIssueStatus(trx, input.issueId, ['draft'], 'scheduled', now);
    return id;
  });
  let send = (await findSendByIssue(db, input.issueId))!;
  if (sendId !== undefined && scheduledAt <= now) {
    await startSend(db, hooks, send, now);
    send = (await findSendById(db, sendId))!;
  }
  return ok(await summarize(db, send, sendId !== undefined));
}

/**
 * A request for an issue that already has a send: the same request again (a retry, or two at
 * once) answers that send; one asking for another experiment is refused, as the experiment
 * cannot change once the send was made.
 */
async function repeated(db: DB, send: Send, input: SendRequest): Promise<Outcome<SendSummary>> {
  const asked = readExperiment(input.experiment);
  if (!asked.ok) return asked;
  if (!sameExperiment(asked.value, await storedExperimentOptions(db, Number(send.issue_id))))
    return fail(
      'invalid',
      'The experiment cannot be changed once the send was made: stop the send (before its first message) and send again to change it.',
      { field: 'experiment' },
    );
  return ok(await summarize(db, send, false));
}

export async function pauseSend(db: DB, sendId: number, reason: string, now = Date.now()): Promise<Outcome<null>> {
  if (await changeSendState(db, sendId, ['running'], 'paused', { paused_reason: reason }, now)) return ok(null);
  return fail('conflict', 'Only a send that is under way can be paused.');
}

/** paused → running; the failures in a row start again from zero. */
export async function resumeSend(db: DB, sendId: number, now = Date.now()): Promise<Outcome<null>> {
  const send = await findSendById(db, sendId);
  if (!send) return fail('not-found', 'There is no such send.');
  const to = send.started_at === null ? 'scheduled' : 'running';
  if (await changeSendState(db, sendId, ['paused'], to, { paused_reason: null, consecutive_failures: 0 }, now))
    return ok(null);
  return fail('conflict', 'Only a paused send can be resumed.');
}

/**
 * Cancels a send. Before it started nothing was sent: the send is removed and the issue is a
 * draft again (it can be sent or scheduled anew). Once started it stops for good: nothing
 * more is sent, every delivery still waiting is skipped as cancelled (messages in flight finish).
 */
export async function cancelSend(
  db: DB,
  hooks: Pick<IssueHooks, 'setIssueStatus'>,
  sendId: number,
  now = Date.now(),
): Promise<Outcome<{ skipped: number; removed: boolean }>> {
  return db.transaction().execute(async (trx) => {
    const send = await findSendById(trx, sendId);
    if (!send) return fail('not-found', 'There is no such send.');
    if (send.started_at === null && (send.state === 'scheduled' || send.state === 'paused')) {
      await deleteSend(trx, sendId);
      await deleteExperiment(trx, Number(send.issue_id));
      await hooks.setIssueStatus(trx, Number(send.issue_id), ['scheduled'], 'draft', now);
      return ok({ skipped: 0, removed: true });
    }
    if (!(await changeSendState(trx, sendId, ['running', 'paused'], 'cancelled', { cancelled_at: now }, now))) {
      return fail('conflict', 'This send has already finished or was cancelled.');
    }
    await hooks.setIssueStatus(trx, Number(send.issue_id), ['sending', 'scheduled', 'draft'], 'cancelled', now);
    // An experiment still deciding ends with the send: nobody more gets anything.
    await changeExperimentState(trx, Number(send.issue_id), ['testing', 'waiting'], 'stopped', {
      decided_at: now,
      decided_how: 'stopped',
    });
    return ok({ skipped: await skipQueuedDeliveries(trx, Number(send.issue_id), 'cancelled'), removed: false });
  });
}

/**
 * running → finished once no delivery is queued or being sent, and the issue with it (one
 * transaction, so a crash cannot leave one without the other). True when this call finished it.
 */
export async function finishSendIfDone(
  db: DB,
  hooks: Pick<IssueHooks, 'setIssueStatus'>,
  send: { id: number; issueId: number },
  now = Date.now(),
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await markSendFinishedIfDone(trx, send, now))) return false;
    await hooks.setIssueStatus(trx, send.issueId, ['draft', 'scheduled', 'sending'], 'sent', now);
    return true;
  });
}

/** How many would get the issue now: every active subscriber who has not paused, and per topic. */
/** How many people an audience holds now (active, not paused). */
export function countRecipients(db: DB, audience: Audience): Promise<number> {
  return countAudience(db, audience);
}

export async function audienceSizes(db: DB): Promise<{ all: number; byTopic: Record<string, number> }> {
  const [all, ...perTopic] = await Promise.all([
    countAudience(db, {}),
    ...TOPICS.map((t) => countAudience(db, { topics: [t.id] })),
  ]);
  return { all, byTopic: Object.fromEntries(TOPICS.map((t, i) => [t.id, perTopic[i]!])) };
}

/**
 * The mail server's answers for the messages of an issue that did not go through (or are
 * waiting to be tried again), grouped, the most frequent first: shown to those who send.
 */
export async function sendFailureAnswers(
  db: DB,
  issueId: number,
  limit = 5,
): Promise<{ status: 'queued' | 'failed' | 'bounced'; answer: string; count: number }[]> {
  const rows = await countFailureReasons(db, issueId, limit);
  return rows.map((r) => ({ status: r.status as 'queued' | 'failed' | 'bounced', answer: r.reason, count: r.count }));
}

export async function sendOfIssue(db: DB, issueId: number): Promise<Send | undefined> {
  return findSendByIssue(db, issueId);
}

export interface SendProgress {
  send: {
    id: number;
    state: SendState;
    audience: Audience;
    scheduledAt: number;
    startedAt: number | null;
    finishedAt: number | null;
    cancelledAt: number | null;
    pausedReason: string | null;
    recipients: number | null;
  } | null;
  counts: DeliveryCounts;
  /** Messages accepted per second: over the last RATE_WINDOW_MS while running, over the whole send once done. */
  ratePerSecond: number;
  /** Seconds until every waiting delivery is sent at that rate; null when nothing is moving. */
  etaSeconds: number | null;
  /** Share of the ledger that is settled (not queued, not being sent), 0–1. */
  done: number;
}

export const RATE_WINDOW_MS = 10_000;

/** The progress of an issue's send, counted from the ledger. */
export async function getSendProgress(db: DB, issueId: number, now = Date.now()): Promise<SendProgress> {
  const [send, counts] = await Promise.all([findSendByIssue(db, issueId), countDeliveriesByStatus(db, issueId)]);
  const pending = counts.queued + counts.sending;
  let ratePerSecond = 0;
  if (send?.started_at) {
    const startedAt = Number(send.started_at);
    if (send.state === 'running') {
      const since = Math.max(startedAt, now - RATE_WINDOW_MS);
      const recent = await countSentSince(db, issueId, since);
      ratePerSecond = now > since ? recent / ((now - since) / 1000) : 0;
    } else {
      const end = Number(send.finished_at ?? send.cancelled_at ?? send.updated_at);
      ratePerSecond = end > startedAt ? counts.sent / ((end - startedAt) / 1000) : 0;
    }
  }
  return {
    send: send
      ? {
          id: Number(send.id),
          state: send.state,
          audience: parseAudience(send.audience),
          scheduledAt: Number(send.scheduled_at),
          startedAt: send.started_at === null ? null : Number(send.started_at),
          finishedAt: send.finished_at === null ? null : Number(send.finished_at),
          cancelledAt: send.cancelled_at === null ? null : Number(send.cancelled_at),
          pausedReason: send.paused_reason,
          recipients: send.recipients === null ? null : Number(send.recipients),
        }
      : null,
    counts,
    ratePerSecond: Math.round(ratePerSecond * 10) / 10,
    etaSeconds:
      pending > 0 && ratePerSecond > 0 && send?.state === 'running' ? Math.ceil(pending / ratePerSecond) : null,
    done: counts.total === 0 ? 0 : (counts.total - pending) / counts.total,
  };
}
