import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { DB } from '../db/database.ts';
import { dialectOf, sqliteHandle } from '../db/database.ts';
import type { Mailer } from '../mail/mailer.ts';
import { emailHash } from '../subscribers/email-address.ts';
import { findSuppressedHashes } from '../subscribers/import.repository.ts';
import { suppressAddress } from '../subscribers/subscribers.service.ts';
import {
  claimDueDeliveries,
  reclaimExpiredClaims,
  recordDeliveryOutcomes,
  releaseClaims,
  releaseClaimsOfWorkers,
  renewClaims,
  skipQueuedOfCancelledSends,
  type DeliveryUpdate,
} from './deliveries.repository.ts';
import { classifyFailure, describeFailure } from './outcomes.ts';
import { findRecipientRows } from './recipients.repository.ts';
import {
  addConsecutiveFailures,
  changeSendState,
  findRunningSends,
  pauseSendAfterFailures,
} from './sends.repository.ts';
import { reportCommitTrouble, type CommitTrouble } from './worker-health.ts';
import { finishSendIfDone, startDueSends } from './send.service.ts';
import type { ClaimedDelivery, IssueHooks, Recipient } from './sending.ts';
import { deleteWorkers, findWorkers, insertWorker, touchWorker, type WorkerRow } from './workers.repository.ts';

export interface SendWorkerOptions {
  db: DB;
  mailer: Pick<Mailer, 'send'>;
  hooks: IssueHooks;
  /** Messages in flight at once: the SMTP pool size. A crash can duplicate at most this many. */
  concurrency: number;
  /** A claim (and a worker's heartbeat) older than this is taken for dead. */
  leaseMs: number;
  /** How often an idle worker looks for due sends and work. */
  pollMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  /** Failed attempts in a row after which a send pauses itself. */
  pauseAfterFailures: number;
  /** The longest wait between two attempts to commit outcomes (the wait doubles from 250 ms up to it). */
  commitRetryMaxMs?: number;
  /** Failed commits in a row after which the sends concerned pause, with the reason. */
  commitAttemptsBeforePause?: number;
  log?: (line: string) => void;
  clock?: () => number;
  random?: () => number;
  /**
   * Other mail this worker sends on a timetable (the weekly digest): each `run` is called every
   * `everyMs` while the worker runs, one call at a time; it must be safe with other workers doing
   * the same (claim in the database before sending).
   */
  chores?: readonly WorkerChore[];
}

export interface WorkerChore {
  name: string;
  everyMs: number;
  run: (now: number, workerId: string) => Promise<unknown>;
}

/** On SQLite a second worker is refused: it names who holds the lock. */
export class WorkerLockedError extends Error {
  override name = 'WorkerLockedError';
  readonly holder: WorkerRow;
  constructor(holder: WorkerRow, now: number) {
    super(
      `SQLite allows one send worker, and one is running: pid ${holder.pid} on ${holder.host}, started ${new Date(holder.started_at).toISOString()}, ` +
        `last heartbeat ${Math.round((now - holder.heartbeat_at) / 1000)} s ago. Use PostgreSQL (DATABASE_URL=postgres://…) for more workers, ` +
        'or stop the other one (the server runs one unless SEND_WORKER=0).',
    );
    this.holder = holder;
  }
}

/** A claimed delivery, checked against its subscriber just before sending. */
interface Item {
  delivery: ClaimedDelivery;
  recipient?: Recipient;
  /** Why it is skipped instead of sent. */
  skip?: string;
}

type Entry =
  | { kind: 'outcome'; sendId: number; update: DeliveryUpdate; effect: 'success' | 'failure' | 'none' }
  | { kind: 'release'; sendId: number; id: number };

interface Pending {
  entry: Entry;
  resolve: () => void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Workers alive in this process: a row with this pid but not in here is a previous incarnation (a restarted container's pid 1). */
const liveInProcess = new Set<string>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const COMMIT_RETRY_FIRST_MS = 250;
/** While commits keep failing, a log line at most this often (besides the first failure and the pause). */
const TROUBLE_LOG_EVERY_MS = 5 * 60_000;

/**
 * The send worker. A feeder claims small batches of due deliveries (a lease: status
 * `sending`, claimed_by, claimed_at), re-checks each recipient, and hands them to
 * `concurrency` senders — one per pooled SMTP connection. Each outcome joins a group commit:
 * everything that finished while the last commit ran goes into the next transaction, and a
 * sender takes its next message only after its outcome committed. So at any moment at most
 * `concurrency` messages are sent-but-unrecorded: a crash repeats at most that many, and
 * only messages that were in flight. Claims of a dead worker go back to the queue (at once
 * when it ran on this host, else when the lease runs out).
 */
export class SendWorker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #o: Required<Omit<SendWorkerOptions, 'log'>> & { log: (line: string) => void };
  readonly #host = hostname();
  #running = false;
  #stopping = false;
  #queue: Item[] = [];
  #active = new Map<number, Item>();
  #wakeFeeder: (() => void) | undefined;
  #wakeSenders: (() => void)[] = [];
  #wakeChores: (() => void)[] = [];
  #loops: Promise<void>[] = [];
  #pending: Pending[] = [];
  #committing: Promise<void> | undefined;
  #commitScheduled = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #sendStates = new Map<number, 'running' | 'stopped'>();
  #sendsCheckedAt = 0;
  #reclaimedAt = 0;
  #issueOfSend = new Map<number, number>();
  /** Sends with failures in a row recorded by this worker (SQLite skips the reset otherwise). */
  #failing = new Set<number>();
  /** SQLite: the handle behind the database, for the prepared-once outcome statement. */
  #sqlite: ReturnType<typeof sqliteHandle>;
  /** Set while outcomes cannot be committed. */
  #trouble: CommitTrouble | undefined;
  #troubleLoggedAt = 0;
  /** Sends this run of failed commits paused (so they are paused once). */
  #pausedForTrouble = new Set<number>();
  /** Messages accepted since start (for logs and tests). */
  sent = 0;

  constructor(options: SendWorkerOptions) {
    this.#o = {
      clock: Date.now,
      random: Math.random,
      log: (line) => console.log(line),
      commitRetryMaxMs: 30_000,
      commitAttemptsBeforePause: 12,
      chores: [],
      ...options,
    };
    this.#sqlite = dialectOf(options.db) === 'sqlite' ? sqliteHandle(options.db) : undefined;
  }

  get isRunning(): boolean {
    return this.#running;
  }

  /** Outcomes it cannot record right now (undefined when all is well). */
  get commitTrouble(): CommitTrouble | undefined {
    return this.#trouble;
  }

  /** Registers (SQLite: takes the single-worker lock, or throws WorkerLockedError) and starts working. */
  async start(): Promise<void> {
    await this.#register();
    this.#running = true;
    this.#heartbeat = setInterval(() => void this.#beat(), Math.max(250, Math.floor(this.#o.leaseMs / 3)));
    this.#heartbeat.unref();
    this.#loops = [
      this.#feed(),
      ...Array.from({ length: this.#o.concurrency }, () => this.#sendLoop()),
      ...this.#o.chores.map((chore) => this.#choreLoop(chore)),
    ];
  }

  /** Look for work now (a send was just started or resumed in this process). */
  wake(): void {
    this.#sendsCheckedAt = 0;
    this.#wakeFeeder?.();
  }

  /** Lets the messages in flight finish and commit, puts the claimed rest back in the queue, and leaves. */
  async stop(): Promise<void> {
    if (!this.#running || this.#stopping) return;
    this.#stopping = true;
    this.#wakeFeeder?.();
    for (const wake of [...this.#wakeSenders.splice(0), ...this.#wakeChores.splice(0)]) wake();
    await Promise.allSettled(this.#loops);
    const unsent = this.#queue.splice(0);
    for (const item of unsent)
      void this.#enqueue({ kind: 'release', sendId: item.delivery.sendId, id: item.delivery.id });
    await this.#drainCommits();
    clearInterval(this.#heartbeat);
    await deleteWorkers(this.#o.db, [this.id]).catch(() => {});
    liveInProcess.delete(this.id);
    reportCommitTrouble(this.id, undefined);
    this.#running = false;
  }

  async #register(): Promise<void> {
    const { db } = this.#o;
    const slot = dialectOf(db) === 'sqlite' ? 'sqlite' : this.id;
    const now = this.#o.clock();
    const result = await db.transaction().execute(async (trx) => {
      const workers = await findWorkers(trx);
      const dead = workers.filter((w) => this.#isDead(w, now)).map((w) => w.worker_id);
      await deleteWorkers(trx, dead);
      const released = await releaseClaimsOfWorkers(trx, dead);
      const inserted = await insertWorker(trx, {
        slot,
        worker_id: this.id,
        host: this.#host,
        pid: process.pid,
        started_at: now,
        heartbeat_at: now,
      });
      return { inserted, released, dead, holder: workers.find((w) => w.slot === slot && !dead.includes(w.worker_id)) };
    });
    if (!result.inserted) throw new WorkerLockedError(result.holder!, now);
    liveInProcess.add(this.id);
    if (result.dead.length > 0)
      this.#o.log(
        `[send] worker ${this.id}: ${result.dead.length} dead worker(s) cleared, ${result.released} claimed deliveries back in the queue`,
      );
  }

  /** A worker is dead when its heartbeat is older than the lease, or it ran on this host and its process is gone. */
  #isDead(worker: WorkerRow, now: number): boolean {
    if (worker.worker_id === this.id) return false;
    if (Number(worker.heartbeat_at) < now - this.#o.leaseMs) return true;
    if (worker.host !== this.#host) return false;
    if (Number(worker.pid) === process.pid) return !liveInProcess.has(worker.worker_id);
    return !pidAlive(Number(worker.pid));
  }

  async #beat(): Promise<void> {
    if (this.#stopping) return;
    const now = this.#o.clock();
    try {
      if (!(await touchWorker(this.#o.db, this.id, now, this.#trouble ?? null))) {
        this.#o.log(`[send] worker ${this.id}: its registration was taken for dead; registering again`);
        await this.#register();
      }
      await renewClaims(this.#o.db, this.id, [...this.#active.keys(), ...this.#queue.map((i) => i.delivery.id)], now);
    } catch (error) {
      this.#o.log(`[send] worker heartbeat failed: ${error instanceof Error ? error.message : String(error)}`);
      if (error instanceof WorkerLockedError) void this.stop();
    }
  }

  // ── feeding ────────────────────────────────────────────────────────────────────────────

  async #feed(): Promise<void> {
    const low = this.#o.concurrency;
    const target = this.#o.concurrency * 2;
    while (!this.#stopping) {
      try {
        if (this.#queue.length >= low) {
          await this.#idle(this.#o.pollMs);
          continue;
        }
        const claimed = await this.#claim(target - this.#queue.length);
        if (claimed.length === 0) {
          await this.#idle(this.#o.pollMs);
          continue;
        }
        const items = await this.#check(claimed);
        if (this.#stopping) {
          for (const item of items)
            void this.#enqueue({ kind: 'release', sendId: item.delivery.sendId, id: item.delivery.id });
          break;
        }
        this.#queue.push(...items);
        for (const wake of this.#wakeSenders.splice(0)) wake();
      } catch (error) {
        this.#o.log(
          `[send] worker ${this.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        await this.#idle(Math.max(this.#o.pollMs, 500));
      }
    }
  }

  async #choreLoop(chore: WorkerChore): Promise<void> {
    while (!this.#stopping) {
      try {
        await chore.run(this.#o.clock(), this.id);
      } catch (error) {
        this.#o.log(
          `[send] worker ${this.id}: ${chore.name}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      await this.#pause(chore.everyMs);
    }
  }

  /** Waits `ms`, or less when the worker stops. */
  #pause(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakeChores = this.#wakeChores.filter((w) => w !== wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakeChores.push(wake);
    });
  }

  #idle(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeFeeder = done;
    });
  }

  /**
   * The running sends, refreshed every poll (at most 4 times a second while busy): due
   * scheduled sends are started; every third of a lease, claims whose lease ran out go back.
   */
  async #refreshSends(now: number): Promise<number[]> {
    if (now - this.#sendsCheckedAt >= Math.max(this.#o.pollMs, 250)) {
      this.#sendsCheckedAt = now;
      await startDueSends(this.#o.db, this.#o.hooks, now);
      const running = await findRunningSends(this.#o.db);
      const ids = new Set(running.map((s) => Number(s.id)));
      for (const id of this.#sendStates.keys()) if (!ids.has(id)) this.#sendStates.set(id, 'stopped');
      for (const send of running) this.#issueOfSend.set(Number(send.id), Number(send.issue_id));
      for (const id of ids) {
        // Newly (re)started here: its count of failures in a row is unknown, so the first success resets it.
        if (this.#sendStates.get(id) !== 'running') this.#failing.add(id);
        this.#sendStates.set(id, 'running');
      }
      if (now - this.#reclaimedAt >= this.#o.leaseMs / 3) {
        this.#reclaimedAt = now;
        for (const id of ids) {
          const reclaimed = await reclaimExpiredClaims(this.#o.db, this.#issueOfSend.get(id)!, now - this.#o.leaseMs);
          if (reclaimed > 0)
            this.#o.log(`[send] send ${id}: ${reclaimed} deliveries whose lease ran out are back in the queue`);
        }
      }
    }
    return [...this.#sendStates].filter(([, state]) => state === 'running').map(([id]) => id);
  }

  async #claim(limit: number): Promise<ClaimedDelivery[]> {
    // While outcomes cannot be recorded, nothing more is taken on.
    if (this.#trouble) return [];
    const now = this.#o.clock();
    for (const sendId of await this.#refreshSends(now)) {
      const issueId = this.#issueOfSend.get(sendId)!;
      const claimed = await claimDueDeliveries(this.#o.db, { id: sendId, issueId }, this.id, limit, now);
      if (claimed.length > 0) return claimed;
      if (!this.#holds(sendId) && (await finishSendIfDone(this.#o.db, this.#o.hooks, { id: sendId, issueId }, now))) {
        this.#sendStates.delete(sendId);
        this.#o.log(`[send] send ${sendId} finished`);
      }
    }
    return [];
  }

  /** True while this worker still has a delivery of the send queued, in flight or waiting for its commit. */
  #holds(sendId: number): boolean {
    if (this.#queue.some((i) => i.delivery.sendId === sendId)) return true;
    for (const item of this.#active.values()) if (item.delivery.sendId === sendId) return true;
    return false;
  }

  /** Each recipient re-checked just before sending: gone, unsubscribed, bounced, paused or suppressed → skipped. */
  async #check(claimed: ClaimedDelivery[]): Promise<Item[]> {
    const ids = [...new Set(claimed.map((d) => d.subscriberId).filter((id): id is number => id !== null))];
    const rows = new Map((await findRecipientRows(this.#o.db, ids)).map((r) => [r.id, r]));
    const hashes = new Map([...rows.values()].map((r) => [r.id, emailHash(r.email)]));
    const suppressed = new Set(await findSuppressedHashes(this.#o.db, [...hashes.values()]));
    return claimed.map((delivery): Item => {
      const row = delivery.subscriberId === null ? undefined : rows.get(delivery.subscriberId);
      if (!row) return { delivery, skip: 'subscriber deleted' };
      if (row.status !== 'active') return { delivery, skip: `subscriber ${row.status}` };
      if (row.paused) return { delivery, skip: 'subscriber paused' };
      if (suppressed.has(hashes.get(row.id)!)) return { delivery, skip: 'address suppressed' };
      return {
        delivery,
        recipient: {
          deliveryId: delivery.id,
          issueId: delivery.issueId,
          subscriberId: row.id,
          email: row.email,
          name: row.name,
        },
      };
    });
  }

  // ── sending ────────────────────────────────────────────────────────────────────────────

  async #sendLoop(): Promise<void> {
    for (;;) {
      if (this.#stopping) return;
      const item = this.#queue.shift();
      if (!item) {
        if (this.#queue.length < this.#o.concurrency) this.#wakeFeeder?.();
        await new Promise<void>((resolve) => this.#wakeSenders.push(resolve));
        continue;
      }
      if (this.#queue.length < this.#o.concurrency) this.#wakeFeeder?.();
      this.#active.set(item.delivery.id, item);
      try {
        await this.#enqueue(await this.#attempt(item));
      } finally {
        this.#active.delete(item.delivery.id);
      }
    }
  }

  async #attempt(item: Item): Promise<Entry> {
    const { delivery } = item;
    const sendId = delivery.sendId;
    if (this.#sendStates.get(sendId) !== 'running') return { kind: 'release', sendId, id: delivery.id };
    if (item.skip || !item.recipient) {
      return {
        kind: 'outcome',
        sendId,
        effect: 'none',
        update: {
          id: delivery.id,
          status: 'skipped',
          attempts: delivery.attempts,
          reason: item.skip ?? 'no recipient',
        },
      };
    }
    const attempt = delivery.attempts + 1;
    try {
      // The port compiles each issue once per process and keeps it while the send runs.
      const compose = await this.#o.hooks.composerFor(this.#o.db, delivery.issueId, delivery.arm);
      const mail = await compose(item.recipient);
      const sent = await this.#o.mailer.send(mail, this.#o.clock());
      this.sent++;
      return {
        kind: 'outcome',
        sendId,
        effect: 'success',
        update: {
          id: delivery.id,
          status: 'sent',
          attempts: attempt,
          reason: null,
          sentAt: this.#o.clock(),
          messageId: sent.messageId,
          smtpResponse: sent.response.slice(0, 300),
        },
      };
    } catch (error) {
      const now = this.#o.clock();
      const outcome = classifyFailure(error, attempt, this.#o, now, this.#o.random);
      if (outcome.status === 'bounced') {
        try {
          await suppressAddress(
            this.#o.db,
            item.recipient.email,
            'bounced',
            { issue: delivery.issueId, delivery: delivery.id, response: outcome.reason },
            now,
          );
        } catch (suppressError) {
          this.#o.log(
            `[send] could not suppress a bounced address (delivery ${delivery.id}): ${describeFailure(suppressError)}`,
          );
        }
      }
      return {
        kind: 'outcome',
        sendId,
        effect: outcome.counts ? 'failure' : 'none',
        update: {
          id: delivery.id,
          status: outcome.status,
          attempts: attempt,
          reason: outcome.reason,
          smtpResponse: outcome.reason,
          ...(outcome.status === 'queued' ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
        },
      };
    }
  }

  // ── outcomes that cannot be committed ───────────────────────────────────────────────────

  /**
   * A failed commit: counted, surfaced (the progress page, /healthz, the heartbeat), logged
   * the first time and then at most every few minutes; after commitAttemptsBeforePause the
   * sends in the batch pause with the reason, so nothing more goes out unrecorded. Answers
   * the wait before the next attempt: 250 ms doubling, at most commitRetryMaxMs.
   */
  async #commitFailed(error: unknown, batch: readonly Pending[], now: number): Promise<number> {
    const limit = this.#o.commitAttemptsBeforePause;
    const lastError = describeFailure(error);
    const trouble: CommitTrouble = {
      workerId: this.id,
      since: this.#trouble?.since ?? now,
      attempts: (this.#trouble?.attempts ?? 0) + 1,
      lastError,
      pauseAfter: limit,
    };
    this.#trouble = trouble;
    reportCommitTrouble(this.id, trouble);
    const waitMs = Math.min(this.#o.commitRetryMaxMs, COMMIT_RETRY_FIRST_MS * 2 ** Math.min(trouble.attempts - 1, 20));
    if (trouble.attempts === 1 || now - this.#troubleLoggedAt >= TROUBLE_LOG_EVERY_MS) {
      this.#troubleLoggedAt = now;
      this.#o.log(
        `[send] worker ${this.id}: recording ${batch.length} outcome(s) failed ${trouble.attempts} time(s) since ${new Date(trouble.since).toISOString()}: ${lastError}. ` +
          `Trying again with a growing wait (at most ${Math.round(this.#o.commitRetryMaxMs / 1000)} s); the send pauses after ${limit} failed attempts.`,
      );
    }
    if (trouble.attempts >= limit) await this.#pauseForTrouble(batch, trouble, now);
    return waitMs;
  }

  async #pauseForTrouble(batch: readonly Pending[], trouble: CommitTrouble, now: number): Promise<void> {
    const sendIds = new Set(batch.map(({ entry }) => entry.sendId).filter((id) => !this.#pausedForTrouble.has(id)));
    const reason =
      `Paused: the send worker could not record its progress in the database (${trouble.attempts} failed attempts since ${new Date(trouble.since).toISOString()}; the last: ${trouble.lastError}). ` +
      'Messages already sent are kept and recorded once the database accepts them. Resume when the database works again.';
    for (const sendId of sendIds) {
      // No new messages of this send from here, whether or not the database takes the pause yet.
      this.#sendStates.set(sendId, 'stopped');
      try {
        if (await changeSendState(this.#o.db, sendId, ['running'], 'paused', { paused_reason: reason }, now))
          this.#o.log(`[send] send ${sendId}: ${reason}`);
        this.#pausedForTrouble.add(sendId);
      } catch {
        // The database refuses this too: tried again after the next failed attempt.
      }
    }
  }

  #commitRecovered(now: number): void {
    const trouble = this.#trouble!;
    this.#o.log(
      `[send] worker ${this.id}: outcomes recorded again after ${trouble.attempts} failed attempt(s) over ${Math.round((now - trouble.since) / 1000)} s`,
    );
    this.#trouble = undefined;
    this.#pausedForTrouble.clear();
    reportCommitTrouble(this.id, undefined);
    void touchWorker(this.#o.db, this.id, now, null).catch(() => {});
  }

  // ── group commit ───────────────────────────────────────────────────────────────────────

  /** Resolves once the transaction holding this entry committed (retried until it does). */
  #enqueue(entry: Entry): Promise<void> {
    return new Promise((resolve) => {
      this.#pending.push({ entry, resolve });
      this.#scheduleCommit();
    });
  }

  #scheduleCommit(): void {
    if (this.#committing || this.#commitScheduled) return;
    this.#commitScheduled = true;
    setImmediate(() => {
      this.#commitScheduled = false;
      this.#committing = this.#commit().finally(() => {
        this.#committing = undefined;
        if (this.#pending.length > 0) this.#scheduleCommit();
      });
    });
  }

  async #drainCommits(): Promise<void> {
    while (this.#pending.length > 0 || this.#committing || this.#commitScheduled) {
      await (this.#committing ?? sleep(1));
    }
  }

  async #commit(): Promise<void> {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const now = this.#o.clock();
    const { db, pauseAfterFailures } = this.#o;
    let paused: { sendId: number; reason: string }[];
    try {
      paused = await db.transaction().execute(async (trx) => {
        const tally = new Map<number, { success: boolean; failures: number; last?: string }>();
        const released: number[] = [];
        const requeued: number[] = [];
        const outcomes: DeliveryUpdate[] = [];
        for (const { entry } of batch) {
          if (entry.kind === 'release') {
            released.push(entry.id);
            continue;
          }
          outcomes.push(entry.update);
          if (entry.update.status === 'queued') requeued.push(entry.update.id);
          if (entry.effect === 'none') continue;
          const t = tally.get(entry.sendId) ?? { success: false, failures: 0 };
          if (entry.effect === 'success') Object.assign(t, { success: true, failures: 0 });
          else Object.assign(t, { failures: t.failures + 1, last: entry.update.reason ?? undefined });
          tally.set(entry.sendId, t);
        }
        await recordDeliveryOutcomes(trx, this.id, outcomes, this.#sqlite);
        await releaseClaims(trx, this.id, released);
        await skipQueuedOfCancelledSends(trx, [...released, ...requeued]);
        const pausedNow: { sendId: number; reason: string }[] = [];
        for (const [sendId, t] of tally) {
          // A success resets the count; on SQLite (one worker) only when this worker saw a failure of that send.
          if (t.failures === 0 && this.#sqlite && !this.#failing.has(sendId)) continue;
          await addConsecutiveFailures(trx, sendId, { reset: t.success, add: t.failures });
          if (t.failures === 0) this.#failing.delete(sendId);
          else this.#failing.add(sendId);
          if (t.failures === 0) continue;
          const reason = `Paused after ${pauseAfterFailures} failed attempts in a row. The last: ${t.last ?? 'unknown error'}`;
          if (await pauseSendAfterFailures(trx, sendId, pauseAfterFailures, reason, now))
            pausedNow.push({ sendId, reason });
        }
        return pausedNow;
      });
    } catch (error) {
      // Nothing of the batch is recorded: keep it (the messages went) and try again after a growing wait.
      this.#pending.unshift(...batch);
      await sleep(await this.#commitFailed(error, batch, now));
      return;
    }
    if (this.#trouble) this.#commitRecovered(now);
    for (const { sendId, reason } of paused) {
      this.#sendStates.set(sendId, 'stopped');
      this.#o.log(`[send] send ${sendId}: ${reason}`);
    }
    for (const { resolve } of batch) resolve();
  }
}
