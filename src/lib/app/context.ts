import path from 'node:path';
import type { Config } from '../config.ts';
import { createDatabase, type DB } from '../db/database.ts';
import { EventWriter } from '../events/event-writer.ts';
import { VisitTracker } from '../analytics/visits.ts';
import type { AttributionDeps } from '../analytics/page-views.service.ts';
import { clickInserter, openInserter } from '../tracking/tracking.repository.ts';
import { hitInserter } from '../tracking/hit-writer.ts';
import { lockTrackingBatch } from '../tracking/batch-locks.ts';
import { peekSettings } from '../settings/settings.service.ts';
import { VisitorHasher } from '../analytics/visitor-hash.service.ts';
import { loadServerSecret } from '../security/server-secret.ts';
import { createMailer, type Mailer } from '../mail/mailer.ts';
import { openNetworks, type Networks } from '../network/networks.service.ts';

function createEventWriter(db: DB, config: Readonly<Config>) {
  return new EventWriter(
    db,
    // Tracking hits, judged against their delivery's history (`hit`), before the page views they
    // lead to (with their attribution and visits); opens and clicks already classified as rows (`open`, `click`).
    { hit: hitInserter, page_view: new VisitTracker().inserter, open: openInserter, click: clickInserter },
    {
      ...config.eventWriter,
      lock: lockTrackingBatch,
      onError: (error, rows) => console.error(`[events] ${rows} row(s) not written:`, error instanceof Error ? error.message : error),
    },
  );
}

/** Everything a request needs that lives as long as the process: one of each. */
export interface AppContext {
  config: Readonly<Config>;
  db: DB;
  secret: string;
  writer: ReturnType<typeof createEventWriter>;
  visitors: VisitorHasher;
  /** Page-view attribution: the cookie's secret and the window from Settings. */
  attribution: AttributionDeps;
  /** Pooled SMTP when SMTP_URL is set, else .eml files in DATA_DIR/outbox. */
  mailer: Mailer;
  /** IP → network owner and role, with the admins' networks from Settings. Loaded on first use (server.ts: at start). */
  readonly networks: Networks;
  close(): Promise<void>;
}

export function createAppContext(config: Readonly<Config>): AppContext {
  const db = createDatabase(config.databaseUrl);
  const writer = createEventWriter(db, config);
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    outboxDir: path.join(config.dataDir, 'outbox'),
    pool: { maxConnections: config.mail.poolSize, rateLimitPerSecond: config.mail.ratePerSecond },
    dkim: config.dkim,
    tlsCa: config.smtpTlsCa,
  });
  const secret = loadServerSecret(config.dataDir, config.secret);
  let networks: Networks | undefined;
  return {
    config,
    db,
    secret,
    attribution: { secret, attributionWindowDays: () => peekSettings(db)?.attributionWindowDays ?? 7 },
    writer,
    visitors: new VisitorHasher(db),
    mailer,
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
interface Holder { [KEY]?: AppContext }

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
