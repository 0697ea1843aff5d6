import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { prepareTestShopDatabase } from './shop.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  process: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop: () => Promise<number | null>;
  /** SIGKILL: the crash case. */
  kill: () => Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  databaseUrl?: string;
  env?: Record<string, string>;
  /** Pin the server to a CPU with taskset (benchmarks). */
  cpu?: number;
  /** Another checkout to run (its src/server.ts and its build); this project by default. */
  root?: string;
  /**
   * false: a fresh install — no postal address, phone or hours in Settings and no MAIL_FROM.
   * By default the server is a configured shop (test/helpers/shop.ts) whose sender is MAIL_FROM
   * (Frobozz Electric <newsletter@localhost> unless the test gives its own), and "send now" starts
   * at once (SEND_UNDO_SECONDS=0) unless the test gives an undo window.
   */
  shop?: boolean;
}

/** The server secret a started server keys its hashes and tokens with: SECRET when the test set it, else the one it generated in DATA_DIR. */
export function serverSecretOf(server: RunningServer, env: Record<string, string> = {}): string {
  return env.SECRET ?? readFileSync(path.join(server.dataDir, 'secret'), 'utf8').trim();
}

/** A port nobody listens on right now (the OS picks it), so SITE_URL can name it before the server starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts several servers side by side (two workers on one database: neither has work before the
 * test's next step). If one fails to start, the others are stopped before the error is thrown.
 */
export async function startServers(options: StartOptions[]): Promise<RunningServer[]> {
  const started = await Promise.allSettled(options.map((o) => startServer(o)));
  const failed = started.find((s) => s.status === 'rejected');
  if (!failed) return started.map((s) => (s as PromiseFulfilledResult<RunningServer>).value);
  await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
  throw failed.reason;
}

/** Starts the real server (`node src/server.ts`, built site) on a free port and waits until it listens. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'footfall-srv-'));
  const databaseUrl = options.databaseUrl ?? `sqlite:${path.join(dataDir, 'footfall.db')}`;
  const port = options.env?.PORT ?? String(await freePort());
  const shop = options.shop ?? true;
  // A new database only: a restart on an existing SQLite file finds it as the last server left it.
  const sqliteFile = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : undefined;
  if (shop && !(sqliteFile && existsSync(sqliteFile))) await prepareTestShopDatabase(databaseUrl);
  const env = {
    ...process.env,
    ...(shop ? { MAIL_FROM: 'Frobozz Electric <newsletter@localhost>' } : { MAIL_FROM: '' }),
    SEND_UNDO_SECONDS: '0',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: port,
    SITE_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    ...options.env,
  };
  const root = options.root ?? projectRoot;
  const args = [path.join(root, 'src/server.ts')];
  const child =
    options.cpu === undefined
      ? spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(options.cpu), process.execPath, ...args], {
          cwd: root,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const listening = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 20 s:\n${log}`)), 20_000);
    const onData = () => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${log}`));
    });
  });

  return {
    url: `http://127.0.0.1:${listening}`,
    port: listening,
    dataDir,
    databaseUrl,
    process: child,
    output: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
