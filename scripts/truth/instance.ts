import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { createDatabase } from '../../src/lib/db/database.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { createApiKey } from '../../src/lib/auth/api-keys.service.ts';
import { buildSite } from '../../src/lib/build/site-builds.ts';
import { getSettings, saveSettings } from '../../src/lib/settings/settings.service.ts';

/**
 * A fresh Footfall instance for a replay: its own data folder (outbox mail, no SMTP), its own
 * database (a SQLite file in that folder, or a new database on the PostgreSQL server named), the
 * real server (`src/server.ts`) with a clock the replay moves, TRUST_PROXY so X-Forwarded-For
 * names each hit's address, and an admin API key. Its build is the checkout's current one (made when
 * the sources changed, beside a running server's, which keeps its own).
 */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The send worker's poll period in a replay's servers: the shortest it honours (it looks for due
 * sends at most every 250 ms of its clock), so a step of the frozen clock starts the send within
 * one short real poll.
 */
export const SEND_POLL_MS = 250;

export interface Instance {
  /** Where requests go: the server, or the round-robin proxy in front of two. */
  url: string;
  dataDir: string;
  databaseUrl: string;
  secret: string;
  apiKey: string;
  /** The server processes (one, or two behind the proxy). */
  servers: StartedServer[];
  output: () => string;
  /** Sets the servers' clock (it stands still there until set again; only forward). */
  setClock: (at: number) => Promise<void>;
  /** Kills server `index` (SIGKILL: a crash) and starts it again on the same port and database. */
  restart: (index: number) => Promise<void>;
  /** Requests the proxy passed to each server (two servers), and how many times a server was restarted. */
  stats: { requestsPerServer: number[]; restarts: number };
  /** Stops the server and removes what the instance made (unless `keep`). */
  close: (options?: { keep?: boolean }) => Promise<void>;
}

export interface InstanceOptions {
  /** postgres://… to run on PostgreSQL (a fresh database is created there and dropped after); SQLite by default. */
  database?: string;
  /**
   * Makes the instance's new database instead (on PostgreSQL when `database` is given, else a
   * SQLite file in `dataDir`): empty, or already migrated (the tests hand in a copy of their run's
   * migrated template; the migration then finds nothing to do).
   */
  newDatabase?: (dataDir: string) => Promise<{ url: string; drop: () => Promise<void> }>;
  /** Two server processes on the one database behind a round-robin proxy (PostgreSQL only). */
  servers?: 1 | 2;
  /** More environment for the server. */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

/** Logs a phase's end with the seconds since this was made (where a replay's time goes). */
export function phaseLog(log: (line: string) => void): (phase: string) => void {
  const start = performance.now();
  return (phase) => log(`${phase} at ${((performance.now() - start) / 1000).toFixed(2)} s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The checkout's current build, made (atomically, beside any running server's) when the sources changed. */
export async function ensureBuild(log: (line: string) => void = () => {}): Promise<void> {
  const outcome = await buildSite(projectRoot, { quiet: true });
  if (outcome.built) log(`built the site into ${path.relative(projectRoot, outcome.build.dir)}`);
}

/** A new, empty database on the PostgreSQL server of `adminUrl`, and how to drop it. */
async function createPostgresDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `footfall_truth_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The (migrated) database set up before the server starts: a sender and a postal address in
 * Settings (a fresh install has neither, and its issue would fail the pre-send checks), and an
 * admin API key, which is returned.
 */
async function prepareDatabase(databaseUrl: string, siteUrl: string): Promise<string> {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    await migrateToLatest(db);
    const saved = await saveSettings(
      db,
      {
        ...(await getSettings(db)),
        siteUrl,
        senderName: 'Truth replay',
        senderAddress: 'newsletter@truth.example',
        postalAddress: 'Truth replay, 1 Example Street, Exampleton',
      },
      null,
    );
    if (!saved.ok) throw new Error(`settings not saved: ${JSON.stringify(saved.errors)}`);
    const created = await createApiKey(db, { name: 'truth replay', role: 'admin', createdBy: null });
    if (!created.ok) throw new Error(`API key not created: ${created.message}`);
    return created.value.key;
  } finally {
    await db.destroy();
  }
}

export interface StartedServer {
  child: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  setClock: (at: number) => Promise<void>;
  /** SIGTERM, and wait for it to exit. */
  stop: () => Promise<void>;
  /** SIGKILL: the crash case. */
  kill: () => Promise<void>;
}

/** One server process of an instance (the multi-instance tests start two on one database). */
export async function startServerProcess(
  env: Record<string, string>,
  log: (line: string) => void = () => {},
): Promise<StartedServer> {
  const clock = pathToFileURL(path.join(projectRoot, 'scripts/truth/clock.ts')).href;
  const child = spawn(process.execPath, [path.join(projectRoot, 'src/server.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      ...env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${clock}`.trim(),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening:\n${output}`));
    });
  });
  log(`server ${child.pid} listening on port ${port}`);
  let waiting: ((at: number) => void) | undefined;
  child.on('message', (m: { type?: string; at?: number }) => {
    if (m?.type === 'footfall-clock-set') waiting?.(m.at!);
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    setClock: (at) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not answer the clock')), 10_000);
        waiting = () => {
          clearTimeout(timer);
          waiting = undefined;
          resolve();
        };
        child.send({ type: 'footfall-clock', at });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A tiny round-robin proxy: each request goes to the next server, with the client's address
 * appended to X-Forwarded-For as a real proxy does (the servers trust 127.0.0.1).
 */
function startRoundRobin(port: number, backends: () => number[], counts: number[]): Promise<http.Server> {
  let next = 0;
  const proxy = http.createServer((req, res) => {
    const ports = backends();
    const index = next++ % ports.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const target = ports[index]!;
    const headers = {
      ...req.headers,
      'x-forwarded-for': [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', '),
    };
    const upstream = http.request(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(port, '127.0.0.1', () => resolve(proxy));
  });
}

export async function startInstance(options: InstanceOptions = {}): Promise<Instance> {
  const log = options.log ?? (() => {});
  const mark = phaseLog(log);
  const count = options.servers ?? 1;
  if (count > 1 && !options.database) throw new Error('two server processes need PostgreSQL (--database postgres://…)');
  await ensureBuild(log);
  mark('build checked');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-truth-'));
  const database = options.newDatabase
    ? await options.newDatabase(dataDir)
    : options.database
      ? await createPostgresDatabase(options.database)
      : { url: `sqlite:${path.join(dataDir, 'footfall.db')}`, drop: async () => {} };
  const secret = randomBytes(32).toString('base64url');
  const servers: StartedServer[] = [];
  let proxy: http.Server | undefined;
  try {
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const front = count > 1 ? await freePort() : ports[0]!;
    mark('database created');
    const apiKey = await prepareDatabase(database.url, `http://127.0.0.1:${front}`);
    mark('database migrated and set up');
    const envFor = (port: number) => ({
      PORT: String(port),
      SITE_URL: `http://127.0.0.1:${front}`,
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SECRET: secret,
      TRUST_PROXY: '127.0.0.1',
      SEND_WORKER: '1',
      // The replay sends at once: no undo window before the first message.
      SEND_UNDO_SECONDS: '0',
      SEND_POLL_MS: String(SEND_POLL_MS),
      ...options.env,
    });
    // Started side by side: each spends most of its start-up loading code, not waiting on the other.
    const started = await Promise.allSettled(ports.map((port) => startServerProcess(envFor(port), log)));
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    mark('servers listening');
    const stats = { requestsPerServer: ports.map(() => 0), restarts: 0 };
    if (count > 1) proxy = await startRoundRobin(front, () => servers.map((s) => s.port), stats.requestsPerServer);
    const stopAll = async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    };
    let clockAt: number | undefined;
    return {
      url: `http://127.0.0.1:${front}`,
      dataDir,
      databaseUrl: database.url,
      secret,
      apiKey,
      servers,
      stats,
      output: () => servers.map((s) => s.output()).join('\n'),
      setClock: async (at) => {
        clockAt = at;
        await Promise.all(servers.map((s) => s.setClock(at)));
      },
      restart: async (index) => {
        const old = servers[index]!;
        await old.kill();
        const again = await startServerProcess(envFor(old.port), log);
        if (clockAt !== undefined) await again.setClock(clockAt);
        servers[index] = again;
        stats.restarts++;
      },
      close: async ({ keep = false } = {}) => {
        await stopAll();
        if (keep) return;
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    proxy?.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
