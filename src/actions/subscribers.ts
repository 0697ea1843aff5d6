import { ActionError, defineAction } from 'astro:actions';
import { z } from 'astro/zod';
import { appContext } from '../lib/app/context.ts';
import { importJobs, subscriberDeps } from '../lib/subscribers/deps.ts';
import type { Delimiter } from '../lib/subscribers/import.service.ts';
import { readPersonalLink } from '../lib/subscribers/links.ts';
import { campaignFromReferrer } from '../lib/subscribers/signup-source.ts';
import { ATTRIBUTION_COOKIE, signupSource } from '../lib/tracking/attribution.ts';
import { getSettings } from '../lib/settings/settings.service.ts';
import {
  addConfirmedSubscriber,
  confirmSubscription,
  eraseSubscriber,
  mailPreferencesLink,
  requestResubscription,
  subscribe,
  unsubscribe,
  updatePreferences,
} from '../lib/subscribers/subscribers.service.ts';
import { SIGNUPS_PER_ADDRESS } from '../lib/security/rate-limit.ts';
import { authorize } from './authorize.ts';
import { setSubscriberPhone } from '../lib/subscribers/phone.service.ts';

/**
 * The subscriber a personal link names. `fresh` links (preference links within their 60 days)
 * may see and change everything; older ones, and unsubscribe links, may only unsubscribe,
 * ask to subscribe again (by email) or ask for a new link (by email).
 */
async function subscriberFromToken(token: string, need: 'fresh' | 'any') {
  const app = await appContext();
  const link = readPersonalLink({ secret: app.secret, siteUrl: app.config.siteUrl }, token, Date.now());
  if (!link)
    throw new ActionError({
      code: 'BAD_REQUEST',
      message: 'This link is not valid. Use the link from your most recent email.',
    });
  if (need === 'fresh' && !link.fresh)
    throw new ActionError({
      code: 'FORBIDDEN',
      message:
        'This link has expired: preference links work for 60 days. Ask for a new one on this page and we will email it to you.',
    });
  return { app, subscriberId: link.subscriberId, issueId: link.issueId };
}

const subscriberId = z.coerce.number().int().positive();
const topicList = z.array(z.string().max(100)).max(20).optional();
const importJob = z.string().regex(/^[0-9a-f]{32}$/, 'This import link is not valid.');
/** A column of the uploaded file, or "" for none. */
const column = z.union([z.literal(''), z.coerce.number().int().min(0).max(10_000)]);
const DELIMITERS: Record<string, Delimiter> = { comma: ',', semicolon: ';', tab: '\t' };

/** The admin's subscriber actions: each checks the role itself (and is listed in ADMIN_ACTIONS). */
const subscribersAdmin = {
  add: defineAction({
    accept: 'form',
    input: z.object({
      email: z.string().max(1000, 'That is far too long for an email address.'),
      name: z.string().max(1000).optional(),
      topics: topicList,
      consentNote: z.string().max(1000, 'Keep the consent note under 500 characters.').optional(),
    }),
    handler: async (input, context) => {
      const user = authorize(context, 'subscribers.manage');
      const app = await appContext();
      const result = await addConfirmedSubscriber(
        app.db,
        {
          email: input.email,
          name: input.name,
          topics: input.topics,
          consentNote: input.consentNote ?? '',
          form: 'admin',
        },
        `user:${user.id}`,
      );
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { outcome: result.value.outcome, id: result.value.id, email: input.email.trim().toLowerCase() };
    },
  }),

  update: defineAction({
    accept: 'form',
    input: z.object({ id: subscriberId, topics: topicList, paused: z.boolean().optional() }),
    handler: async (input, context) => {
      authorize(context, 'subscribers.manage');
      const app = await appContext();
      const result = await updatePreferences(
        app.db,
        input.id,
        { topics: input.topics ?? [], paused: input.paused ?? false },
        'admin',
      );
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { saved: true };
    },
  }),

  setPhone: defineAction({
    accept: 'form',
    input: z.object({
      id: subscriberId,
      phone: z.string().max(100, 'That is far too long for a phone number.').optional(),
      remove: z.literal('yes').optional(),
    }),
    handler: async (input, context) => {
      const user = authorize(context, 'subscribers.manage');
      const app = await appContext();
      const typed = input.remove === 'yes' ? null : (input.phone ?? '');
      if (typed === '')
        throw new ActionError({
          code: 'BAD_REQUEST',
          message: 'Type the phone number, or use “Remove” to take it off file.',
        });
      const result = await setSubscriberPhone(app.db, app.secret, input.id, typed, `user:${user.id}`);
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { phone: result.value };
    },
  }),

  unsubscribe: defineAction({
    accept: 'form',
    input: z.object({ id: subscriberId }),
    handler: async (input, context) => {
      authorize(context, 'subscribers.manage');
      const app = await appContext();
      const outcome = await unsubscribe(app.db, input.id, { method: 'admin' });
      if (outcome === 'not_found')
        throw new ActionError({ code: 'NOT_FOUND', message: 'This subscriber no longer exists.' });
      return { outcome };
    },
  }),

  erase: defineAction({
    accept: 'form',
    input: z.object({
      id: subscriberId,
      email: z.string().max(1000),
      confirm: z.literal('yes', { error: 'Tick the box to confirm the erasure.' }),
    }),
    handler: async (input, context) => {
      authorize(context, 'subscribers.manage');
      const app = await appContext();
      if (!(await eraseSubscriber(app.db, input.id)))
        throw new ActionError({ code: 'NOT_FOUND', message: 'This subscriber no longer exists (already erased?).' });
      return { erased: input.email };
    },
  }),

  planImport: defineAction({
    accept: 'form',
    input: z.object({
      job: importJob,
      delimiter: z.enum(['comma', 'semicolon', 'tab']),
      email: z.coerce.number({ error: 'Choose the column that holds the email addresses.' }).int().min(0).max(10_000),
      name: column.optional(),
      topics: column.optional(),
      phone: column.optional(),
      consentNote: z.string().max(1000, 'Keep the consent note under 500 characters.').optional(),
    }),
    handler: async (input, context) => {
      authorize(context, 'subscribers.manage');
      const app = await appContext();
      const mapping = {
        delimiter: DELIMITERS[input.delimiter]!,
        email: input.email,
        name: input.name === '' || input.name === undefined ? null : input.name,
        topics: input.topics === '' || input.topics === undefined ? null : input.topics,
        phone: input.phone === '' || input.phone === undefined ? null : input.phone,
      };
      const result = await importJobs(app).plan(input.job, mapping, input.consentNote ?? '');
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { planned: true };
    },
  }),

  startImport: defineAction({
    accept: 'form',
    input: z.object({ job: importJob }),
    handler: async (input, context) => {
      const user = authorize(context, 'subscribers.manage');
      const app = await appContext();
      const result = importJobs(app).start(input.job, `user:${user.id}`);
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { started: true };
    },
  }),
};

export const subscribers = {
  subscribersAdmin,

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
      const limit = await app.rateLimits.hit(SIGNUPS_PER_ADDRESS, ip);
      if (!limit.allowed) {
        throw new ActionError({
          code: 'TOO_MANY_REQUESTS',
          message: `Too many signups from your network. Please try again in ${Math.ceil(limit.retryAfterSeconds / 60)} minutes.`,
        });
      }
      // The honeypot: people never see this field, so anything in it came from a bot. It gets the same answer, and nothing is stored.
      if (input.website) return { email: input.email.trim().toLowerCase() };
      const campaign = campaignFromReferrer(context.request.headers.get('referer'), context.url.host);
      // The issue that brought them and the click: its attribution cookie, else the campaign's issue (a forwarded link).
      const source = await signupSource(app.db, {
        secret: app.secret,
        cookie: context.cookies.get(ATTRIBUTION_COOKIE)?.value,
        campaign,
        windowDays: (await getSettings(app.db)).attributionWindowDays,
      });
      const result = await subscribe(await subscriberDeps(app), {
        email: input.email,
        name: input.name,
        topics: input.topics ?? [],
        form: (input.source ?? 'subscribe-page').replace(/[^\w:/.-]/g, '').slice(0, 200) || 'subscribe-page',
        campaign,
        issueId: source.issueId,
        deliveryId: source.deliveryId,
      });
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { email: input.email.trim().toLowerCase() };
    },
  }),

  confirmSignup: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(1000) }),
    handler: async (input) => {
      const app = await appContext();
      const { outcome, subscriber } = await confirmSubscription(await subscriberDeps(app), input.token);
      return { outcome, subscriberId: subscriber?.id ?? null };
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
      const { app, subscriberId } = await subscriberFromToken(input.token, 'fresh');
      const result = await updatePreferences(
        app.db,
        subscriberId,
        { name: input.name ?? null, topics: input.topics ?? [], paused: input.paused ?? false },
        'subscriber',
      );
      if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: result.error });
      return { saved: true };
    },
  }),

  unsubscribeFromPage: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(500) }),
    handler: async (input) => {
      const { app, subscriberId, issueId } = await subscriberFromToken(input.token, 'any');
      const outcome = await unsubscribe(app.db, subscriberId, { method: 'preferences', issueId });
      if (outcome === 'not_found')
        throw new ActionError({ code: 'NOT_FOUND', message: 'We have no record of this subscription any more.' });
      return { outcome };
    },
  }),

  resubscribe: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(500) }),
    handler: async (input) => {
      const { app, subscriberId } = await subscriberFromToken(input.token, 'any');
      const outcome = await requestResubscription(await subscriberDeps(app), subscriberId);
      if (outcome === 'not_found')
        throw new ActionError({ code: 'NOT_FOUND', message: 'We have no record of this subscription any more.' });
      if (outcome === 'not_allowed')
        throw new ActionError({
          code: 'FORBIDDEN',
          message:
            'Mail to this address bounced or was reported, so we cannot send to it again. Sign up with another address.',
        });
      return { outcome };
    },
  }),

  mailPreferencesLink: defineAction({
    accept: 'form',
    input: z.object({ token: z.string().max(500) }),
    handler: async (input) => {
      const { app, subscriberId } = await subscriberFromToken(input.token, 'any');
      const outcome = await mailPreferencesLink(await subscriberDeps(app), subscriberId);
      if (outcome === 'not_found')
        throw new ActionError({ code: 'NOT_FOUND', message: 'We have no record of this subscription any more.' });
      return { outcome };
    },
  }),

  eraseMyData: defineAction({
    accept: 'form',
    input: z.object({
      token: z.string().max(500),
      confirm: z.literal('yes', { error: 'Tick the box to confirm that you want everything deleted.' }),
    }),
    handler: async (input) => {
      const { app, subscriberId } = await subscriberFromToken(input.token, 'fresh');
      await eraseSubscriber(app.db, subscriberId);
      return { erased: true };
    },
  }),
};
