import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { createTestDatabaseUrl, type TestDialect } from './databases.ts';
import { startServer, type RunningServer } from './server.ts';
import { withDb } from './sending.ts';

/**
 * kill -9 of a server while it sends (test/server/send-crash and experiments-crash): a relay that
 * can pull the trigger right after it answered 250, the kill itself, and the database read as the
 * crash left it.
 */

export const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

export interface CrashSink {
  /** `smtp://127.0.0.1:PORT`, for SMTP_URL. */
  url: string;
  /** The subject of every message each recipient got, in arrival order (its length: how many arrived). */
  received: Map<string, string[]>;
  /** Messages accepted so far. */
  accepted: () => number;
  /** Calls `then` right after the 250 for the `n`-th message from now has been written. */
  afterAccepted: (n: number, then: () => void) => void;
  close: () => Promise<void>;
}

/**
 * A relay that accepts everything and keeps only who got which subject: no parsing beyond the
 * Subject header of the first 8 KB, so that it keeps up with a pool of senders.
 */
export async function startCrashSink(): Promise<CrashSink> {
  const received = new Map<string, string[]>();
  let accepted = 0;
  let trigger: { at: number; then: () => void } | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onData(stream, session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 8192) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/im.exec(head)?.[1]?.trim() ?? '';
        for (const r of session.envelope.rcptTo) received.set(r.address, [...(received.get(r.address) ?? []), subject]);
        accepted++;
        callback(); // writes the 250
        if (trigger && accepted >= trigger.at) {
          const { then } = trigger;
          trigger = undefined;
          then();
        }
      });
    },
  });
  // A killed client resets its connections: expected here, not an error.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    received,
    accepted: () => accepted,
    afterAccepted: (n, then) => {
      trigger = { at: accepted + n, then };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface CrashRig {
  dataDir: string;
  databaseUrl: string;
  sink: CrashSink;
  /** The sending settings every server of the rig gets: the sink as relay, the pool, a quick poll. */
  env: Record<string, string>;
  /** A server on the rig's data folder and database: again after each kill. */
  start: () => Promise<RunningServer>;
  /** Closes the sink and drops the database (the servers are the test's to stop). */
  close: () => Promise<void>;
}

/** A fresh database and data folder and a crash sink, for servers sending `pool` messages at a time. */
export async function startCrashRig(dialect: TestDialect, name: string, pool: number): Promise<CrashRig> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `footfall-${name}-`));
  const database = await createTestDatabaseUrl(dialect, dataDir, { migrated: true });
  const sink = await startCrashSink();
  const env = {
    SMTP_URL: sink.url,
    SMTP_POOL_SIZE: String(pool),
    SEND_POLL_MS: '20',
    MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
  };
  return {
    dataDir,
    databaseUrl: database.url,
    sink,
    env,
    start: () => startServer({ dataDir, databaseUrl: database.url, env }),
    close: async () => {
      await sink.close();
      await database.drop();
    },
  };
}

/**
 * When to kill: right after the sink's 250 for the n-th message from now (the window between the
 * relay's answer and the worker's commit), or after so many milliseconds (any moment).
 */
export type KillMoment = { afterMessages: number } | { afterMs: number };

/** SIGKILLs `server` at `when`; resolves once the process has exited (also if it died by itself first). */
export function killDuringSend(server: RunningServer, sink: CrashSink, when: KillMoment): Promise<void> {
  const kill = () => server.process.kill('SIGKILL');
  if ('afterMessages' in when) sink.afterAccepted(when.afterMessages, kill);
  else setTimeout(kill, when.afterMs);
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The issue's deliveries by recipient's email, as the database holds them now. */
export function deliveriesByEmail(databaseUrl: string, issueId: number) {
  return withDb(databaseUrl, (db) =>
    db
      .selectFrom('deliveries')
      .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
      .select(['subscribers.email', 'deliveries.arm', 'deliveries.status'])
      .where('deliveries.issue_id', '=', issueId)
      .execute(),
  );
}

/** The issue's send state (scheduled, sending, …, finished), or undefined when there is no send. */
export function sendState(databaseUrl: string, issueId: number): Promise<string | undefined> {
  return withDb(
    databaseUrl,
    async (db) =>
      (await db.selectFrom('sends').select('state').where('issue_id', '=', issueId).executeTakeFirst())?.state,
  );
}

/**
 * Waits until the issue's send is finished; after `timeoutMs` throws with the state it is in
 * (and `detail()`, e.g. how many messages the sink accepted).
 */
export async function sendFinished(
  databaseUrl: string,
  issueId: number,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await sendState(databaseUrl, issueId);
    if (state === 'finished') return;
    if (Date.now() > deadline) throw new Error(`the send did not finish in ${timeoutMs} ms: ${state} ${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
