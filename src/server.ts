/**
 * The Footfall process: one node:http server in front of Astro.
 *   /t/…            tracking fast path (no Astro)
 *   POST /api/webhooks/{calls,twilio,callrail}   the call webhooks (no Astro)
 *   prerendered     pages and assets from memory, page views counted here
 *   everything else Astro (@astrojs/node in middleware mode): SSR pages, actions, admin
 * SQLite: WAL checkpoints run in a thread of their own (lib/db/wal-checkpointer.ts).
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, flush the event writer, close the database.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, getConfig } from './lib/config.ts';
import { createAppContext, installAppContext, type AppContext } from './lib/app/context.ts';
import { upgradeDatabase } from './lib/app/upgrade-database.ts';
import { sqliteHandle } from './lib/db/database.ts';
import { startWalCheckpointer } from './lib/db/wal-checkpointer.ts';
import { clientAddress } from './web/http/client-address.ts';
import { StaticSite, type StaticFile } from './web/http/static-site.ts';
import { handleTrackingRequest } from './web/tracking-handler.ts';
import { callWebhookServer, isCallWebhookPost } from './web/webhook-handler.ts';
import { handleOneClickUnsubscribe, isOneClickPost, ONE_CLICK_FOLDER } from './web/one-click-unsubscribe.ts';
import { API_FOLDER, prepareApiRequest } from './web/http/api-requests.ts';
import { isUnder, parseRequestPath, type RequestPath } from './web/http/request-path.ts';
import { bodyAllowance, bodyRouteOf } from './web/http/body-limits.ts';
import { declaredBody, guardBody, hasBody, type BodyBudget } from './web/http/body-guard.ts';
import { baseSecurityHeaders } from './web/http/security-headers.ts';
import { readSubscriberToken } from './lib/subscribers/links.ts';
import { recordUnsubscribePage } from './lib/tracking/tracking.service.ts';
import { recordPageView } from './lib/analytics/page-views.service.ts';
import { isCountedPath } from './lib/analytics/page-view.ts';
import { announceSetupLink } from './lib/auth/setup-link.ts';
import { experimentChore, startEmbeddedWorker, weeklyDigestChore } from './lib/sending/run-worker.ts';
import { composeWeeklyDigest } from './admin/weekly-digest.ts';
import { bounceMailboxChore } from './lib/bounces/mailbox/chore.ts';
import { schedulePruning } from './lib/reports/retention.service.ts';
import { keepNewFilesPrivate } from './lib/security/private-files.ts';
import { claimCurrentBuild } from './lib/build/site-builds.ts';
import { builtPagePaths } from './lib/build/site-pages.ts';
import { NetworkDataError } from './lib/network/networks.service.ts';
import { defaultSettings, getSettings, peekSettings } from './lib/settings/settings.service.ts';
import { siteDetailsOf } from './lib/site/site-details.ts';

type AstroHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  next?: () => void,
  locals?: object,
) => Promise<void>;

const TRACKING_FOLDER = '/t';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text + '\n');
}

async function serveStatic(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  site: StaticSite,
  found: StaticFile,
  pathname: string,
  ip: string,
  app: AppContext,
) {
  // The site's details (name, address, phone, hours) as Settings have them now: cached, so no query per request.
  const file = found.slotted
    ? site.filled(found, siteDetailsOf(peekSettings(app.db) ?? (await currentSettings(app))))
    : found;
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
async function noteUnsubscribePage(
  req: http.IncomingMessage,
  pathname: string,
  ip: string,
  app: AppContext,
): Promise<void> {
  const link = readSubscriberToken(
    { secret: app.secret, siteUrl: app.config.siteUrl },
    pathname.slice(ONE_CLICK_FOLDER.length + 1),
  );
  if (!link?.issueId) return;
  try {
    await recordUnsubscribePage(app, {
      issueId: link.issueId,
      subscriberId: link.subscriberId,
      userAgent: req.headers['user-agent'] ?? '',
      ip,
    });
  } catch {
    // The writer already logged it; the page is still served.
  }
}

/** The settings for a page when none are cached yet; the defaults when the database does not answer (the page is still served). */
async function currentSettings(app: AppContext) {
  try {
    return await getSettings(app.db);
  } catch (error) {
    console.error('[server] settings unreadable, serving the defaults:', error);
    return defaultSettings(app.config);
  }
}

type Listener = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue?: boolean) => void;

function createListener(app: AppContext, site: StaticSite, astro: AstroHandler): Listener {
  const failed = (req: http.IncomingMessage, res: http.ServerResponse, url: string, error: unknown) => {
    console.error(`[server] ${req.method} ${url.slice(0, 200)} failed:`, error);
    if (!res.headersSent) sendText(res, 500, 'Internal server error');
    else res.destroy();
  };
  const handle = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: RequestPath,
    bodyBudget: BodyBudget,
  ) => {
    if (isOneClickPost(req.method, path)) {
      await handleOneClickUnsubscribe(req, res, app);
      return;
    }
    if (isUnder(path.route, API_FOLDER)) prepareApiRequest(req); // key-authenticated: no cookie, no origin check
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], app.config.trustProxy);
    if (req.method === 'GET' && isUnder(path.route, ONE_CLICK_FOLDER))
      await noteUnsubscribePage(req, path.route, ip, app);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const file = site.find(path.route);
      if (file) {
        await serveStatic(req, res, site, file, path.route, ip, app);
        return;
      }
    }
    await astro(req, res, undefined, {
      clientAddress: ip,
      bodyBudget,
      afterResponse: (task: () => void) => res.once('close', task),
    });
  };
  const securityHeaders = baseSecurityHeaders(app.config.siteUrl);
  const serveCallWebhook = callWebhookServer(app);
  // Not an async function itself: the tracking fast path answers without extra promise hops.
  return (req, res, expectsContinue = false) => {
    const target = req.url ?? '/';
    try {
      // Every decision below is made on the normalised path, and Astro is given that path too.
      const path = parseRequestPath(target);
      if (!path) {
        // The pixel answers whatever it is sent, and a click with a broken token gets its friendly 404.
        if (target.startsWith(`${TRACKING_FOLDER}/`))
          return void handleTrackingRequest(req, res, app)?.catch((error: unknown) => failed(req, res, target, error));
        sendText(res, 400, 'Bad request: the path is not valid (bad percent-encoding, or encoded more than once).');
        return;
      }
      if (path.target !== target) req.url = path.target;
      let answered: Promise<void> | void;
      if (isUnder(path.route, TRACKING_FOLDER)) {
        // The pixel and clicks take no body: one that is sent is never read, and the connection closes after the answer.
        if (hasBody(declaredBody(req.rawHeaders))) res.setHeader('connection', 'close');
        answered = handleTrackingRequest(req, res, app);
      } else if (isCallWebhookPost(req.method, path.route)) {
        // The call webhooks: public, each checks its own secret or signature; answered here
        // (webhook-handler.ts) with their own headers and body limit, headers read from rawHeaders.
        answered = serveCallWebhook(req, res, path.route, expectsContinue);
      } else {
        for (const [name, value] of securityHeaders) res.setHeader(name, value);
        const bodyBudget = guardBody(req, res, path.route, bodyAllowance(bodyRouteOf(path.route, path.search)));
        if (!bodyBudget) return;
        if (expectsContinue) res.writeContinue();
        answered = handle(req, res, path, bodyBudget);
      }
      answered?.catch((error: unknown) => failed(req, res, target, error));
    } catch (error) {
      failed(req, res, target, error);
    }
  };
}

async function main(): Promise<void> {
  keepNewFilesPrivate();
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
  // Everything below comes from this build's folder, kept while this process runs (src/lib/build/site-builds.ts).
  const build = claimCurrentBuild(root);
  if (!build) {
    console.error('No build found under dist/: run `npm run build` (npm start does it for you).');
    process.exit(1);
  }

  // This build's pages, for the own-site link check of every send (routes and the worker alike).
  const sitePages = builtPagePaths(build.clientDir);
  const app = createAppContext(config, { sitePages: () => sitePages });
  try {
    const { from, milliseconds, byteLength, cacheWarning } = app.networks.info;
    console.log(
      `[networks] IP → network owner table ${from === 'cache' ? 'read' : 'compiled'} in ${Math.round(milliseconds)} ms (${(byteLength / 1048576).toFixed(1)} MB)`,
    );
    if (cacheWarning) console.warn(`[networks] ${cacheWarning}`);
  } catch (error) {
    if (!(error instanceof NetworkDataError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const { applied, hashed } = await upgradeDatabase(app.db, app.secret);
  if (applied.length > 0) console.log(`[db] applied ${applied.length} migration(s): ${applied.join(', ')}`);
  if (hashed)
    console.log(
      `[db] called numbers kept as keyed hashes: ${hashed.calls} call(s) and ${hashed.snapshots} issue(s) hashed, the plain numbers dropped`,
    );
  const sqlite = sqliteHandle(app.db);
  const checkpointer = sqlite && startWalCheckpointer(sqlite);
  installAppContext(app);

  const site = new StaticSite(build.clientDir, build.headersFile);
  const { handler } = (await import(pathToFileURL(build.serverEntry).href)) as { handler: AstroHandler };
  const listener = createListener(app, site, handler);
  const server = http.createServer({ keepAliveTimeout: 5000 }, listener);
  // "Expect: 100-continue": the body is asked for only once its route's limit allows it.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => listener(req, res, true));
  // The send worker (SEND_WORKER=0 leaves sending to `npm run worker` processes).
  const sendWorker = config.sending.worker
    ? startEmbeddedWorker(app, [
        weeklyDigestChore({ ...app, compose: composeWeeklyDigest }, config.sending.digestCheckMs),
        ...[bounceMailboxChore(app)].filter((c) => c !== undefined),
        experimentChore(app, Math.max(config.sending.pollMs, 1000)),
      ])
    : undefined;
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
    console.log(
      `[server] Footfall listening on ${listening} (build ${build.id}, ${site.size} static files, database ${app.db ? config.databaseUrl.split(':')[0] : ''})`,
    );
    // With no account yet, the one-time link for the first admin (PORT=0: only the socket knows the port).
    announceSetupLink(app.db, config.port === 0 ? listening : config.siteUrl).catch((error: unknown) =>
      console.error('[setup] could not create the setup link:', error),
    );
  });
}

await main();
