/**
 * The Footfall process: one node:http server in front of Astro.
 *   /t/…            tracking fast path (no Astro)
 *   prerendered     pages and assets from memory, page views counted here
 *   everything else Astro (@astrojs/node in middleware mode): SSR pages, actions, admin
 * SQLite: WAL checkpoints run in a thread of their own (lib/db/wal-checkpointer.ts).
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, flush the event writer, close the database.
 */
import http from 'node:http';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, getConfig } from './lib/config.ts';
import { createAppContext, installAppContext, type AppContext } from './lib/app/context.ts';
import { migrateToLatest } from './lib/db/migrate.ts';
import { sqliteHandle } from './lib/db/database.ts';
import { startWalCheckpointer } from './lib/db/wal-checkpointer.ts';
import { clientAddress } from './lib/http/client-address.ts';
import { StaticSite, type StaticFile } from './lib/http/static-site.ts';
import { handleTrackingRequest } from './lib/tracking/tracking-handler.ts';
import { handleOneClickUnsubscribe, ONE_CLICK_PREFIX } from './lib/subscribers/one-click-unsubscribe.ts';
import { readSubscriberToken } from './lib/subscribers/links.ts';
import { recordUnsubscribePage } from './lib/tracking/tracking.service.ts';
import { API_PREFIX, prepareApiRequest } from './lib/http/api-requests.ts';
import { recordPageView } from './lib/analytics/page-views.service.ts';
import { isCountedPath } from './lib/analytics/page-view.ts';
import { announceSetupLink } from './lib/auth/setup-link.ts';
import { startEmbeddedWorker } from './lib/sending/run-worker.ts';
import { schedulePruning } from './lib/reports/retention.service.ts';
import { NetworkDataError } from './lib/network/networks.service.ts';

type AstroHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: () => void, locals?: object) => Promise<void>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text + '\n');
}

async function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, file: StaticFile, pathname: string, ip: string, app: AppContext) {
  if (file.isPage && req.method === 'GET' && isCountedPath(pathname)) {
    try {
      await recordPageView(app, {
        url: req.url ?? pathname,
        referrer: req.headers.referer,
        userAgent: req.headers['user-agent'],
        ownHost: req.headers.host,
        ip,
        cookie: req.headers.cookie,
      });
    } catch {
      // The writer already logged it; the reader still gets the page.
    }
  }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, { etag: file.etag, 'cache-control': file.headers['cache-control']! });
    res.end();
    return;
  }
  res.writeHead(200, file.headers);
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/**
 * The unsubscribe page of an issue's message opened: a GET unsubscribes nobody, but it is a link
 * of the message followed, which a scanner sweeping every link does (kept as a link check).
 */
async function noteUnsubscribePage(req: http.IncomingMessage, pathname: string, ip: string, app: AppContext): Promise<void> {
  const link = readSubscriberToken({ secret: app.secret, siteUrl: app.config.siteUrl }, pathname.slice(ONE_CLICK_PREFIX.length));
  if (!link?.issueId) return;
  try {
    await recordUnsubscribePage(app, { issueId: link.issueId, subscriberId: link.subscriberId, userAgent: req.headers['user-agent'] ?? '', ip });
  } catch {
    // The writer already logged it; the page is still served.
  }
}

function createListener(app: AppContext, site: StaticSite, astro: AstroHandler) {
  const failed = (req: http.IncomingMessage, res: http.ServerResponse, url: string, error: unknown) => {
    console.error(`[server] ${req.method} ${url.slice(0, 200)} failed:`, error);
    if (!res.headersSent) sendText(res, 500, 'Internal server error');
    else res.destroy();
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, url: string) => {
    if (req.method === 'POST' && url.startsWith(ONE_CLICK_PREFIX)) return await handleOneClickUnsubscribe(req, res, app);
    if (url.startsWith(API_PREFIX)) prepareApiRequest(req); // key-authenticated: no cookie, no origin check
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], app.config.trustProxy);
    const rawPath = url.split('?', 1)[0]!;
    let pathname: string;
    try {
      pathname = decodeURI(rawPath);
    } catch {
      return sendText(res, 400, 'Bad request: the path is not valid percent-encoded UTF-8.');
    }
    if (req.method === 'GET' && pathname.startsWith(ONE_CLICK_PREFIX)) await noteUnsubscribePage(req, pathname, ip, app);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const file = site.find(pathname);
      if (file) return await serveStatic(req, res, file, pathname, ip, app);
    }
    await astro(req, res, undefined, { clientAddress: ip });
  };
  // Not an async function itself: the tracking fast path answers without extra promise hops.
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    try {
      const answered = url.startsWith('/t/') ? handleTrackingRequest(req, res, app) : handle(req, res, url);
      answered?.catch((error: unknown) => failed(req, res, url, error));
    } catch (error) {
      failed(req, res, url, error);
    }
  };
}

async function main(): Promise<void> {
  let config;
  try {
    config = getConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const build = config.buildDir ?? path.join(root, 'dist');
  const entry = path.join(build, 'server/entry.mjs');
  if (!existsSync(entry)) {
    console.error(config.buildDir ? `No build found at BUILD_DIR ${config.buildDir}.` : 'No build found at dist/: run `npm run build` (npm start does it for you).');
    process.exit(1);
  }

  const app = createAppContext(config);
  try {
    const { from, milliseconds, byteLength, cacheWarning } = app.networks.info;
    console.log(`[networks] IP → network owner table ${from === 'cache' ? 'read' : 'compiled'} in ${Math.round(milliseconds)} ms (${(byteLength / 1048576).toFixed(1)} MB)`);
    if (cacheWarning) console.warn(`[networks] ${cacheWarning}`);
  } catch (error) {
    if (!(error instanceof NetworkDataError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const applied = await migrateToLatest(app.db);
  if (applied.length > 0) console.log(`[db] applied ${applied.length} migration(s): ${applied.join(', ')}`);
  const sqlite = sqliteHandle(app.db);
  const checkpointer = sqlite && startWalCheckpointer(sqlite);
  installAppContext(app);

  const site = new StaticSite(path.join(build, 'client'));
  const { handler } = (await import(pathToFileURL(entry).href)) as { handler: AstroHandler };
  const server = http.createServer({ keepAliveTimeout: 5000 }, createListener(app, site, handler));
  // The send worker (SEND_WORKER=0 leaves sending to `npm run worker` processes).
  const sendWorker = config.sending.worker ? startEmbeddedWorker(app) : undefined;
  const stopPruning = schedulePruning(app.db);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[server] ${signal}: stopping`);
    const force = setTimeout(() => {
      console.error('[server] shutdown took over 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    server.close();
    server.closeIdleConnections();
    // Messages in flight finish and are recorded; claimed ones not yet sent go back to the queue.
    stopPruning();
    await Promise.all([closed, sendWorker?.stop()]);
    await checkpointer?.stop();
    await app.close();
    console.log('[server] stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const listening = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    console.log(`[server] Footfall listening on ${listening} (${site.size} static files, database ${app.db ? config.databaseUrl.split(':')[0] : ''})`);
    // With no account yet, the one-time link for the first admin (PORT=0: only the socket knows the port).
    announceSetupLink(app.db, config.port === 0 ? listening : config.siteUrl).catch((error) => console.error('[setup] could not create the setup link:', error));
  });
}

await main();
