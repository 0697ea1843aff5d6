// One autocannon run whose requests cycle through a list of paths (a file, one path a line):
// each request, on whichever connection, takes the next path. Run by loadPaths in run-load.ts
// (pinned to its own core); prints the result as JSON like `autocannon -j`, plus `next`: the
// position after the last path taken, to start the next run there, and `loadBusy`: the share of
// its core this process used.
//   node test/bench/autocannon-paths.ts <url> <paths file> <connections> <seconds> <user agent> [start]
import { readFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';

const [url, pathsFile, connections, seconds, userAgent, start] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string | undefined,
];
const paths = readFileSync(pathsFile, 'utf8').split('\n').filter(Boolean);
if (paths.length === 0) throw new Error(`no paths in ${pathsFile}`);
let next = Number(start ?? 0);

// autocannon rebuilds a request from its options (three object copies, the header lines) each
// time a setupRequest callback changes it: a fifth of the load generator's CPU, enough to make it
// the bottleneck against a bare server. Only the path changes here, so after each connection's
// first request (built by autocannon) the next ones reuse its bytes around the new path.
interface Iterator {
  currentRequest: { requestBuffer?: Buffer };
  resetted: boolean;
}
const RequestIterator = createRequire(import.meta.url)('autocannon/lib/requestIterator.js') as {
  prototype: { nextRequest: (this: Iterator) => unknown };
};
let around: { head: string; tail: string } | undefined;
RequestIterator.prototype.nextRequest = function () {
  if (!around) {
    const first = this.currentRequest.requestBuffer!.toString('latin1');
    const pathStart = first.indexOf(' ') + 1;
    around = { head: first.slice(0, pathStart), tail: first.slice(first.indexOf(' ', pathStart)) };
  }
  this.resetted = false;
  this.currentRequest = {
    requestBuffer: Buffer.from(around.head + paths[next++ % paths.length]! + around.tail, 'latin1'),
  };
  return this.currentRequest;
};

// autocannon's own percentiles are whole milliseconds (its histogram's lowest discernible value
// is 1 ms), too coarse for a p99 of a few ms: each answer's time is also kept in 10 µs steps.
const STEP_MS = 0.01;
const steps = new Uint32Array(100_000); // up to 1 s; slower answers count in the last step
const run = autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  headers: { 'user-agent': userAgent },
  requests: [
    {
      setupRequest: (request) => {
        request.path = paths[next++ % paths.length]!;
        return request;
      },
    },
  ],
});
// Without a callback autocannon answers a promise that is also its event emitter (typed as the promise only).
(run as unknown as EventEmitter).on(
  'response',
  (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    steps[Math.min(steps.length - 1, Math.floor(responseTime / STEP_MS))]! += 1;
  },
);
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
const result = await run;
// This process's own share of its core during the run: near 100% means the load generator, not the server, set the pace.
const cpuUsed = process.cpuUsage(cpuBefore);
const loadBusy = (cpuUsed.user + cpuUsed.system) / 1000 / (performance.now() - startedAt);

/** The response time below which `p` percent of the answers came, in ms (to 10 µs). */
function percentile(p: number): number {
  const total = steps.reduce((a, b) => a + b, 0);
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < steps.length; i++) if ((seen += steps[i]!) >= rank) return Number(((i + 1) * STEP_MS).toFixed(2));
  return Number.NaN;
}
const latencyMs = { p50: percentile(50), p90: percentile(90), p99: percentile(99), p999: percentile(99.9) };
process.stdout.write(JSON.stringify({ ...result, latencyMs, next, loadBusy }));
