import path from 'node:path';
import type { AppContext } from '../app/context.ts';
import { sendSiteEmail } from '../mail/site-email.ts';
import { getSettings, senderMailbox } from '../settings/settings.service.ts';
import { ImportJobs } from './import-jobs.ts';
import type { SubscriberDeps } from './subscribers.service.ts';

/** The subscriber services' dependencies, wired to this process's database, secret and mail layer. */
export async function subscriberDeps(app: AppContext): Promise<SubscriberDeps> {
  const settings = await getSettings(app.db);
  return {
    db: app.db,
    secret: app.secret,
    siteUrl: settings.siteUrl,
    sendConfirmation: async (to, data) => {
      await sendSiteEmail(app, to, 'confirm-subscription', { confirmUrl: data.confirmUrl });
    },
    sendWelcome: async (to, data) => {
      await sendSiteEmail(
        app,
        to,
        'welcome',
        { preferencesUrl: data.preferencesUrl, unsubscribeUrl: data.unsubscribeUrl },
        // RFC 8058 one-click, and a mailto to the sender for clients that only offer that (a person reads it).
        {
          listUnsubscribe: {
            url: data.unsubscribeUrl,
            mailto: `${senderMailbox(settings).address}?subject=unsubscribe`,
          },
        },
      );
    },
    sendPreferencesLink: async (to, data) => {
      await sendSiteEmail(app, to, 'preferences-link', {
        preferencesUrl: data.preferencesUrl,
        expiresIn: `${data.validDays} days`,
      });
    },
  };
}

const importJobsByApp = new WeakMap<AppContext, ImportJobs>();

/** This process's CSV imports in progress, their uploads under DATA_DIR/imports. */
export function importJobs(app: AppContext): ImportJobs {
  let jobs = importJobsByApp.get(app);
  if (!jobs) {
    jobs = new ImportJobs(app.db, path.join(app.config.dataDir, 'imports'), app.secret);
    importJobsByApp.set(app, jobs);
  }
  return jobs;
}
