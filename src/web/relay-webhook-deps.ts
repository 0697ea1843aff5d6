import type { AppContext } from '../lib/app/context.ts';
import { createCertificateFetcher, fetchSubscribeUrl } from '../lib/bounces/sns.ts';
import type { RelayWebhookDeps } from './bounce-webhooks.ts';

/** The relay webhooks' dependencies for this process: one certificate fetcher (and its cache) for every request. */
const built = new WeakMap<AppContext, RelayWebhookDeps>();

export function relayWebhookDeps(app: AppContext): RelayWebhookDeps {
  let deps = built.get(app);
  if (!deps) {
    deps = {
      db: app.db,
      providers: app.config.bounceProviders,
      rateLimits: app.rateLimits,
      fetchCertificate: createCertificateFetcher(app.config.bounceProviders.ses?.certificateDir),
      fetchSubscribeUrl,
    };
    built.set(app, deps);
  }
  return deps;
}
