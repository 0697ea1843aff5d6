// npm run bench:pages — article page throughput with page-view counting on, as a ratio against a
// bare node:http server sending the same bytes, measured in the same run. Server on core 0,
// autocannon on core 1, three interleaved runs, median.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, startServer } from '../helpers/server.ts';
import { currentBuild } from '../../src/lib/build/site-builds.ts';
import { builtArticlePaths } from '../helpers/site.ts';
import { pageViewsIn } from '../helpers/rows.ts';
import { conditions, cpuMicros, load, median, startPinned, type LoadResult } from './run-load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const RUNS = 3;
const TARGET = 0.6;

if (!currentBuild(projectRoot)) {
  console.error('Build first: npm run build');
  process.exit(1);
}
const article = builtArticlePaths()[0]!;

const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-'));
const footfall = await startServer({ dataDir, cpu: 0 });
// The bare server sends the bytes Footfall sends: the built page with the site's details (Settings) filled in.
const served = await fetch(footfall.url + article);
if (served.status !== 200) throw new Error(`footfall answered ${served.status} for ${article}`);
const htmlFile = path.join(dataDir, 'page.html');
writeFileSync(htmlFile, Buffer.from(await served.arrayBuffer()));
const bare = await startPinned(0, path.join(projectRoot, 'test/bench/bare-server.ts'), [htmlFile, '0']);

const bareRuns: number[] = [];
const footfallRuns: number[] = [];
// Server CPU (user + system) per answered request: steadier than req/s on a machine whose speed varies.
const bareCpu: number[] = [];
const footfallCpu: number[] = [];
async function measured(url: string, pid: number, cpuPerRequest: number[]): Promise<LoadResult> {
  const before = cpuMicros(pid);
  const result = await load(url, { cpu: 1, connections: CONNECTIONS, seconds: SECONDS });
  cpuPerRequest.push((cpuMicros(pid) - before) / Math.max(1, result.total));
  return result;
}
let counted: number;
try {
  // warm-up, not measured
  await load(bare.url + article, { cpu: 1, connections: CONNECTIONS, seconds: 1 });
  await load(footfall.url + article, { cpu: 1, connections: CONNECTIONS, seconds: 1 });
  const before = (await pageViewsIn(footfall.databaseUrl)).length;
  let answered = 0;
  for (let i = 0; i < RUNS; i++) {
    const b = await measured(bare.url + article, bare.child.pid!, bareCpu);
    const f = await measured(`${footfall.url}${article}?utm_campaign=bench`, footfall.process.pid!, footfallCpu);
    if (f.non2xx || f.errors) throw new Error(`footfall answered ${f.non2xx} non-2xx and ${f.errors} errors`);
    bareRuns.push(b.requestsPerSecond);
    footfallRuns.push(f.requestsPerSecond);
    answered += f.total;
  }
  counted = (await pageViewsIn(footfall.databaseUrl)).length - before;
  if (counted < answered) throw new Error(`only ${counted} of ${answered} answered views were counted`);
} finally {
  await footfall.stop();
  bare.child.kill('SIGTERM');
}

const ratio = median(footfallRuns) / median(bareRuns);
console.log(
  `conditions: ${conditions()}; server pinned to core 0, autocannon to core 1; ${CONNECTIONS} connections, ${SECONDS} s × ${RUNS} interleaved runs, median`,
);
console.log(`page: ${article} (prerendered), counting on (SQLite, group commit), ${counted} views counted`);
console.log(`bare node:http req/s: ${bareRuns.map(Math.round).join(', ')} (median ${Math.round(median(bareRuns))})`);
console.log(`footfall req/s: ${footfallRuns.map(Math.round).join(', ')} (median ${Math.round(median(footfallRuns))})`);
console.log(
  `server CPU per request: bare ${median(bareCpu).toFixed(1)} µs, footfall ${median(footfallCpu).toFixed(1)} µs (medians; ${bareCpu.map((x) => x.toFixed(1)).join(', ')} / ${footfallCpu.map((x) => x.toFixed(1)).join(', ')})`,
);
console.log(`pages ratio: ${ratio.toFixed(2)} (target >= ${TARGET})`);
process.exit(ratio >= TARGET ? 0 : 1);
