import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../../helpers/sending.ts';
import type { DB } from '#lib/db/database.ts';
import { createMailer, type Mailer } from '#lib/mail/mailer.ts';
import { cancelSend, getSendProgress, requestSend, startSend } from '#lib/sending/send.service.ts';
import { findSendByIssue } from '#lib/sending/sends.repository.ts';
import { createIssueSendingPort } from '#lib/issues/sending-port.ts';
import { SendWorker } from '#lib/sending/worker.ts';
import {
  armPlan,
  armSizes,
  assignArms,
  DEFAULT_HOLDOUT_SHARE,
  minimumAudience,
  readExperiment,
  REST_WAITS_UNTIL,
} from '#lib/experiments/experiment.ts';
import { EXPERIMENT_FORM_DEFAULTS } from '#admin/experiment-form.ts';
import {
  getExperimentProgress,
  pickWinner,
  runExperimentChore,
  stopExperiment,
} from '#lib/experiments/experiments.service.ts';
import { countDeliveriesByIssue } from '#lib/reports/reports.repository.ts';

const SECRET = 'experiment-test-secret-experiment-000000';
const hooks = createIssueSendingPort({ secret: SECRET, knownPaths: async () => undefined });
const HOUR = 3_600_000;

describe('arm sizes and assignment (pure)', () => {
  it('splits by the largest remainder: sizes add up, variants differ by at most one', () => {
    const plan = armPlan({ variants: 3, testShare: 0.2, holdoutShare: 0.1 });
    for (const n of [0, 1, 7, 99, 100, 101, 1234, 99_999]) {
      const sizes = armSizes(plan, n);
      expect([...sizes.values()].reduce((a, b) => a + b, 0)).toBe(n);
      const variants = ['A', 'B', 'C'].map((k) => sizes.get(k as 'A')!);
      expect(Math.max(...variants) - Math.min(...variants)).toBeLessThanOrEqual(1);
    }
    // By hand: 101 × 0.2 / 3 = 6.733… each, holdout 10.1, rest 70.7: whole parts 6 + 6 + 6 + 10 + 70 = 98;
    // the 3 left go to the largest fractions (.733, .733, .733 before .7 and .1).
    expect(Object.fromEntries(armSizes(plan, 101))).toEqual({ A: 7, B: 7, C: 7, holdout: 10, rest: 70 });
    // 0.29 × 100 is 29, not 28.999…
    expect(Object.fromEntries(armSizes(armPlan({ variants: 0, testShare: 0, holdoutShare: 0.29 }), 100))).toEqual({
      holdout: 29,
      rest: 71,
    });
  });

  it('names the smallest audience with ten in every variant and in the holdout', () => {
    // 97: 9.7, 9.7 and 77.6 → 9 + 9 + 77, the 2 left to A and B (.7 before .6). 96: .6, .6, .8 → the rest first, B gets 9.
    expect(minimumAudience(armPlan({ variants: 2, testShare: 0.2, holdoutShare: 0 }))).toBe(97);
    expect(Object.fromEntries(armSizes(armPlan({ variants: 2, testShare: 0.2, holdoutShare: 0 }), 96))).toEqual({
      A: 10,
      B: 9,
      rest: 77,
    });
    expect(minimumAudience(armPlan({ variants: 0, testShare: 0, holdoutShare: 0.1 }))).toBe(95);
    expect(armSizes(armPlan({ variants: 0, testShare: 0, holdoutShare: 0.1 }), 95).get('holdout')).toBe(10);
    expect(armSizes(armPlan({ variants: 0, testShare: 0, holdoutShare: 0.1 }), 94).get('holdout')).toBe(9);
  });

  it('is reproducible from the seed, whatever order the people come in, and another seed shuffles', () => {
    const plan = armPlan({ variants: 2, testShare: 0.4, holdoutShare: 0.2 });
    const ids = Array.from({ length: 500 }, (_, i) => i * 7 + 3);
    const once = assignArms('seed-1', plan, ids);
    const again = assignArms('seed-1', plan, [...ids].reverse());
    expect(Object.fromEntries(again)).toEqual(Object.fromEntries(once));
    expect(new Set([...once.values()].flat()).size).toBe(500);
    expect(assignArms('seed-2', plan, ids).get('A')).not.toEqual(once.get('A'));
  });

  it('refuses bad experiments, naming the field', () => {
    const v = (n: number) => Array.from({ length: n }, (_, i) => ({ subject: `Subject ${i}` }));
    const cases: [unknown, string][] = [
      [{ variants: v(1), test_share: 0.2, wait_ms: HOUR }, 'experiment.variants'],
      [{ variants: v(5), test_share: 0.2, wait_ms: HOUR }, 'experiment.variants'],
      [
        { variants: [{ subject: 'A' }, { subject: '  ' }], test_share: 0.2, wait_ms: HOUR },
        'experiment.variants.1.subject',
      ],
      [{ variants: v(2), test_share: 0, wait_ms: HOUR }, 'experiment.test_share'],
      [{ variants: v(2), test_share: 0.51, wait_ms: HOUR }, 'experiment.test_share'],
      [{ variants: v(2), test_share: -0.1, wait_ms: HOUR }, 'experiment.test_share'],
      [{ variants: v(2), test_share: 0.2, wait_ms: 0 }, 'experiment.wait_ms'],
      [{ variants: v(2), test_share: 0.2, wait_ms: 7 * 24 * HOUR + 1 }, 'experiment.wait_ms'],
      [{ variants: v(2), test_share: 0.2, wait_ms: HOUR, measure: 'opens' }, 'experiment.measure'],
      [{ holdout_share: 0.6 }, 'experiment.holdout_share'],
      [{ holdout_share: -0.1 }, 'experiment.holdout_share'],
      [{}, 'experiment'],
      ['yes', 'experiment'],
    ];
    for (const [input, field] of cases) {
      const read = readExperiment(input);
      expect(read.ok, JSON.stringify(input)).toBe(false);
      if (!read.ok) expect(read.field, JSON.stringify(input)).toBe(field);
    }
    expect(
      readExperiment({ variants: v(4), test_share: 0.5, wait_ms: 7 * 24 * HOUR, holdout_share: 0.5 }),
    ).toMatchObject({
      ok: false,
    });
    expect(
      readExperiment({ variants: v(4), test_share: 0.5, wait_ms: 7 * 24 * HOUR, holdout_share: 0.4 }),
    ).toMatchObject({
      ok: true,
    });
    expect(readExperiment(null)).toEqual({ ok: true, value: null });
  });

  it('a holdout without a share is the default 10 % (the send page’s too); misspelt or doubled fields are refused, not ignored', () => {
    const v = (n: number) => Array.from({ length: n }, (_, i) => ({ subject: `Subject ${i}` }));
    expect(DEFAULT_HOLDOUT_SHARE).toBe(0.1);
    expect(EXPERIMENT_FORM_DEFAULTS.holdoutShare).toBe('10');
    for (const holdout of [{}, true, { share: null }])
      expect(readExperiment({ holdout }), JSON.stringify(holdout)).toMatchObject({
        ok: true,
        value: { holdoutShare: 0.1, variants: [] },
      });
    expect(readExperiment({ holdout: { share: 0.25 } })).toMatchObject({ ok: true, value: { holdoutShare: 0.25 } });
    expect(readExperiment({ variants: v(2), test_share: 0.2, wait_ms: HOUR, holdout: {} })).toMatchObject({
      ok: true,
      value: { holdoutShare: 0.1, testShare: 0.2 },
    });
    expect(readExperiment({ variants: v(2), test_share: 0.2, wait_ms: HOUR, holdout: false })).toMatchObject({
      ok: true,
      value: { holdoutShare: 0 },
    });
    const refused: [unknown, string][] = [
      [{ holdout: { share: 0.6 } }, 'experiment.holdout.share'],
      [{ holdout: { share: 0 } }, 'experiment.holdout.share'],
      [{ holdout: { sahre: 0.2 } }, 'experiment.holdout.sahre'],
      [{ holdout: 0.2 }, 'experiment.holdout'],
      [{ holdout: {}, holdout_share: 0.2 }, 'experiment.holdout_share'],
      [{ holdout_shares: 0.2 }, 'experiment.holdout_shares'],
      [{ variants: v(2), test_share: 0.2, wait_ms: HOUR, holdot: {} }, 'experiment.holdot'],
    ];
    for (const [input, field] of refused) {
      const read = readExperiment(input);
      expect(read.ok, JSON.stringify(input)).toBe(false);
      if (!read.ok) expect(read.field, JSON.stringify(input)).toBe(field);
    }
  });
});

const running: { workers: SendWorker[]; mailers: Mailer[]; sinks: SmtpSink[] } = {
  workers: [],
  mailers: [],
  sinks: [],
};
afterEach(async () => {
  for (const w of running.workers.splice(0)) await w.stop();
  for (const m of running.mailers.splice(0)) await m.close();
  for (const s of running.sinks.splice(0)) await s.close();
});

/** The workers' clock: the tests move it forward past an A/B test's wait (time passed in, as the worker passes its own to the chore). */
let shift = 0;
const clock = () => Date.now() + shift;
beforeEach(() => {
  shift = 0;
});

async function sinkAndWorker(db: DB): Promise<SmtpSink> {
  const sink = await startSmtpSink();
  running.sinks.push(sink);
  const mailer = createMailer({
    smtpUrl: sink.url,
    outboxDir: mkdtempSync(path.join(tmpdir(), 'footfall-outbox-')),
    pool: { maxConnections: 3 },
  });
  running.mailers.push(mailer);
  const worker = new SendWorker({
    db,
    mailer,
    hooks,
    concurrency: 3,
    leaseMs: 30_000,
    pollMs: 20,
    retryBaseMs: 5,
    maxAttempts: 4,
    pauseAfterFailures: 1000,
    log: () => {},
    clock,
  });
  await worker.start();
  running.workers.push(worker);
  return sink;
}

interface ArmRow {
  id: number;
  subscriber_id: number;
  arm: string | null;
  status: string;
  next_attempt_at: number;
  email: string;
}

async function armsOf(db: DB, issueId: number): Promise<ArmRow[]> {
  const rows = await db
    .selectFrom('deliveries')
    .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
    .select([
      'deliveries.id',
      'deliveries.subscriber_id',
      'deliveries.arm',
      'deliveries.status',
      'deliveries.next_attempt_at',
      'subscribers.email',
    ])
    .where('deliveries.issue_id', '=', issueId)
    .execute();
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    subscriber_id: Number(r.subscriber_id),
    next_attempt_at: Number(r.next_attempt_at),
  }));
}

const AB = {
  variants: [
    { subject: 'Springs are in: variant A', preheader: 'Plain' },
    {
      subject: 'Half-price springs: variant B',
      preheader: 'Bold',
      body_markdown: 'Springs at **half price**. [See](/)',
    },
  ],
  test_share: 0.4,
  wait_ms: 4 * HOUR,
};

describeEachDatabase('experiments on a send', (db) => {
  beforeEach(async () => {
    await db().deleteFrom('subscribers').execute();
  });

  it('assigns every recipient one arm when the audience freezes, as the stored seed says; sizes by largest remainder', async () => {
    const issueId = await createDraftIssue(db());
    await seedSubscribers(db(), 103, { email: (i) => `arm${i}@example.com` });
    const sent = await requestSend(db(), hooks, { issueId, audience: {}, experiment: { ...AB, holdout_share: 0.2 } });
    expect(sent).toMatchObject({ ok: true, value: { state: 'running', recipients: 103 } });
    const rows = await armsOf(db(), issueId);
    expect(rows).toHaveLength(103);
    const experiment = await db()
      .selectFrom('experiments')
      .selectAll()
      .where('issue_id', '=', issueId)
      .executeTakeFirstOrThrow();
    const expected = assignArms(
      experiment.seed,
      armPlan({ variants: 2, testShare: 0.4, holdoutShare: 0.2 }),
      rows.map((r) => r.subscriber_id),
    );
    // 103 × 0.2 = 20.6 each for A, B and the holdout; the rest 41.2: 21, 21, 20, 41 by the largest remainder.
    expect(Object.fromEntries([...expected].map(([k, v]) => [k, v.length]))).toEqual({
      A: 21,
      B: 21,
      holdout: 20,
      rest: 41,
    });
    for (const [arm, ids] of expected)
      expect(
        rows
          .filter((r) => r.arm === arm)
          .map((r) => r.subscriber_id)
          .sort((a, b) => a - b),
      ).toEqual([...ids].sort((a, b) => a - b));
    expect(rows.filter((r) => r.arm === 'holdout').every((r) => r.status === 'held_out')).toBe(true);
    expect(
      rows
        .filter((r) => r.arm === 'rest')
        .every((r) => r.status === 'queued' && r.next_attempt_at === REST_WAITS_UNTIL),
    ).toBe(true);
    const arms = await db()
      .selectFrom('experiment_arms')
      .select(['arm', 'size'])
      .where('issue_id', '=', issueId)
      .execute();
    expect(Object.fromEntries(arms.map((a) => [a.arm, Number(a.size)]))).toEqual({
      A: 21,
      B: 21,
      holdout: 20,
      rest: 41,
    });
  });

  it('sends each variant with its own subject, holds the rest until the wait ends, never mails the held out, then sends the winner once to exactly the rest', async () => {
    const issueId = await createDraftIssue(db(), 'The issue’s own subject');
    await seedSubscribers(db(), 100, { email: (i) => `ab${i}@example.com` });
    const sink = await sinkAndWorker(db());
    const sent = await requestSend(db(), hooks, { issueId, audience: {}, experiment: { ...AB, holdout_share: 0.1 } });
    expect(sent.ok).toBe(true);
    const rows = await armsOf(db(), issueId);
    const inArm = (arm: string) => new Set(rows.filter((r) => r.arm === arm).map((r) => r.email));
    // Variants: 20 each; then nothing more (the rest wait).
    await sink.waitFor(40, 20_000);
    // Every variant message sent: the test waits (the chore decides nothing before the wait ends).
    await eventually(async () => {
      expect((await runExperimentChore(db(), Date.now())).filter((d) => d.issueId === issueId)).toEqual([]);
      return (await getExperimentProgress(db(), issueId, null))?.state === 'waiting';
    }, 'the test to wait');
    expect(sink.messages).toHaveLength(40);
    for (const [i, m] of sink.messages.entries()) {
      const to = sink.envelopes[i]!.rcptTo[0]!;
      expect(m.subject).toBe(inArm('A').has(to) ? 'Springs are in: variant A' : 'Half-price springs: variant B');
      if (inArm('B').has(to)) expect(String(m.html)).toContain('half price');
      else expect(String(m.html)).not.toContain('half price');
    }
    expect(new Set(sink.envelopes.flatMap((e) => e.rcptTo))).toEqual(new Set([...inArm('A'), ...inArm('B')]));
    // The figures of the ledger leave the held out out of every count.
    const progress = await getSendProgress(db(), issueId);
    expect(progress.counts).toMatchObject({ sent: 40, queued: 50, total: 90 });
    expect((await countDeliveriesByIssue(db(), [issueId]))[0]).toMatchObject({
      recipients: 90,
      delivered: 40,
      skipped: 0,
    });

    // B's readers clicked (the ledger's first click), A's did not: B wins when the wait ends.
    await db()
      .updateTable('deliveries')
      .set({ first_clicked_at: Date.now() })
      .where('issue_id', '=', issueId)
      .where('arm', '=', 'B')
      .execute();
    const started = Number((await findSendByIssue(db(), issueId))!.started_at);
    const mine = (decided: { issueId: number }[]) => decided.filter((d) => d.issueId === issueId);
    expect(mine(await runExperimentChore(db(), started + 4 * HOUR - 1))).toEqual([]);
    shift = started + 4 * HOUR - Date.now();
    const [decided, other] = await Promise.all([runExperimentChore(db(), clock()), runExperimentChore(db(), clock())]);
    const again = await runExperimentChore(db(), clock());
    expect(mine([...decided, ...other, ...again])).toEqual([{ issueId, winner: 'B', how: 'auto' }]);
    await eventually(
      async () => (await getSendProgress(db(), issueId)).send?.state === 'finished',
      'the send to finish',
    );
    expect(sink.messages).toHaveLength(90);
    const winnerMail = sink.messages.slice(40);
    expect(new Set(winnerMail.map((m) => m.subject))).toEqual(new Set(['Half-price springs: variant B']));
    const got = sink.envelopes.flatMap((e) => e.rcptTo);
    expect(new Set(got.slice(40))).toEqual(inArm('rest'));
    expect(got.length).toBe(new Set(got).size);
    expect(got.filter((to) => inArm('holdout').has(to))).toEqual([]);
    await runExperimentChore(db(), clock());
    expect(await getExperimentProgress(db(), issueId, started)).toMatchObject({
      state: 'finished',
      winner: 'B',
      decidedHow: 'auto',
      waitEndsAt: started + 4 * HOUR,
    });
    expect((await armsOf(db(), issueId)).filter((r) => r.arm === 'holdout').every((r) => r.status === 'held_out')).toBe(
      true,
    );
  });

  it('within noise the first variant goes out; a holdout without an A/B test sends the issue to the rest at once', async () => {
    const sink = await sinkAndWorker(db());
    const issueId = await createDraftIssue(db(), 'Holdout only');
    await seedSubscribers(db(), 100, { email: (i) => `ho${i}@example.com` });
    expect((await requestSend(db(), hooks, { issueId, audience: {}, experiment: { holdout_share: 0.1 } })).ok).toBe(
      true,
    );
    await eventually(
      async () => (await getSendProgress(db(), issueId)).send?.state === 'finished',
      'the send to finish',
    );
    const rows = await armsOf(db(), issueId);
    expect(rows.filter((r) => r.arm === 'holdout')).toHaveLength(10);
    expect(new Set(sink.envelopes.flatMap((e) => e.rcptTo))).toEqual(
      new Set(rows.filter((r) => r.arm === 'rest').map((r) => r.email)),
    );
    expect(new Set(sink.messages.map((m) => m.subject))).toEqual(new Set(['Holdout only']));
    await runExperimentChore(db(), Date.now());
    expect((await getExperimentProgress(db(), issueId, null))?.state).toBe('finished');

    await db().deleteFrom('subscribers').execute();
    const noise = await createDraftIssue(db(), 'Noise');
    await seedSubscribers(db(), 100, { email: (i) => `nz${i}@example.com` });
    expect((await requestSend(db(), hooks, { issueId: noise, audience: {}, experiment: AB })).ok).toBe(true);
    await sink.waitFor(sink.messages.length + 40, 20_000);
    // The variants' messages settled in the ledger (the decision waits for them).
    await eventually(async () => {
      await runExperimentChore(db(), Date.now());
      return (await getExperimentProgress(db(), noise, null))?.state === 'waiting';
    }, 'the test to wait');
    const started = Number((await findSendByIssue(db(), noise))!.started_at);
    shift = started + 4 * HOUR - Date.now();
    expect((await runExperimentChore(db(), clock())).filter((d) => d.issueId === noise)).toEqual([
      { issueId: noise, winner: 'A', how: 'within_noise' },
    ]);
    await eventually(async () => (await getSendProgress(db(), noise)).send?.state === 'finished', 'the send to finish');
    const rest = new Set((await armsOf(db(), noise)).filter((r) => r.arm === 'rest').map((r) => r.email));
    const toRest = sink.messages.filter((_, i) => rest.has(sink.envelopes[i]!.rcptTo[0]!));
    expect(toRest).toHaveLength(60);
    expect(new Set(toRest.map((m) => m.subject))).toEqual(new Set(['Springs are in: variant A']));
  });

  it('the marketer picks a winner early, or stops (the rest get nothing); cancelling before the start removes the experiment', async () => {
    const first = await createDraftIssue(db(), 'Picked');
    await seedSubscribers(db(), 100, { email: (i) => `pk${i}@example.com` });
    expect((await requestSend(db(), hooks, { issueId: first, audience: {}, experiment: AB })).ok).toBe(true);
    expect(await pickWinner(db(), first, 'E')).toMatchObject({ ok: false, field: 'arm' });
    expect(await pickWinner(db(), first, 'B')).toEqual({ ok: true, value: null });
    expect(await pickWinner(db(), first, 'A')).toMatchObject({ ok: false, reason: 'conflict' });
    expect(await stopExperiment(db(), first)).toMatchObject({ ok: false, reason: 'conflict' });
    const rest = (await armsOf(db(), first)).filter((r) => r.arm === 'rest');
    expect(rest.every((r) => r.next_attempt_at < REST_WAITS_UNTIL)).toBe(true);
    expect(await getExperimentProgress(db(), first, null)).toMatchObject({
      state: 'sending_winner',
      winner: 'B',
      decidedHow: 'picked',
    });

    const second = await createDraftIssue(db(), 'Stopped');
    expect((await requestSend(db(), hooks, { issueId: second, audience: {}, experiment: AB })).ok).toBe(true);
    expect(await stopExperiment(db(), second)).toEqual({ ok: true, value: { skipped: 60 } });
    expect((await armsOf(db(), second)).filter((r) => r.arm === 'rest').every((r) => r.status === 'skipped')).toBe(
      true,
    );
    expect((await runExperimentChore(db(), Date.now() + 5 * HOUR)).filter((d) => d.issueId === second)).toEqual([]);
    expect(await getExperimentProgress(db(), second, null)).toMatchObject({
      state: 'stopped',
      winner: null,
      decidedHow: 'stopped',
    });

    const third = await createDraftIssue(db(), 'Undone');
    const later = await requestSend(db(), hooks, {
      issueId: third,
      audience: {},
      experiment: AB,
      at: Date.now() + HOUR,
    });
    expect(later).toMatchObject({ ok: true, value: { state: 'scheduled' } });
    // The same request again is the same send; another experiment is refused, naming the field.
    expect(await requestSend(db(), hooks, { issueId: third, audience: {}, experiment: AB })).toMatchObject({
      ok: true,
    });
    expect(
      await requestSend(db(), hooks, { issueId: third, audience: {}, experiment: { ...AB, wait_ms: HOUR } }),
    ).toMatchObject({
      ok: false,
      reason: 'invalid',
      field: 'experiment',
    });
    expect(await cancelSend(db(), hooks, later.ok ? later.value.sendId : 0)).toMatchObject({
      ok: true,
      value: { removed: true },
    });
    expect(await db().selectFrom('experiments').select('issue_id').where('issue_id', '=', third).execute()).toEqual([]);
  });

  it('two workers starting the same send at once: one freeze, every recipient in exactly one arm', async () => {
    const issueId = await createDraftIssue(db(), 'Raced');
    await seedSubscribers(db(), 300, { email: (i) => `race${i}@example.com` });
    const made = await requestSend(db(), hooks, {
      issueId,
      audience: {},
      experiment: { ...AB, holdout_share: 0.1 },
      at: Date.now() + HOUR,
    });
    expect(made.ok).toBe(true);
    const send = (await findSendByIssue(db(), issueId))!;
    const due = { ...send, scheduled_at: Date.now() };
    const results = await Promise.all([
      startSend(db(), hooks, due),
      startSend(db(), hooks, due),
      startSend(db(), hooks, due),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await armsOf(db(), issueId);
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((r) => r.subscriber_id)).size).toBe(300);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.arm ?? 'none'] = (counts[r.arm ?? 'none'] ?? 0) + 1;
    expect(counts).toEqual({ A: 60, B: 60, holdout: 30, rest: 150 });
  });

  it('a variant with messages still queued when the wait ends is not judged yet: the decision waits until they settle, at most two waits', async () => {
    await seedSubscribers(db(), 100, { email: (i) => `settle${i}@example.com` });
    const mine = (issueId: number, decided: { issueId: number }[]) => decided.filter((d) => d.issueId === issueId);
    const prepare = async (subject: string) => {
      const issueId = await createDraftIssue(db(), subject);
      expect((await requestSend(db(), hooks, { issueId, audience: {}, experiment: AB })).ok).toBe(true);
      const started = Number((await findSendByIssue(db(), issueId))!.started_at);
      // Every variant message but one of B's went out; B's readers clicked, A's did not.
      const rows = await armsOf(db(), issueId);
      const last = rows.filter((r) => r.arm === 'B').at(-1)!;
      const others = rows.filter((r) => (r.arm === 'A' || r.arm === 'B') && r !== last).map((r) => r.id);
      await db()
        .updateTable('deliveries')
        .set({ status: 'sent', sent_at: started })
        .where('id', 'in', others)
        .execute();
      await db()
        .updateTable('deliveries')
        .set({ first_clicked_at: started + HOUR })
        .where('id', 'in', others)
        .where('arm', '=', 'B')
        .execute();
      return { issueId, started, last: last.id };
    };
    const settled = await prepare('Settles');
    expect(mine(settled.issueId, await runExperimentChore(db(), settled.started + 4 * HOUR))).toEqual([]);
    expect((await getExperimentProgress(db(), settled.issueId, null))?.state).toBe('testing');
    await db().updateTable('deliveries').set({ status: 'failed' }).where('id', '=', settled.last).execute();
    expect(mine(settled.issueId, await runExperimentChore(db(), settled.started + 4 * HOUR + 1))).toEqual([
      { issueId: settled.issueId, winner: 'B', how: 'auto' },
    ]);

    const stuck = await prepare('Stuck');
    expect(mine(stuck.issueId, await runExperimentChore(db(), stuck.started + 8 * HOUR - 1))).toEqual([]);
    expect(mine(stuck.issueId, await runExperimentChore(db(), stuck.started + 8 * HOUR))).toEqual([
      { issueId: stuck.issueId, winner: 'B', how: 'auto' },
    ]);
  });
});
