// npm run bench:tracking:postgres — bench:tracking in the multi-instance setup: two Footfall server
// processes on one PostgreSQL database (both pinned to core 0, the bare server's one core), each
// loaded by its own autocannon with half the connections (both pinned to core 1), the two runs at
// once and their answers summed; against the same bare node:http server as bench:tracking. Every
// verdict's state lives in the database, so the two processes judge one delivery's hits one after
// the other (its row locked); this measures what that costs. PostgreSQL runs wherever the machine
// puts it; its server processes' CPU a request is printed beside the two processes'. BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server whose user may create databases.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, startServer } from '../helpers/server.ts';
import { TEST_SECRET, withDb } from '../helpers/tracking.ts';
import { createTestDatabaseUrl } from '../helpers/databases.ts';
import { seedTrackedDeliveries } from './tracking-deliveries.ts';
import { conditions, cpuMicros, cpuMicrosOfAll, loadPaths, median, startPinned, type LoadResult } from './run-load.ts';
import { countRows } from '../helpers/rows.ts';

const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!adminUrl?.startsWith('postgres')) {
  console.error(
    'Set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a postgres://… server whose user may create databases.',
  );
  process.exit(1);
}
if (!existsSync(path.join(projectRoot, 'dist/current.json'))) {
  console.error('Build first: npm run build');
  process.exit(1);
}
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
// Five pairs, not three: on a shared host a run now and then goes at half speed (another tenant), and the median of five shrugs off two such runs a side.
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 400_000);
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 10);
const TARGETS = { pixel: 0.5, click: 0.5 };

const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-pg-'));
process.env.TEST_DATABASE_URL = adminUrl;
const { url: databaseUrl, drop } = await createTestDatabaseUrl('postgres', dataDir);
const env = {
  SECRET: TEST_SECRET,
  SEND_WORKER: '0',
  ...(process.env.BENCH_PROFILE ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=' + process.env.BENCH_PROFILE } : {}),
};
const first = await startServer({ dataDir, databaseUrl, cpu: 0, env });
const second = await startServer({ dataDir, databaseUrl, cpu: 0, env: { ...env, SITE_URL: first.url } });
const servers = [first, second];

// The deliveries, sent an hour ago; even ones go to the first server, odd ones to the second.
const { pixelPaths, clickPaths, location } = await seedTrackedDeliveries(databaseUrl, first.url, DELIVERIES);
const files = (kind: string, paths: string[]) => {
  const all = path.join(dataDir, `${kind}-all.txt`);
  writeFileSync(all, paths.join('\n') + '\n');
  const halves = [0, 1].map((half) => {
    const file = path.join(dataDir, `${kind}-${half}.txt`);
    writeFileSync(file, paths.filter((_, i) => i % 2 === half).join('\n') + '\n');
    return file;
  });
  return { all, halves };
};
const pathFiles = { pixel: files('pixel', pixelPaths), click: files('click', clickPaths) };
const barePixel = await startPinned(0, path.join(projectRoot, 'test/bench/bare-tracking.ts'), ['pixel']);
const bareClick = await startPinned(0, path.join(projectRoot, 'test/bench/bare-tracking.ts'), ['click', location]);
const count = (table: 'opens' | 'clicks') => withDb(databaseUrl, (db) => countRows(db, table));

/** Both servers at once, each with half the connections on its half of the deliveries; answers summed, CPU of both. */
async function loadBoth(
  kind: 'pixel' | 'click',
  seconds: number,
  next: number[],
): Promise<{ result: LoadResult; next: number[] }> {
  const before = servers.map((s) => cpuMicros(s.process.pid!));
  const postgresBefore = cpuMicrosOfAll('postgres');
  const runs = await Promise.all(
    servers.map((s, i) =>
      loadPaths(s.url, pathFiles[kind].halves[i]!, { cpu: 1, connections: CONNECTIONS / 2, seconds, start: next[i]! }),
    ),
  );
  const used = servers.reduce((sum, s, i) => sum + cpuMicros(s.process.pid!) - before[i]!, 0);
  const postgresUsed = cpuMicrosOfAll('postgres') - postgresBefore;
  const total = runs.reduce((a, r) => a + r.total, 0);
  const result: LoadResult = {
    requestsPerSecond: runs.reduce((a, r) => a + r.requestsPerSecond, 0),
    total,
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    p99ms: Math.max(...runs.map((r) => r.p99ms)),
    latencyMs: {
      p50: Math.max(...runs.map((r) => r.latencyMs!.p50)),
      p90: Math.max(...runs.map((r) => r.latencyMs!.p90)),
      p99: Math.max(...runs.map((r) => r.latencyMs!.p99)),
      p999: Math.max(...runs.map((r) => r.latencyMs!.p999)),
    },
    cpuMicrosPerRequest: used / Math.max(1, total),
    postgresMicrosPerRequest: postgresUsed / Math.max(1, total),
    serverBusy: used / 1_000_000 / seconds,
  };
  return { result, next: runs.map((r) => r.next) };
}

interface Runs {
  bare: LoadResult[];
  footfall: LoadResult[];
  answered: number;
  stored: number;
}
const results: Record<'pixel' | 'click', Runs> = {
  pixel: { bare: [], footfall: [], answered: 0, stored: 0 },
  click: { bare: [], footfall: [], answered: 0, stored: 0 },
};
const opts = { cpu: 1, connections: CONNECTIONS, seconds: SECONDS };
try {
  const pairs = [
    ['pixel', barePixel],
    ['click', bareClick],
  ] as const;
  const next = { pixel: [0, 0], click: [0, 0] };
  for (const [kind, bare] of pairs) {
    await loadPaths(bare.url, pathFiles[kind].all, { ...opts, seconds: WARM_UP_SECONDS });
    next[kind] = (await loadBoth(kind, WARM_UP_SECONDS, next[kind])).next;
  }
  const before = { pixel: await count('opens'), click: await count('clicks') };
  for (let i = 0; i < RUNS; i++) {
    for (const [kind, bare] of pairs) {
      const b = await loadPaths(bare.url, pathFiles[kind].all, { ...opts, serverPid: bare.child.pid });
      const f = await loadBoth(kind, SECONDS, next[kind]);
      next[kind] = f.next;
      const bad = kind === 'pixel' ? f.result.non2xx : f.result.total - f.result.non2xx;
      if (bad || f.result.errors) throw new Error(`${kind}: ${bad} unexpected answers and ${f.result.errors} errors`);
      results[kind].bare.push(b);
      results[kind].footfall.push(f.result);
      results[kind].answered += f.result.total;
    }
  }
  results.pixel.stored = (await count('opens')) - before.pixel;
  results.click.stored = (await count('clicks')) - before.click;
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  barePixel.child.kill('SIGTERM');
  bareClick.child.kill('SIGTERM');
  await drop();
}

console.log(
  `conditions: ${conditions()}; PostgreSQL (${adminUrl.replace(/\/\/[^@]*@/, '//')}), two Footfall processes on one database, both pinned to core 0; two autocannon with ${CONNECTIONS / 2} connections each (one per process) and the bare server's autocannon with ${CONNECTIONS}, pinned to core 1; ${WARM_UP_SECONDS} s warm-up each, then ${SECONDS} s × ${RUNS} interleaved runs, median; ${DELIVERIES.toLocaleString('en')} deliveries' tokens`,
);
// The network lookup in the path: its table's size, as the server said at start.
console.log(`network table: ${/\[networks\] ([^\n]*)/.exec(first.output())?.[1] ?? 'not reported'}`);
let ok = true;
for (const kind of ['pixel', 'click'] as const) {
  const r = results[kind];
  const rps = (list: LoadResult[]) => median(list.map((x) => x.requestsPerSecond));
  const ratio = rps(r.footfall) / rps(r.bare);
  const cpu = (list: LoadResult[]) => median(list.map((x) => x.cpuMicrosPerRequest ?? 0));
  console.log(
    `${kind} bare node:http req/s: ${r.bare.map((x) => Math.round(x.requestsPerSecond)).join(', ')} (median ${Math.round(rps(r.bare))}), p99 ${median(r.bare.map((x) => x.latencyMs!.p99))} ms`,
  );
  console.log(
    `${kind} footfall (two processes) req/s: ${r.footfall.map((x) => Math.round(x.requestsPerSecond)).join(', ')} (median ${Math.round(rps(r.footfall))}), p99 ${median(r.footfall.map((x) => x.latencyMs!.p99))} ms`,
  );
  console.log(
    `${kind} server CPU per request: bare ${cpu(r.bare).toFixed(1)} µs, footfall ${cpu(r.footfall).toFixed(1)} µs (both processes), PostgreSQL ${median(r.footfall.map((x) => x.postgresMicrosPerRequest ?? 0)).toFixed(1)} µs (its server processes)`,
  );
  const storedOk = r.stored >= r.answered && r.stored <= r.answered + CONNECTIONS * RUNS;
  console.log(`${kind} rows stored: ${r.stored} for ${r.answered} answered (${storedOk ? 'none lost' : 'MISMATCH'})`);
  console.log(`${kind} ratio: ${ratio.toFixed(2)} (target >= ${TARGETS[kind]})`);
  ok &&= ratio >= TARGETS[kind] && storedOk;
}
process.exit(ok ? 0 : 1);
