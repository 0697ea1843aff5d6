// npm run bench:webhooks — signed Twilio call status callbacks accepted per second by Footfall
// (POST /api/webhooks/twilio, served by the server entry before Astro: signature, fields, the call
// stored with its counts, caller hash, subscriber match and repeat-caller check, many calls a
// transaction through the event writer) against a bare node:http server
// that only checks the same signature and answers 204, measured in the same run. Server on
// core 0, autocannon on core 1, a warm-up each, three interleaved runs, median. Every request is
// a different call (its own CallSid), so each one Footfall answers is a stored row; the bench
// checks rows stored = calls answered 201.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, startServer } from '../helpers/server.ts';
import { currentBuild } from '../../src/lib/build/site-builds.ts';
import { TEST_SECRET, withDb } from '../helpers/tracking.ts';
import { twilioSignature } from '../../src/lib/offline/provider-calls.ts';
import { conditions, loadRequests, median, startPinned, type LoadResult } from './run-load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
// Five pairs, not three: on a shared host a run now and then goes at half speed (another tenant), and the median of five shrugs off two such runs a side.
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 500_000);
const TARGET = 0.5;
const TOKEN = 'bench-twilio-auth-token-0123456789';

if (!currentBuild(projectRoot)) {
  console.error('Build first: npm run build');
  process.exit(1);
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-webhooks-'));
const footfall = await startServer({
  dataDir,
  cpu: 0,
  env: {
    SECRET: TEST_SECRET,
    SEND_WORKER: '0',
    TWILIO_AUTH_TOKEN: TOKEN,
    ...(process.env.BENCH_PROFILE ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=' + process.env.BENCH_PROFILE } : {}),
  },
});
const signedUrl = `${footfall.url}/api/webhooks/twilio`;

// Twilio's status callbacks, each its own call: a thousand callers (some calling again), half of them answered.
const lines: string[] = [];
const now = Date.now();
for (let i = 0; i < CALLS; i++) {
  const caller = `+4416329${String(10_000 + (i % 1000)).padStart(5, '0')}`;
  const params: Record<string, string> = {
    AccountSid: 'AC' + '0'.repeat(32),
    ApiVersion: '2010-04-01',
    CallSid: 'CA' + i.toString(16).padStart(32, '0'),
    CallStatus: i % 2 ? 'completed' : 'no-answer',
    CallDuration: String(i % 2 ? 30 + (i % 300) : 0),
    Called: '+441632960777',
    Caller: caller,
    Direction: 'inbound',
    From: caller,
    To: '+441632960777',
    Timestamp: new Date(now - 60_000).toUTCString().replace('GMT', '+0000'),
  };
  const body = new URLSearchParams(params).toString();
  lines.push(
    JSON.stringify({
      path: '/api/webhooks/twilio',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(TOKEN, signedUrl, Object.entries(params)),
      },
      body,
    }),
  );
}
const requestsFile = path.join(dataDir, 'twilio-callbacks.jsonl');
writeFileSync(requestsFile, lines.join('\n') + '\n');
const bare = await startPinned(0, path.join(projectRoot, 'test/bench/bare-webhooks.ts'), [TOKEN, signedUrl]);

const storedCalls = () =>
  withDb(footfall.databaseUrl, async (db) =>
    Number(
      (
        await db
          .selectFrom('offline_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('client_id', 'like', 'twilio:%')
          .executeTakeFirstOrThrow()
      ).n,
    ),
  );

const results = { bare: [] as LoadResult[], footfall: [] as LoadResult[], answered: 0, stored: 0 };
const opts = { cpu: 1, connections: CONNECTIONS, seconds: SECONDS };
const loadBefore = loadavg();
try {
  await loadRequests(bare.url, requestsFile, { ...opts, seconds: WARM_UP_SECONDS }); // warm-up, not measured
  let next = (await loadRequests(footfall.url, requestsFile, { ...opts, seconds: WARM_UP_SECONDS })).next;
  const before = await storedCalls();
  for (let i = 0; i < RUNS; i++) {
    const b = await loadRequests(bare.url, requestsFile, { ...opts, serverPid: bare.child.pid });
    const f = await loadRequests(footfall.url, requestsFile, { ...opts, start: next, serverPid: footfall.process.pid });
    next = f.next;
    if (b.non2xx || b.errors) throw new Error(`bare: ${b.non2xx} refused and ${b.errors} errors`);
    if (f.non2xx || f.errors) throw new Error(`footfall: ${f.non2xx} not accepted and ${f.errors} errors`);
    if (next > CALLS) throw new Error(`ran out of prepared calls (${CALLS}): set BENCH_CALLS higher`);
    results.bare.push(b);
    results.footfall.push(f);
    results.answered += f.total;
  }
  results.stored = (await storedCalls()) - before;
} finally {
  await footfall.stop();
  bare.child.kill('SIGTERM');
}

const rps = (list: LoadResult[]) => median(list.map((x) => x.requestsPerSecond));
const cpu = (list: LoadResult[]) => median(list.map((x) => x.cpuMicrosPerRequest ?? 0));
const busy = (list: LoadResult[], key: 'serverBusy' | 'loadBusy') =>
  `${Math.round(median(list.map((x) => x[key] ?? 0)) * 100)}%`;
console.log(
  `conditions: ${conditions()}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) at the start, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(
      ' ',
    )} at the end; server pinned to core 0, autocannon to core 1; ${CONNECTIONS} connections, ${WARM_UP_SECONDS} s warm-up each, then ${SECONDS} s × ${RUNS} interleaved runs, median; SQLite; every request a new signed call (form-encoded, ~400 bytes)`,
);
console.log(
  `bare signature check req/s: ${results.bare.map((x) => Math.round(x.requestsPerSecond)).join(', ')} (median ${Math.round(rps(results.bare))}), server CPU ${cpu(results.bare).toFixed(1)} µs a request, ${busy(results.bare, 'serverBusy')} of its core`,
);
console.log(
  `footfall accepted req/s: ${results.footfall.map((x) => Math.round(x.requestsPerSecond)).join(', ')} (median ${Math.round(rps(results.footfall))}), server CPU ${cpu(results.footfall).toFixed(1)} µs a request, ${busy(results.footfall, 'serverBusy')} of its core; autocannon ${busy(results.bare, 'loadBusy')} / ${busy(results.footfall, 'loadBusy')} of its core`,
);
// Requests cut off when a run ends are stored but not counted by autocannon: at most one per connection per run.
const storedOk = results.stored >= results.answered && results.stored <= results.answered + CONNECTIONS * RUNS;
console.log(
  `calls stored: ${results.stored} for ${results.answered} accepted (${storedOk ? 'none lost' : 'MISMATCH'})`,
);
const ratio = rps(results.footfall) / rps(results.bare);
console.log(`webhooks ratio: ${ratio.toFixed(2)} (target >= ${TARGET})`);
process.exit(ratio >= TARGET && storedOk ? 0 : 1);
