import path from 'node:path';
import type { Config } from '../config.ts';
import { createDatabase, type DB } from '../db/database.ts';
import { EventWriter } from '../events/event-writer.ts';
import { VisitTracker } from '../analytics/visits.ts';
import type { AttributionDeps } from '../analytics/page-views.service.ts';
import { clickHitInserter, clickInserter, openHitInserter, openInserter } from '../tracking/tracking.repository.ts';
import { peekSettings } from '../settings/settings.service.ts';
import { VisitorHasher } from '../analytics/visitor-hash.service.ts';
import { loadServerSecret } from '../security/server-secret.ts';
import { createMailer, type Mailer } from '../mail/mailer.ts';

function createEventWriter(db: DB, config: Readonly<Config>) {
  return new EventWriter(
    db,
    // Page views with their attribution and visits; opens and clicks with the delivery's first_*
    // times, either as rows (`open`, `click`) or as hits whose delivery the writer reads (`open_hit`, `click_hit`).
    { page_view: new VisitTracker().inserter, open: openInserter, click: clickInserter, open_hit: openHitInserter, click_hit: clickHitInserter },
    {
      ...config.eventWriter,
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
  return {
    config,
    db,
    secret,
    attribution: { secret, attributionWindowDays: () => peekSettings(db)?.attributionWindowDays ?? 7 },
    writer,
    visitors: new VisitorHasher(db),
    mailer,
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
type Holder = { [KEY]?: AppContext };

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
