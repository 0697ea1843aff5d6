import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { withDatabase } from '../helpers/accounts.ts';
import { callerHash } from '../../src/lib/offline/call-webhook.ts';

/**
 * Calls arrive in bursts, and the server entry writes them through the group-commit writer: many
 * calls share a transaction. Whatever the batches turn out to be, a provider's call id is stored
 * once (a replay in the same burst, on the other server process, or later), the first call on
 * record from a caller is the first-time one and every later one a repeat, and the maintained
 * counts equal a direct count of the rows.
 */
const SECRET = 'y'.repeat(16) + 'server-secret-for-call-batch-tests';
const CALLRAIL_KEY = 'callrail-signing-key-batches-0123';

const callrailBody = (id: string, caller: string, answered: boolean) =>
  JSON.stringify({
    answered,
    customer_phone_number: caller,
    direction: 'inbound',
    duration: answered ? '30' : '0',
    id,
    start_time: new Date(Date.now() - 5 * 60_000).toISOString().replace('Z', '+00:00'),
    tracking_phone_number: '+441632960888',
  });

const post = async (server: RunningServer, body: string) => {
  const res = await fetch(`${server.url}/api/webhooks/callrail`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      signature: createHmac('sha1', CALLRAIL_KEY).update(body).digest('base64'),
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { stored: boolean; event: { id: number } } };
};

for (const dialect of testDialects()) {
  describe(`call webhooks in bursts, two server processes [${dialect}]`, () => {
    let one: RunningServer;
    let two: RunningServer;
    let url: string;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-call-batches-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      url = created.url;
      const env = { SECRET, CALLRAIL_SIGNING_KEY: CALLRAIL_KEY };
      one = await startServer({ dataDir: dir, databaseUrl: url, env });
      two = await startServer({ dataDir: dir, databaseUrl: url, env: { ...env, SEND_WORKER: '0' } });
    }, 120_000);
    afterAll(async () => {
      await two?.stop();
      await one?.stop();
      await drop?.();
    });

    const rows = () =>
      withDatabase(url, (db) =>
        db
          .selectFrom('offline_events')
          .select(['id', 'client_id', 'from_hash', 'repeat_caller', 'answered'])
          .where('client_id', 'like', 'callrail:%')
          .orderBy('id')
          .execute(),
      );

    it('a burst with replays, sent to both processes at once: each call id stored once, one 201 each, the same event for every replay', async () => {
      const callers = ['+441632960301', '+441632960302', '+441632960303'];
      const ids = Array.from({ length: 12 }, (_, i) => `BURST${i}`);
      // Every call posted four times, twice to each process, all at once.
      const sent = ids.flatMap((id, i) =>
        [one, two, one, two].map((server) => ({ id, server, body: callrailBody(id, callers[i % 3]!, i % 2 === 0) })),
      );
      const answers = await Promise.all(sent.map(async (s) => ({ id: s.id, ...(await post(s.server, s.body)) })));
      for (const id of ids) {
        const mine = answers.filter((a) => a.id === id);
        expect(mine.map((a) => a.status).sort(), id).toEqual([200, 200, 200, 201]);
        expect(new Set(mine.map((a) => a.body.event.id)).size, id).toBe(1);
      }
      const stored = await rows();
      expect(stored.map((r) => r.client_id).sort()).toEqual(ids.map((id) => `callrail:${id}`).sort());
    });

    it('first-time and repeat callers follow the order calls were stored in, within a burst and across bursts', async () => {
      const caller = '+441632960399';
      const burst = (from: number) =>
        Promise.all(
          Array.from({ length: 8 }, (_, i) => post(i % 2 ? two : one, callrailBody(`ORDER${from + i}`, caller, true))),
        );
      for (const answer of await burst(0)) expect(answer.status).toBe(201);
      for (const answer of await burst(8)) expect(answer.status).toBe(201);
      const mine = (await rows()).filter((r) => r.from_hash === callerHash(SECRET, caller));
      expect(mine).toHaveLength(16);
      // The first stored is the first-time call; every other a repeat (ids are in the order of storing).
      expect(mine.map((r) => Number(r.repeat_caller))).toEqual([0, ...new Array(15).fill(1)]);
    });

    it('the maintained counts and the callers’ rows equal a direct count of the stored calls', async () => {
      const stored = await rows();
      const counted = await withDatabase(url, async (db) => {
        const figures = await db
          .selectFrom('report_counts')
          .select(['metric', (eb) => eb.fn.sum<number>('n').as('n')])
          .where('issue_id', '=', 0)
          .where('metric', 'in', ['call', 'call.answered', 'call.missed', 'call.first_time', 'call.repeat'])
          .groupBy('metric')
          .execute();
        return Object.fromEntries(figures.map((f) => [f.metric, Number(f.n)]));
      });
      expect(counted).toEqual({
        call: stored.length,
        'call.answered': stored.filter((r) => Number(r.answered) === 1).length,
        'call.missed': stored.filter((r) => Number(r.answered) === 0).length,
        'call.first_time': stored.filter((r) => Number(r.repeat_caller) === 0).length,
        'call.repeat': stored.filter((r) => Number(r.repeat_caller) === 1).length,
      });
      // So do the callers' rows (what the next call's first-time or repeat is read from).
      const callers = await withDatabase(url, (db) => db.selectFrom('callers').selectAll().execute());
      expect(new Set(callers.map((c) => c.from_hash))).toEqual(new Set(stored.map((r) => r.from_hash).filter(Boolean)));
    });
  });
}
