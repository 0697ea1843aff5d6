import { ActionError, defineAction } from 'astro:actions';
import { z } from 'astro/zod';
import { appContext } from '../lib/app/context.ts';
import { subscriberDeps } from '../lib/subscribers/deps.ts';
import { readSubscriberToken } from '../lib/subscribers/links.ts';
import { campaignFromReferrer } from '../lib/subscribers/signup-source.ts';
import { eraseSubscriber, resubscribe, subscribe, unsubscribe, updatePreferences } from '../lib/subscribers/subscribers.service.ts';
import { RateLimiter } from '../lib/security/rate-limit.ts';

const signupsPerAddress = new RateLimiter(5, 10 * 60_000);

async function subscriberFromToken(token: string) {
  const app = await appContext();
  const link = readSubscriberToken({ secret: app.secret, siteUrl: app.config.siteUrl }, token);
  if (!link) throw new ActionError({ code: 'BAD_REQUEST', message: 'This link is not valid. Use the link from your most recent email.' });
  return { app, subscriberId: link.subscriberId, issueId: link.issueId };
}

export const subscribers = {
  subscribe: defineAction({
    accept: 'form',
    input: z.object({
      email: z.string().max(1000, 'That is far too long for an email address.'),
      name: z.string().max(1000).optional(),
      topics: z.array(z.string().max(100)).max(20).optional(),
      source: z.string().max(300).optional(),
      website: z.string().max(1000).optional(),
    }),
    handler: async (input, context) => {
      const app = await appContext();
      const ip = context.locals.clientAddress ?? context.clientAddress;
      const limit = signupsPerAddress.hit(ip);
      if (!limit.allowed) {
        throw new ActionError({ code: 'TOO_MANY_REQUESTS', message: `Too many signups from your network. Please try again in ${Math.ceil(limit.retryAfterSeconds / 60)} minutes.` });
      }
      // The honeypot: people never see this field, so anything in it came from a bot. It gets the same answer, and nothing is stored.
      if (input.website) return { email: input.email.trim().toLowerCase() };
      const result = await subscribe(await subscriberDeps(app), {
        email: input.email,
        name: input.name,
        topics: input.topics ?? [],
        form: (input.source ?? 'subscribe-page').replace(/[^\w:/.-]/g, '').slice(0, 200) || 'subscribe-page',
        campaign: campaignFromReferrer(context.request.headers.get('referer'), context.url.host),
      });
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { email: input.email.trim().toLowerCase() };
    },
  }),

  savePreferences: defineAction({
    accept: 'form',
    input: z.object({
      token: z.string().max(500),
      name: z.string().max(1000).optional(),
      topics: z.array(z.string().max(100)).max(20).optional(),
      paused: z.boolean().optional(),
    }),
    handler: async (input) => {
      const { app, subscriberId } = await subscriberFromToken(input.token);
      const result = await updatePreferences(app.db, subscriberId, { name: input.name ?? null, topics: input.topics ?? [], paused: input.paused ?? false }, 'subscriber');
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { saved: true };
    },
  }),

  unsubscribeFromPage: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(500) }),
    handler: async (input) => {
      const { app, subscriberId, issueId } = await subscriberFromToken(input.token);
      const outcome = await unsubscribe(app.db, subscriberId, { method: 'preferences', issueId });
      if (outcome === 'not_found') throw new ActionError({ code: 'NOT_FOUND', message: 'We have no record of this subscription any more.' });
      return { outcome };
    },
  }),

  resubscribe: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(500) }),
    handler: async (input) => {
      const { app, subscriberId } = await subscriberFromToken(input.token);
      const outcome = await resubscribe(app.db, subscriberId);
      if (outcome === 'not_found') throw new ActionError({ code: 'NOT_FOUND', message: 'We have no record of this subscription any more.' });
      if (outcome === 'not_allowed') throw new ActionError({ code: 'FORBIDDEN', message: 'Mail to this address bounced or was reported, so we cannot send to it again. Sign up with another address.' });
      return { outcome };
    },
  }),

  eraseMyData: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(500), confirm: z.literal('yes', { error: 'Tick the box to confirm that you want everything deleted.' }) }),
    handler: async (input) => {
      const { app, subscriberId } = await subscriberFromToken(input.token);
      await eraseSubscriber(app.db, subscriberId);
      return { erased: true };
    },
  }),
};
