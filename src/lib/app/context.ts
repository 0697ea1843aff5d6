import path from 'node:path';
import type { Config } from '../config.ts';
import { createDatabase, type DB } from '../db/database.ts';
import { EventWriter } from '../events/event-writer.ts';
import { VisitTracker } from '../analytics/visits.ts';
import type { AttributionDeps } from '../analytics/page-views.service.ts';
import { hitInserter } from '../tracking/hit-writer.ts';
import { callInserter } from '../offline/call-writer.ts';
import { trackingBatchLock } from '../tracking/batch-locks.ts';
import { peekSettings } from '../settings/settings.service.ts';
import { VisitorHasher } from '../analytics/visitor-hash.service.ts';
import { loadServerSecret } from '../security/server-secret.ts';
import { createMailer, type Mailer } from '../mail/mailer.ts';
import { openNetworks, type Networks } from '../network/networks.service.ts';
import { createIssueSendingPort } from '../issues/sending-port.ts';
import { sitePathsWith } from '../issues/site-paths.ts';
import type { IssueHooks } from '../sending/sending.ts';
import { RateLimits } from '../security/rate-limit.ts';
import { LoginThrottle } from '../auth/login-throttle.ts';

function createEventWriter(db: DB, config: Readonly<Config>) {
  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(
    db,
    // Tracking hits, judged against their delivery's history, before the page views they lead to
    // (with their attribution and visits).
    // Calls the phone providers report come last: they share no rows with either.
    { hits: hitInserter, pageViews, calls: callInserter },
    {
      ...config.eventWriter,
      lock: trackingBatchLock(pageViews),
      onError: (error, rows) =>
        console.error(`[events] ${rows} row(s) not written:`, error instanceof Error ? error.message : error),
    },
  );
  return {
    writer,
    hits: writer.handle(hitInserter),
    pageViews: writer.handle(pageViews),
    calls: writer.handle(callInserter),
  };
}

/** Everything a request needs that lives as long as the process: one of each. */
export interface AppContext {
  config: Readonly<Config>;
  db: DB;
  secret: string;
  /** The group-commit writer (flushed and closed with the process) and its two handles: tracking hits and page views. */
  writer: ReturnType<typeof createEventWriter>['writer'];
  hits: ReturnType<typeof createEventWriter>['hits'];
  pageViews: ReturnType<typeof createEventWriter>['pageViews'];
  /** The writer's handle for calls the phone providers' webhooks report (src/lib/offline/call-writer.ts). */
  calls: ReturnType<typeof createEventWriter>['calls'];
  visitors: VisitorHasher;
  /** Page-view attribution: the cookie's secret and the window from Settings. */
  attribution: AttributionDeps;
  /** Pooled SMTP when SMTP_URL is set, else .eml files in DATA_DIR/outbox. */
  mailer: Mailer;
  /** IP → network owner and role, with the admins' networks from Settings. Loaded on first use (server.ts: at start). */
  readonly networks: Networks;
  /** The one port between sending and issues (checks, freeze, the compiled-issue cache), shared by routes and the send worker. */
  issueSending: IssueHooks;
  /** Per-address limits kept in the database (signups, reset requests, webhook failures). */
  rateLimits: RateLimits;
  /** Sign-in attempts per account and network; one per process, so its pruning runs on its own schedule. */
  loginThrottle: LoginThrottle;
  close(): Promise<void>;
}

export interface AppContextOptions {
  /**
   * The built site's page paths (lib/build/site-pages.ts), read when a send is checked or
   * started; none where the process has no build (astro dev, the demo generator).
   */
  sitePages?: () => ReadonlySet<string> | undefined;
}

export function createAppContext(config: Readonly<Config>, options: AppContextOptions = {}): AppContext {
  const db = createDatabase(config.databaseUrl);
  const { writer, hits, pageViews, calls } = createEventWriter(db, config);
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    outboxDir: path.join(config.dataDir, 'outbox'),
    pool: { maxConnections: config.mail.poolSize, rateLimitPerSecond: config.mail.ratePerSecond },
    dkim: config.dkim,
    tlsCa: config.smtpTlsCa,
    relayMetadata: {
      postmark: config.bounceProviders.postmark !== undefined,
      sendgrid: config.bounceProviders.sendgrid !== undefined,
      mailgun: config.bounceProviders.mailgun !== undefined,
    },
  });
  const secret = loadServerSecret(config.dataDir, config.secret);
  let networks: Networks | undefined;
  const issueSending = createIssueSendingPort({
    secret,
    knownPaths: async () => {
      const pages = options.sitePages?.();
      return pages ? sitePathsWith(db, pages) : undefined;
    },
  });
  return {
    config,
    db,
    secret,
    attribution: { secret, attributionWindowDays: () => peekSettings(db)?.attributionWindowDays ?? 7 },
    writer,
    hits,
    pageViews,
    calls,
    visitors: new VisitorHasher(db),
    mailer,
    issueSending,
    rateLimits: new RateLimits({ db, secret }),
    loginThrottle: new LoginThrottle({ db, secret }),
    get networks() {
      networks ??= openNetworks({ ...config.networks, overrides: () => peekSettings(db)?.networkOverrides });
      return networks;
    },
    async close() {
      await mailer.close();
      await writer.close();
      await db.destroy();
    },
  };
}

// The server entry and Astro's bundle each get their own copy of this module, so the one
// instance lives on globalThis where both find it.
const KEY = Symbol.for('footfall.appContext');
interface Holder {
  [KEY]?: AppContext;
}

export function installAppContext(context: AppContext): void {
  (globalThis as Holder)[KEY] = context;
}

/** The process's context; under `astro dev` (no server entry) it is created on first use. */
export async function appContext(): Promise<AppContext> {
  const holder = globalThis as Holder;
  if (!holder[KEY]) {
    const { getConfig } = await import('../config.ts');
    holder[KEY] = createAppContext(getConfig());
  }
  return holder[KEY];
}
