// npm run bench:tracking — open pixel and click redirect throughput, each as a ratio against a
// bare node:http server answering the same bytes (pixel) or the same 302 (click), measured in
// the same run. Server on core 0, autocannon on core 1, three interleaved runs, median.
// Every answered hit must be a stored row (opens / clicks), written through the group-commit writer.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, startServer } from '../helpers/server.ts';
import { clickUrl, openUrl, seedDelivery, seedIssue, TEST_SECRET, withDb } from '../helpers/tracking.ts';
import { conditions, load, median, startPinned, type LoadResult } from './run-load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const RUNS = 3;
const TARGETS = { pixel: 0.8, click: 0.7 };

if (!existsSync(path.join(projectRoot, 'dist/server/entry.mjs'))) {
  console.error('Build first: npm run build');
  process.exit(1);
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-tracking-'));
const footfall = await startServer({ dataDir, cpu: 0, env: { SECRET: TEST_SECRET, SEND_WORKER: '0' } });
const { pixel, click, location } = await withDb(footfall.databaseUrl, async (db) => {
  const issue = await seedIssue(db, footfall.url);
  const { deliveryId } = await seedDelivery(db, issue.issueId, Date.now() - 3_600_000);
  return { pixel: openUrl(footfall.url, deliveryId), click: clickUrl(footfall.url, deliveryId, issue.links.external.id), location: issue.links.external.url };
});
const barePixel = await startPinned(0, path.join(projectRoot, 'test/bench/bare-tracking.ts'), ['pixel']);
const bareClick = await startPinned(0, path.join(projectRoot, 'test/bench/bare-tracking.ts'), ['click', location]);

const count = (table: 'opens' | 'clicks') => withDb(footfall.databaseUrl, async (db) => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n));

type Runs = { bare: LoadResult[]; footfall: LoadResult[]; answered: number; stored: number };
const results: Record<'pixel' | 'click', Runs> = { pixel: { bare: [], footfall: [], answered: 0, stored: 0 }, click: { bare: [], footfall: [], answered: 0, stored: 0 } };
const opts = { cpu: 1, connections: CONNECTIONS, seconds: SECONDS };
try {
  for (const url of [barePixel.url, pixel, bareClick.url, click]) await load(url, { ...opts, seconds: 1 }); // warm-up, not measured
  const before = { pixel: await count('opens'), click: await count('clicks') };
  for (let i = 0; i < RUNS; i++) {
    for (const [kind, bareUrl, url] of [['pixel', barePixel.url, pixel], ['click', bareClick.url, click]] as const) {
      const b = await load(bareUrl, opts);
      const f = await load(url, opts);
      const bad = kind === 'pixel' ? f.non2xx : f.total - f.non2xx; // every click answer is a 302 (autocannon counts it as non-2xx)
      if (bad || f.errors) throw new Error(`${kind}: ${bad} unexpected answers and ${f.errors} errors`);
      results[kind].bare.push(b);
      results[kind].footfall.push(f);
      results[kind].answered += f.total;
    }
  }
  results.pixel.stored = (await count('opens')) - before.pixel;
  results.click.stored = (await count('clicks')) - before.click;
} finally {
  await footfall.stop();
  barePixel.child.kill('SIGTERM');
  bareClick.child.kill('SIGTERM');
}

console.log(`conditions: ${conditions()}; server pinned to core 0, autocannon to core 1; ${CONNECTIONS} connections, ${SECONDS} s × ${RUNS} interleaved runs, median; SQLite, group commit; one delivery's token`);
let ok = true;
for (const kind of ['pixel', 'click'] as const) {
  const r = results[kind];
  const rps = (list: LoadResult[]) => median(list.map((x) => x.requestsPerSecond));
  const p99 = (list: LoadResult[]) => median(list.map((x) => x.p99ms));
  const ratio = rps(r.footfall) / rps(r.bare);
  const p99Ratio = p99(r.footfall) / Math.max(1, p99(r.bare));
  console.log(`${kind} bare node:http req/s: ${r.bare.map((x) => Math.round(x.requestsPerSecond)).join(', ')} (median ${Math.round(rps(r.bare))}), p99 ${p99(r.bare)} ms`);
  console.log(`${kind} footfall req/s: ${r.footfall.map((x) => Math.round(x.requestsPerSecond)).join(', ')} (median ${Math.round(rps(r.footfall))}), p99 ${p99(r.footfall)} ms`);
  // Requests cut off when a run ends are stored but not counted by autocannon: at most one per connection per run.
  const storedOk = r.stored >= r.answered && r.stored <= r.answered + CONNECTIONS * RUNS;
  console.log(`${kind} rows stored: ${r.stored} for ${r.answered} answered (${storedOk ? 'none lost' : 'MISMATCH'})`);
  console.log(`${kind} ratio: ${ratio.toFixed(2)} (target >= ${TARGETS[kind]}); p99 ratio: ${p99Ratio.toFixed(2)} (target <= 2)`);
  ok &&= ratio >= TARGETS[kind] && p99Ratio <= 2 && storedOk;
}
process.exit(ok ? 0 : 1);
