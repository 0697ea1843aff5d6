import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../helpers/server.ts';

const run = promisify(execFile);
const autocannonBin = path.join(projectRoot, 'node_modules/autocannon/autocannon.js');

export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  non2xx: number;
  errors: number;
  /** autocannon's p99, in whole milliseconds. */
  p99ms: number;
  /** Percentiles to 10 µs, where the load script measured them (loadPaths). */
  latencyMs?: { p50: number; p90: number; p99: number; p999: number };
  /** The server's CPU time (user + system) per answered request, when its pid was given. */
  cpuMicrosPerRequest?: number;
  /** PostgreSQL's server processes' CPU a request, where a bench measures it. */
  postgresMicrosPerRequest?: number;
  /** The share of its core the server used during the run, when its pid was given (0–1). */
  serverBusy?: number;
  /** The share of its core the load generator used (0–1), where the load script measured it. */
  loadBusy?: number;
}

/** A process's CPU time so far in microseconds (user + system, from /proc). */
export function cpuMicros(pid: number): number {
  return cpuMicrosOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** User + system time (µs) from a /proc/<pid>/stat line (the fields after the command's closing parenthesis). */
function cpuMicrosOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/** CPU time (user + system, µs) of every process named `name` now running (PostgreSQL's backends, say); ones that exit meanwhile are missed. */
export function cpuMicrosOfAll(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== name) continue;
      total += cpuMicrosOfStat(stat);
    } catch {
      // gone since the listing
    }
  }
  return total;
}

/** One autocannon run in its own process, pinned to `cpu`, so it does not share a core with the server. */
export async function load(
  url: string,
  options: { cpu: number; connections: number; seconds: number; method?: string },
): Promise<LoadResult> {
  const args = [
    '-c',
    String(options.cpu),
    process.execPath,
    autocannonBin,
    '-c',
    String(options.connections),
    '-d',
    String(options.seconds),
    '-m',
    options.method ?? 'GET',
    '-H',
    `user-agent=${BROWSER_UA}`,
    '-j',
    url,
  ];
  const { stdout } = await run('taskset', args, { maxBuffer: 64 * 1024 * 1024 });
  return parseResult(stdout);
}

/**
 * Like `load`, but the requests cycle through the paths listed in `pathsFile` (one a line) on
 * `origin`, e.g. a different tracking token on each request, from position `start`; answers
 * where the next run should start.
 */
export async function loadPaths(
  origin: string,
  pathsFile: string,
  options: { cpu: number; connections: number; seconds: number; start?: number; serverPid?: number },
): Promise<LoadResult & { next: number }> {
  const script = path.join(projectRoot, 'test/bench/autocannon-paths.ts');
  const args = [
    '-c',
    String(options.cpu),
    process.execPath,
    script,
    origin,
    pathsFile,
    String(options.connections),
    String(options.seconds),
    BROWSER_UA,
    String(options.start ?? 0),
  ];
  const before = options.serverPid ? cpuMicros(options.serverPid) : 0;
  const { stdout } = await run('taskset', args, { maxBuffer: 64 * 1024 * 1024 });
  const result = parseResult(stdout);
  const used = options.serverPid ? cpuMicros(options.serverPid) - before : 0;
  const cpu = options.serverPid
    ? { cpuMicrosPerRequest: used / Math.max(1, result.total), serverBusy: used / 1_000_000 / options.seconds }
    : {};
  const extra = JSON.parse(stdout) as { next: number; loadBusy: number };
  return { ...result, ...cpu, loadBusy: extra.loadBusy, next: extra.next };
}

/**
 * Like `loadPaths`, but each request is the next prepared POST of `requestsFile` (one JSON line
 * each: path, headers, body), sent as its raw bytes (test/bench/autocannon-requests.ts).
 */
export async function loadRequests(
  origin: string,
  requestsFile: string,
  options: { cpu: number; connections: number; seconds: number; start?: number; serverPid?: number },
): Promise<LoadResult & { next: number }> {
  const script = path.join(projectRoot, 'test/bench/autocannon-requests.ts');
  const args = [
    '-c',
    String(options.cpu),
    process.execPath,
    script,
    origin,
    requestsFile,
    String(options.connections),
    String(options.seconds),
    String(options.start ?? 0),
  ];
  const before = options.serverPid ? cpuMicros(options.serverPid) : 0;
  const { stdout } = await run('taskset', args, { maxBuffer: 64 * 1024 * 1024 });
  const result = parseResult(stdout);
  const used = options.serverPid ? cpuMicros(options.serverPid) - before : 0;
  const cpu = options.serverPid
    ? { cpuMicrosPerRequest: used / Math.max(1, result.total), serverBusy: used / 1_000_000 / options.seconds }
    : {};
  const extra = JSON.parse(stdout) as { next: number; loadBusy: number };
  return { ...result, ...cpu, loadBusy: extra.loadBusy, next: extra.next };
}

function parseResult(stdout: string): LoadResult {
  const json = JSON.parse(stdout) as {
    requests: { average: number };
    '2xx': number;
    non2xx: number;
    errors: number;
    latency: { p99: number };
    latencyMs?: LoadResult['latencyMs'];
  };
  return {
    requestsPerSecond: json.requests.average,
    total: json['2xx'] + json.non2xx,
    non2xx: json.non2xx,
    errors: json.errors,
    p99ms: json.latency.p99,
    ...(json.latencyMs ? { latencyMs: json.latencyMs } : {}),
  };
}

/** Starts a script pinned to `cpu` and waits for its "listening on <url>" line. */
export async function startPinned(
  cpu: number,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn('taskset', ['-c', String(cpu), process.execPath, script, ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s(]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
  return { url, child };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function conditions(): string {
  return `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}`;
}
