import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../helpers/server.ts';
import { testDialects } from '../helpers/databases.ts';
import { apiKeyFor, request } from '../helpers/accounts.ts';
import { createDraftIssue, seedSubscribers, withDb } from '../helpers/sending.ts';
import { deliveriesByEmail, killDuringSend, randomInt, sendFinished, startCrashRig } from '../helpers/send-kills.ts';
import { sql } from 'kysely';

/**
 * kill -9 while sending. The sink keeps what arrives per recipient (test/helpers/send-kills.ts).
 * Half the kills come from the sink itself, right after it wrote its 250
 * for a message — the window between the SMTP answer and the worker's commit — the other half
 * at random moments. After each kill the database is read as the crash left it: every message
 * the sink accepted is either recorded as sent or still claimed ("sending": in flight), and at
 * most the pool size are in flight. After the restarts everyone got the issue, and the only
 * duplicates are messages that were in flight at a crash.
 */
const POOL = 5;
const RECIPIENTS = Number(process.env.CRASH_RECIPIENTS ?? 10_000);
const CRASHES = Number(process.env.CRASH_KILLS ?? 10);
for (const dialect of testDialects()) {
  describe(`kill -9 while sending [${dialect}]`, () => {
    it(
      `${RECIPIENTS} recipients, ${CRASHES} kills: everyone gets the issue; duplicates only for messages in flight, at most ${POOL} a crash; never finished with deliveries pending`,
      { timeout: 420_000 },
      async () => {
        const rig = await startCrashRig(dialect, 'send-crash', POOL);
        const { sink, databaseUrl, start } = rig;
        let server: RunningServer | undefined;
        let monitor: Promise<void> | undefined;
        let monitoring = true;
        try {
          server = await start();
          const issueId = await withDb(databaseUrl, async (db) => {
            await seedSubscribers(db, RECIPIENTS, { email: (i) => `crash${i}@example.com`, chunk: 1000 });
            return createDraftIssue(db, 'Crash-proof widget news');
          });
          const key = await apiKeyFor(databaseUrl, 'marketer');
          const sent = await request(server, `/api/issues/${issueId}/send`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: '{"audience": {}}',
          });
          expect(sent.status, sent.text).toBe(202);
          expect(JSON.parse(sent.text)).toMatchObject({ recipients: RECIPIENTS });

          // All along: the send is never finished while a delivery is queued or being sent (one statement: one snapshot).
          const violations: string[] = [];
          monitor = withDb(databaseUrl, async (db) => {
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
            await killDuringSend(
              running,
              sink,
              afterAnswer ? { afterMessages: randomInt(20, 400) } : { afterMs: randomInt(200, 2500) },
            );
            server = undefined;

            // The database as the crash left it.
            const rows = await deliveriesByEmail(databaseUrl, issueId);
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

          await sendFinished(databaseUrl, issueId, 300_000, () => `${sink.accepted()} accepted`);
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
          const duplicates = [...sink.received]
            .map(([email, got]) => [email, got.length] as const)
            .filter(([, n]) => n > 1);
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
          await rig.close();
        }
      },
    );
  });
}
