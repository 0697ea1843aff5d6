import type { APIRoute } from 'astro';
import { appContext, type AppContext } from '../lib/app/context.ts';
import { createCertificateFetcher, fetchSubscribeUrl } from '../lib/bounces/sns.ts';
import { handleRelayWebhook, type Relay, type RelayWebhookDeps } from './bounce-webhooks.ts';

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

/** A relay's webhook route (src/pages/api/webhooks/<relay>.ts): verified and recorded as src/web/bounce-webhooks.ts says, answered in JSON. */
export function relayWebhookRoute(relay: Relay): APIRoute {
  return async (context) => {
    const app = await appContext();
    const answer = await handleRelayWebhook(
      relay,
      relayWebhookDeps(app),
      context.request,
      context.locals.clientAddress ?? context.clientAddress,
    );
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...answer.headers },
    });
  };
}
