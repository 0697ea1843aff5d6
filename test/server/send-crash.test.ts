import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { apiKeyFor, request } from '../helpers/accounts.ts';
import { createDraftIssue, seedSubscribers, withDb } from '../helpers/sending.ts';
import { sql } from 'kysely';

/**
 * kill -9 while sending. The sink counts what arrives per recipient (no parsing: it must keep
 * up with the pool). Half the kills come from the sink itself, right after it wrote its 250
 * for a message — the window between the SMTP answer and the worker's commit — the other half
 * at random moments. After each kill the database is read as the crash left it: every message
 * the sink accepted is either recorded as sent or still claimed ("sending": in flight), and at
 * most the pool size are in flight. After the restarts everyone got the issue, and the only
 * duplicates are messages that were in flight at a crash.
 */
const POOL = 5;
const RECIPIENTS = Number(process.env.CRASH_RECIPIENTS ?? 10_000);
const CRASHES = Number(process.env.CRASH_KILLS ?? 12);
/** Resolves when the server process has exited (without signalling it). */
function exitOf(server: RunningServer): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => server.process.once('exit', () => resolve()));
}

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

interface CountingSink {
  url: string;
  received: Map<string, number>;
  accepted: () => number;
  /** Calls `then` right after the 250 for the `n`-th message from now has been written. */
  afterAccepted: (n: number, then: () => void) => void;
  close: () => Promise<void>;
}

async function startCountingSink(): Promise<CountingSink> {
  const received = new Map<string, number>();
  let accepted = 0;
  let trigger: { at: number; then: () => void } | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onData(stream, session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        for (const r of session.envelope.rcptTo) received.set(r.address, (received.get(r.address) ?? 0) + 1);
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

for (const dialect of testDialects()) {
  describe(`kill -9 while sending [${dialect}]`, () => {
    it(
      `${RECIPIENTS} recipients, ${CRASHES} kills: everyone gets the issue; duplicates only for messages in flight, at most ${POOL} a crash; never finished with deliveries pending`,
      { timeout: 420_000 },
      async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'footfall-send-crash-'));
        const database = await createTestDatabaseUrl(dialect, dir);
        const sink = await startCountingSink();
        const env = {
          SMTP_URL: sink.url,
          SMTP_POOL_SIZE: String(POOL),
          SEND_POLL_MS: '20',
          MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
        };
        const start = () => startServer({ dataDir: dir, databaseUrl: database.url, env });
        let server: RunningServer | undefined;
        let monitor: Promise<void> | undefined;
        let monitoring = true;
        try {
          server = await start();
          const issueId = await withDb(database.url, async (db) => {
            await seedSubscribers(db, RECIPIENTS, { email: (i) => `crash${i}@example.com`, chunk: 1000 });
            return createDraftIssue(db, 'Crash-proof widget news');
          });
          const key = await apiKeyFor(database.url, 'marketer');
          const sent = await request(server, `/api/issues/${issueId}/send`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: '{"audience": {}}',
          });
          expect(sent.status, sent.text).toBe(202);
          expect(JSON.parse(sent.text)).toMatchObject({ recipients: RECIPIENTS });

          // All along: the send is never finished while a delivery is queued or being sent (one statement: one snapshot).
          const violations: string[] = [];
          monitor = withDb(database.url, async (db) => {
            while (monitoring) {
              const row = await sql<{
                state: string;
                pending: number;
              }>`select state, (select count(*) from deliveries where deliveries.issue_id = sends.issue_id and deliveries.status in ('queued', 'sending')) as pending from sends where issue_id = ${issueId}`
                .execute(db)
                .then((r) => r.rows[0])
                .catch(() => undefined);
              if (row?.state === 'finished' && Number(row.pending) > 0)
                violations.push(`finished with ${row.pending} pending`);
              await new Promise((r) => setTimeout(r, 100));
            }
          });

          const inFlightAt: Set<string>[] = [];
          let hitTheWindow = 0;
          for (let crash = 0; crash < CRASHES; crash++) {
            const running = server;
            const afterAnswer = crash % 2 === 0;
            if (afterAnswer) sink.afterAccepted(randomInt(20, 400), () => running.process.kill('SIGKILL'));
            else setTimeout(() => running.process.kill('SIGKILL'), randomInt(200, 2500));
            await exitOf(running);
            server = undefined;

            // The database as the crash left it.
            const rows = await withDb(database.url, (db) =>
              db
                .selectFrom('deliveries')
                .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
                .select(['subscribers.email', 'deliveries.status'])
                .where('deliveries.issue_id', '=', issueId)
                .execute(),
            );
            const status = new Map(rows.map((r) => [r.email, r.status]));
            // A message that arrived is recorded as sent, or was in flight: claimed now, or claimed at an
            // earlier crash and back in the queue since (its worker died), not yet sent again.
            const unrecorded = [...sink.received.keys()].filter((email) => status.get(email) !== 'sent');
            const inFlight = unrecorded.filter((email) => status.get(email) === 'sending');
            for (const email of unrecorded) {
              if (status.get(email) === 'sending') continue;
              expect(status.get(email), `${email} arrived but is ${status.get(email)} after crash ${crash}`).toBe(
                'queued',
              );
              expect(
                inFlightAt.some((set) => set.has(email)),
                `${email} is queued again but was never in flight`,
              ).toBe(true);
            }
            expect(inFlight.length, `messages in flight at crash ${crash}`).toBeLessThanOrEqual(POOL);
            inFlightAt.push(new Set(inFlight));
            if (afterAnswer && inFlight.length > 0) hitTheWindow++;
            const pending = rows.filter((r) => r.status === 'queued' || r.status === 'sending').length;
            if (pending === 0) break;
            server = await start();
          }
          server ??= await start();

          const deadline = Date.now() + 300_000;
          for (;;) {
            const done = await withDb(
              database.url,
              async (db) =>
                (await db.selectFrom('sends').select('state').where('issue_id', '=', issueId).executeTakeFirst())
                  ?.state,
            );
            if (done === 'finished') break;
            if (Date.now() > deadline) throw new Error(`the send did not finish: ${done}; ${sink.accepted()} accepted`);
            await new Promise((r) => setTimeout(r, 200));
          }
          const progress = JSON.parse(
            (await request(server, `/api/issues/${issueId}/progress`, { headers: { authorization: `Bearer ${key}` } }))
              .text,
          );
          monitoring = false;
          await monitor;

          // Everyone got the issue, the ledger says so, and the progress numbers are the ledger's.
          expect(progress.counts).toEqual({
            queued: 0,
            sending: 0,
            sent: RECIPIENTS,
            failed: 0,
            bounced: 0,
            skipped: 0,
            total: RECIPIENTS,
          });
          const missing = Array.from({ length: RECIPIENTS }, (_, i) => `crash${i}@example.com`).filter(
            (email) => !sink.received.has(email),
          );
          expect(missing).toEqual([]);
          // Duplicates: only messages that were in flight at a crash, once per such crash at most.
          const duplicates = [...sink.received].filter(([, n]) => n > 1);
          for (const [email, n] of duplicates) {
            const crashes = inFlightAt.filter((set) => set.has(email)).length;
            expect(n - 1, `${email} arrived ${n} times, in flight at ${crashes} crash(es)`).toBeLessThanOrEqual(
              crashes,
            );
          }
          const extra = duplicates.reduce((sum, [, n]) => sum + n - 1, 0);
          expect(extra).toBeLessThanOrEqual(POOL * inFlightAt.length);
          expect(inFlightAt.length, 'kills while sending').toBeGreaterThanOrEqual(Math.min(CRASHES, 10));
          // At least one kill landed after the sink's 250 and before the worker's commit.
          expect(hitTheWindow).toBeGreaterThan(0);
          expect(violations).toEqual([]);
          console.log(
            `[crash test ${dialect}] ${inFlightAt.length} kills, ${hitTheWindow} between a 250 and its commit, ${sink.accepted()} messages accepted for ${RECIPIENTS} recipients, ${extra} duplicate(s)`,
          );
        } finally {
          monitoring = false;
          await monitor?.catch(() => {});
          await server?.stop();
          await sink.close();
          await database.drop();
        }
      },
    );
  });
}
