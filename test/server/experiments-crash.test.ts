import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServers, type RunningServer } from '../helpers/server.ts';
import { testDialects } from '../helpers/databases.ts';
import { apiKeyFor, request } from '../helpers/accounts.ts';
import { createDraftIssue, seedSubscribers, withDb } from '../helpers/sending.ts';
import {
  deliveriesByEmail,
  killDuringSend,
  randomInt,
  sendFinished,
  sendState,
  startCrashRig,
} from '../helpers/send-kills.ts';
import { armPlan, armSizes } from '../../src/lib/experiments/experiment.ts';
import { startWriteProbe } from '../helpers/write-probe.ts';

/**
 * kill -9 during an experiment: while the audience is frozen and assigned (in the send request,
 * SEND_UNDO_SECONDS=0), and while the winner goes to the rest. After each kill the database is
 * read as the crash left it: no ledger, or a ledger with every recipient in exactly one arm of
 * the planned size. In the end the held out got nothing, every one of the rest got the winner,
 * and the only duplicates are messages in flight at a crash (at most the pool size each).
 */
const POOL = 5;
const RECIPIENTS = Number(process.env.EXPERIMENT_CRASH_RECIPIENTS ?? 6000);
const EXPERIMENT = {
  variants: [{ subject: 'Crash variant A' }, { subject: 'Crash variant B' }],
  test_share: 0.1,
  wait_ms: 3_600_000,
  holdout_share: 0.1,
};
for (const dialect of testDialects()) {
  describe(`kill -9 during an experiment [${dialect}]`, () => {
    it(
      `${RECIPIENTS} recipients: kills while freezing leave no ledger or a fully assigned one; kills while the winner goes out miss nobody; the held out get nothing`,
      { timeout: 300_000 },
      async () => {
        const rig = await startCrashRig(dialect, 'experiment-crash', POOL);
        const { sink, databaseUrl, start } = rig;
        let server: RunningServer | undefined;
        try {
          server = await start();
          const issueId = await withDb(databaseUrl, async (db) => {
            await seedSubscribers(db, RECIPIENTS, { email: (i) => `xc${i}@example.com`, chunk: 1000 });
            return createDraftIssue(db, 'Crash experiment');
          });
          const key = await apiKeyFor(databaseUrl, 'marketer');
          const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
          const sizes = armSizes(armPlan({ variants: 2, testShare: 0.1, holdoutShare: 0.1 }), RECIPIENTS);
          const ledger = () => deliveriesByEmail(databaseUrl, issueId);

          // 1. Kills while the send request freezes and assigns the audience. Until one has landed
          // inside the freeze's transaction, each try watches for it (write-probe.ts) and kills the
          // moment it is seen: the ledger must then be empty, the transaction rolled back. After
          // that the kills come at a random moment (rendering first, then the freeze), until one
          // finds the freeze committed: the ledger then complete, every recipient in one arm.
          const seen = { empty: 0, full: 0, midFreeze: 0 };
          const probe = await startWriteProbe(databaseUrl, 'deliveries');
          for (let crash = 0; crash < 8 && !(crash >= 3 && seen.full > 0 && seen.midFreeze > 0); crash++) {
            const running = server;
            const watch = seen.midFreeze === 0;
            if ((await sendState(databaseUrl, issueId)) === undefined)
              void request(running, `/api/issues/${issueId}/send`, {
                method: 'POST',
                headers: auth,
                body: JSON.stringify({ audience: {}, experiment: EXPERIMENT }),
              }).catch(() => undefined);
            // Rendering the issue and its variants comes first, then the freeze's transaction: until one kill
            // has landed inside the transaction, wait for it; then spread the kills over both.
            const caught = watch
              ? await probe.waitForWrite({ timeoutMs: 20_000, heldMs: dialect === 'sqlite' ? 20 : 0 })
              : false;
            await killDuringSend(running, sink, { afterMs: caught ? 0 : randomInt(100, 2500) });
            server = undefined;
            await probe.waitForNone(10_000);
            const rows = await ledger();
            if (rows.length === 0) {
              seen.empty++;
              if (caught) seen.midFreeze++;
            } else {
              seen.full++;
              expect(rows).toHaveLength(RECIPIENTS);
              const byArm: Record<string, number> = {};
              for (const r of rows) byArm[r.arm ?? 'none'] = (byArm[r.arm ?? 'none'] ?? 0) + 1;
              expect(byArm).toEqual(Object.fromEntries(sizes));
              expect(rows.filter((r) => r.arm === 'holdout').every((r) => r.status === 'held_out')).toBe(true);
            }
            server = await start();
          }
          await probe.close();
          expect(seen.midFreeze, `a kill inside the freeze's transaction (${JSON.stringify(seen)})`).toBeGreaterThan(0);
          expect(seen.full, `a kill after the freeze committed (${JSON.stringify(seen)})`).toBeGreaterThan(0);
          // The send goes ahead (started by the worker if a crash left it scheduled, else requested now).
          const requested = await request(server, `/api/issues/${issueId}/send`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ audience: {}, experiment: EXPERIMENT }),
          });
          expect(requested.status, requested.text).toBe(202);
          const testCount = sizes.get('A')! + sizes.get('B')!;
          for (let i = 0; sink.accepted() < testCount; i++) {
            if (i > 600) throw new Error(`the variants did not go out: ${sink.accepted()} of ${testCount}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          const rows = await ledger();
          expect(rows).toHaveLength(RECIPIENTS);
          const arms = new Map(rows.map((r) => [r.email, r.arm]));

          // 2. The marketer picks B; kills while it goes to the rest.
          const picked = await request(server, `/api/issues/${issueId}/experiment`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ winner: 'B' }),
          });
          expect(picked.status, picked.text).toBe(200);
          let kills = 0;
          for (let crash = 0; crash < 4; crash++) {
            const running = server;
            await killDuringSend(
              running,
              sink,
              crash % 2 === 0 ? { afterMessages: randomInt(50, 600) } : { afterMs: randomInt(100, 1200) },
            );
            kills++;
            server = await start();
            if ((await sendState(databaseUrl, issueId)) === 'finished') break;
          }
          await sendFinished(databaseUrl, issueId, 120_000);

          // Nobody held out got anything; everyone else got exactly their arm's message; the rest got B.
          const expected: Record<string, string> = {
            A: 'Crash variant A',
            B: 'Crash variant B',
            rest: 'Crash variant B',
          };
          let duplicates = 0;
          for (const [email, arm] of arms) {
            const got = sink.received.get(email) ?? [];
            if (arm === 'holdout') {
              expect(got, `${email} is held out`).toEqual([]);
              continue;
            }
            expect(got.length, `${email} (${arm})`).toBeGreaterThanOrEqual(1);
            expect(new Set(got), `${email} (${arm})`).toEqual(new Set([expected[arm!]]));
            duplicates += got.length - 1;
          }
          expect(duplicates).toBeLessThanOrEqual(POOL * kills);
          console.log(
            `[experiment crash ${dialect}] freeze kills: ${seen.empty} before the ledger (${seen.midFreeze} inside its transaction), ${seen.full} after; winner kills: ${kills}; ${sink.accepted()} messages for ${RECIPIENTS - sizes.get('holdout')!} recipients, ${duplicates} duplicate(s)`,
          );
        } finally {
          await server?.stop();
          await rig.close();
        }
      },
    );
  });
}

// Two server processes, each with its send worker, on one PostgreSQL (SQLite allows one worker).
if (testDialects().includes('postgres'))
  describe('two workers on one PostgreSQL [postgres]', () => {
    it(
      'both race to start the send and to decide: every recipient in exactly one arm, each message once, the held out nothing',
      { timeout: 180_000 },
      async () => {
        const rig = await startCrashRig('postgres', 'experiment-two', POOL);
        const { sink, databaseUrl } = rig;
        const env = { ...rig.env, SEND_UNDO_SECONDS: '2' };
        const servers: RunningServer[] = [];
        try {
          // Side by side: neither has anything to send before the issue below exists.
          servers.push(
            ...(await startServers([
              { dataDir: rig.dataDir, databaseUrl, env },
              { dataDir: mkdtempSync(path.join(tmpdir(), 'footfall-experiment-two-b-')), databaseUrl, env },
            ])),
          );
          const n = 2000;
          const issueId = await withDb(databaseUrl, async (db) => {
            await seedSubscribers(db, n, { email: (i) => `two${i}@example.com`, chunk: 1000 });
            return createDraftIssue(db, 'Two workers');
          });
          const key = await apiKeyFor(databaseUrl, 'marketer');
          const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
          // Scheduled 2 s ahead: both workers find it due at about the same moment.
          const made = await request(servers[0]!, `/api/issues/${issueId}/send`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ audience: {}, experiment: { ...EXPERIMENT, wait_ms: 1 } }),
          });
          expect(made.status, made.text).toBe(202);
          // wait_ms 1: the workers' chores both find the wait over and race to decide.
          await sendFinished(databaseUrl, issueId, 120_000);
          const rows = await deliveriesByEmail(databaseUrl, issueId);
          expect(rows).toHaveLength(n);
          const sizes = armSizes(armPlan({ variants: 2, testShare: 0.1, holdoutShare: 0.1 }), n);
          const byArm: Record<string, number> = {};
          for (const r of rows) byArm[r.arm ?? 'none'] = (byArm[r.arm ?? 'none'] ?? 0) + 1;
          expect(byArm).toEqual(Object.fromEntries(sizes));
          const experiment = await withDb(databaseUrl, (db) =>
            db.selectFrom('experiments').selectAll().where('issue_id', '=', issueId).executeTakeFirstOrThrow(),
          );
          const winner = experiment.winner_arm;
          expect(winner).toBe('A');
          const expected: Record<string, string> = {
            A: 'Crash variant A',
            B: 'Crash variant B',
            rest: 'Crash variant A',
          };
          for (const r of rows) {
            const got = sink.received.get(r.email) ?? [];
            if (r.arm === 'holdout') expect(got, r.email).toEqual([]);
            else expect(got, `${r.email} (${r.arm})`).toEqual([expected[r.arm!]]);
          }
          const logs = servers.map((s) => s.output()).join('\n');
          expect(logs.match(/\[experiments\] issue \d+: variant A goes to the rest/g) ?? []).toHaveLength(1);
        } finally {
          for (const s of servers) await s.stop();
          await rig.close();
        }
      },
    );
  });
