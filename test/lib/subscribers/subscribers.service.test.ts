import { expect, it, vi } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import {
  addConfirmedSubscriber,
  checkConfirmation,
  confirmSubscription,
  eraseSubscriber,
  mailPreferencesLink,
  PREFERENCES_LINKS_PER_DAY,
  requestResubscription,
  RESEND_AFTER_MS,
  subscribe,
  suppressAddress,
  unsubscribe,
  updatePreferences,
  type SubscriberDeps,
} from '#lib/subscribers/subscribers.service.ts';
import { findSubscriberByEmail, findSubscriberEvents, findTopics } from '#lib/subscribers/subscribers.repository.ts';
import { preferencesUrl, readPersonalLink, readSubscriberToken, unsubscribeUrl } from '#lib/subscribers/links.ts';
import type { DB } from '#lib/db/database.ts';

const t0 = Date.UTC(2026, 10, 2, 9);

function depsFor(db: DB) {
  const sent: { to: string; confirmUrl: string; name: string | null }[] = [];
  const deps: SubscriberDeps = {
    db,
    secret: 'k'.repeat(43),
    siteUrl: 'https://frobozz.test',
    sendConfirmation: async (to, data) => void sent.push({ to, ...data }),
  };
  return { deps, sent };
}

const tokenOf = (url: string) => new URL(url).searchParams.get('token');

describeEachDatabase('subscribers', (db) => {
  it('double opt-in: pending until the link is followed, then active with consent recorded', async () => {
    const { deps, sent } = depsFor(db());
    const result = await subscribe(
      deps,
      {
        email: '  Ada@Example.COM ',
        name: 'Ada',
        topics: ['guides'],
        form: 'article:/articles/x/',
        campaign: 'may-issue',
      },
      t0,
    );
    expect(result).toEqual({ ok: true, value: 'confirmation_sent' });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe('ada@example.com');
    expect(sent[0]!.confirmUrl).toMatch(/^https:\/\/frobozz\.test\/subscribe\/confirm\?token=/);
    expect((await findSubscriberByEmail(db(), 'ada@example.com'))?.status).toBe('pending');

    const confirmed = await confirmSubscription(deps, tokenOf(sent[0]!.confirmUrl), t0 + 60_000);
    expect(confirmed.outcome).toBe('confirmed');
    const ada = (await findSubscriberByEmail(db(), 'ada@example.com'))!;
    expect(ada).toMatchObject({
      status: 'active',
      consent_at: t0 + 60_000,
      source_form: 'article:/articles/x/',
      source_campaign: 'may-issue',
      consent_text_version: expect.any(String),
    });
    expect(await findTopics(db(), ada.id)).toEqual(['guides']);
    expect((await confirmSubscription(deps, tokenOf(sent[0]!.confirmUrl), t0 + 120_000)).outcome).toBe(
      'already_confirmed',
    );
  });

  it('a first confirmation sends the welcome email with personal links; a failed send still confirms', async () => {
    const { deps, sent } = depsFor(db());
    const welcomed: { to: string; preferencesUrl: string; unsubscribeUrl: string }[] = [];
    const withWelcome: SubscriberDeps = {
      ...deps,
      sendWelcome: async (to, data) => void welcomed.push({ to, ...data }),
    };
    await subscribe(withWelcome, { email: 'wil@example.com', form: 'home' }, t0);
    const confirmed = await confirmSubscription(withWelcome, tokenOf(sent[0]!.confirmUrl), t0 + 1000);
    expect(confirmed).toMatchObject({ outcome: 'confirmed', welcome: 'sent' });
    const wil = (await findSubscriberByEmail(db(), 'wil@example.com'))!;
    expect(welcomed).toEqual([
      {
        to: 'wil@example.com',
        subscriberId: wil.id,
        name: null,
        preferencesUrl: expect.stringMatching(/^https:\/\/frobozz\.test\/preferences\//),
        unsubscribeUrl: expect.stringMatching(/^https:\/\/frobozz\.test\/unsubscribe\//),
      },
    ]);
    expect(readSubscriberToken(deps, welcomed[0]!.unsubscribeUrl.split('/').at(-1))).toEqual({
      subscriberId: wil.id,
      issueId: undefined,
    });
    expect((await findSubscriberEvents(db(), wil.id))[0]).toMatchObject({
      kind: 'email_sent',
      detail: JSON.stringify({ email: 'welcome' }),
    });
    // Following the link again sends nothing more.
    expect(await confirmSubscription(withWelcome, tokenOf(sent[0]!.confirmUrl), t0 + 2000)).toMatchObject({
      outcome: 'already_confirmed',
    });
    expect(welcomed).toHaveLength(1);

    const failing: SubscriberDeps = {
      ...deps,
      sendWelcome: async () => Promise.reject(new Error('SMTP 451 try later')),
    };
    await subscribe(failing, { email: 'xan@example.com', form: 'home' }, t0);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await confirmSubscription(failing, tokenOf(sent[1]!.confirmUrl), t0 + 1000)).toMatchObject({
        outcome: 'confirmed',
        welcome: 'failed',
      });
      expect(String(logged.mock.calls[0]?.[0])).toMatch(/welcome email to subscriber #\d+ failed/);
    } finally {
      logged.mockRestore();
    }
    expect((await findSubscriberByEmail(db(), 'xan@example.com'))?.status).toBe('active');
  });

  it('refuses tampered and expired confirmation links, changing nothing', async () => {
    const { deps, sent } = depsFor(db());
    await subscribe(deps, { email: 'bob@example.com', form: 'home' }, t0);
    const token = tokenOf(sent[0]!.confirmUrl)!;
    expect((await confirmSubscription(deps, token.slice(0, -2) + 'xx', t0)).outcome).toBe('invalid');
    expect((await confirmSubscription(deps, token, t0 + 8 * 86_400_000)).outcome).toBe('expired');
    expect((await findSubscriberByEmail(db(), 'bob@example.com'))?.status).toBe('pending');
  });

  it('repeated signups of a pending address resend, rate limited; an active address learns nothing', async () => {
    const { deps, sent } = depsFor(db());
    await subscribe(deps, { email: 'cy@example.com', form: 'home' }, t0);
    expect((await subscribe(deps, { email: 'cy@example.com', form: 'home' }, t0 + 1000)).ok && sent.length).toBe(1);
    expect(await subscribe(deps, { email: 'cy@example.com', form: 'home' }, t0 + RESEND_AFTER_MS + 1)).toEqual({
      ok: true,
      value: 'confirmation_resent',
    });
    expect(sent).toHaveLength(2);
    await confirmSubscription(deps, tokenOf(sent[1]!.confirmUrl), t0 + RESEND_AFTER_MS + 2);
    expect(await subscribe(deps, { email: 'cy@example.com', form: 'home' }, t0 + 10 * RESEND_AFTER_MS)).toEqual({
      ok: true,
      value: 'already_active',
    });
    expect(sent).toHaveLength(2);
  });

  it('bad input gets a clear message and stores nothing', async () => {
    const { deps, sent } = depsFor(db());
    for (const email of ['not-an-email', 'a@b.c\r\nBcc: x@y.z', `${'x'.repeat(250)}@example.com`, '']) {
      const result = await subscribe(deps, { email, form: 'home' }, t0);
      expect(result.ok, email).toBe(false);
    }
    expect(await subscribe(deps, { email: 'dee@example.com', topics: ['casino'], form: 'home' }, t0)).toEqual({
      ok: false,
      error: 'Unknown topic: casino.',
    });
    expect(sent).toHaveLength(0);
    expect(await findSubscriberByEmail(db(), 'dee@example.com')).toBeUndefined();
  });

  it('unsubscribe is immediate and idempotent; subscribing again only mails a fresh confirmation, which alone reactivates', async () => {
    const { deps, sent } = depsFor(db());
    await subscribe(deps, { email: 'eve@example.com', form: 'home' }, t0);
    const oldLink = tokenOf(sent[0]!.confirmUrl);
    await confirmSubscription(deps, oldLink, t0);
    const eve = (await findSubscriberByEmail(db(), 'eve@example.com'))!;
    const link = readSubscriberToken(deps, unsubscribeUrl(deps, eve.id, 7).split('/').at(-1));
    expect(link).toEqual({ subscriberId: eve.id, issueId: 7 });
    expect(await unsubscribe(db(), eve.id, { method: 'one-click', issueId: 7 }, t0 + 1)).toBe('unsubscribed');
    expect(await unsubscribe(db(), eve.id, { method: 'one-click' }, t0 + 2)).toBe('already');
    expect((await findSubscriberByEmail(db(), 'eve@example.com'))?.status).toBe('unsubscribed');
    // The original confirmation link, still within its seven days, no longer subscribes anyone.
    expect((await checkConfirmation(deps, oldLink, t0 + 3)).outcome).toBe('superseded');
    expect((await confirmSubscription(deps, oldLink, t0 + 3)).outcome).toBe('superseded');
    expect((await findSubscriberByEmail(db(), 'eve@example.com'))?.status).toBe('unsubscribed');

    expect(await requestResubscription(deps, eve.id, t0 + RESEND_AFTER_MS)).toBe('confirmation_sent');
    expect(sent).toHaveLength(2);
    expect((await findSubscriberByEmail(db(), 'eve@example.com'))?.status).toBe('unsubscribed'); // nothing changes yet
    expect(await requestResubscription(deps, eve.id, t0 + RESEND_AFTER_MS + 1000)).toBe('resend_throttled');
    const fresh = tokenOf(sent[1]!.confirmUrl);
    expect((await checkConfirmation(deps, fresh, t0 + RESEND_AFTER_MS + 2000)).outcome).toBe('ready');
    expect((await findSubscriberByEmail(db(), 'eve@example.com'))?.status).toBe('unsubscribed'); // a look changes nothing
    expect((await confirmSubscription(deps, fresh, t0 + RESEND_AFTER_MS + 3000)).outcome).toBe('confirmed');
    expect((await confirmSubscription(deps, fresh, t0 + RESEND_AFTER_MS + 4000)).outcome).toBe('already_confirmed');
    expect((await findSubscriberByEmail(db(), 'eve@example.com'))?.status).toBe('active');
    const kinds = (await findSubscriberEvents(db(), eve.id)).map((e) => e.kind);
    expect(kinds).toEqual(['resubscribed', 'resubscribe_requested', 'unsubscribed', 'confirmed', 'signup']);
  });

  it('a signup from the form does not change someone who left until they confirm', async () => {
    const { deps, sent } = depsFor(db());
    const added = await addConfirmedSubscriber(
      db(),
      { email: 'ivy@example.com', name: 'Ivy', topics: ['guides'], consentNote: 'counter', form: 'admin' },
      'admin:1',
      t0,
    );
    const id = added.ok ? added.value.id! : 0;
    await unsubscribe(db(), id, { method: 'page' }, t0 + 1);
    expect(
      await subscribe(deps, { email: 'ivy@example.com', name: 'Not Ivy', topics: ['offers'], form: 'home' }, t0 + 2),
    ).toEqual({ ok: true, value: 'confirmation_resent' });
    expect(await findSubscriberByEmail(db(), 'ivy@example.com')).toMatchObject({
      status: 'unsubscribed',
      name: 'Ivy',
      source_form: 'admin',
    });
    expect(await findTopics(db(), id)).toEqual(['guides']);
    expect((await confirmSubscription(deps, tokenOf(sent[0]!.confirmUrl), t0 + 3)).outcome).toBe('confirmed');
    expect((await findSubscriberByEmail(db(), 'ivy@example.com'))?.status).toBe('active');
  });

  it('preference links last 60 days; a new one is mailed on request, a few a day at most', async () => {
    const links: string[] = [];
    const { deps } = depsFor(db());
    const mailing: SubscriberDeps = {
      ...deps,
      sendPreferencesLink: async (_to, data) => void links.push(data.preferencesUrl),
    };
    const added = await addConfirmedSubscriber(
      db(),
      { email: 'jay@example.com', consentNote: 'counter', form: 'admin' },
      'admin:1',
      t0,
    );
    const id = added.ok ? added.value.id! : 0;
    const token = (url: string) => url.split('/').at(-1);
    expect(readPersonalLink(deps, token(preferencesUrl(deps, id, t0)), t0 + 59 * 86_400_000)).toEqual({
      subscriberId: id,
      fresh: true,
    });
    expect(readPersonalLink(deps, token(preferencesUrl(deps, id, t0)), t0 + 61 * 86_400_000)).toEqual({
      subscriberId: id,
      fresh: false,
    });
    // The never-expiring unsubscribe link names the person, but opens nothing beyond unsubscribing.
    expect(readPersonalLink(deps, token(unsubscribeUrl(deps, id, 3)), t0)).toEqual({
      subscriberId: id,
      issueId: 3,
      fresh: false,
    });
    expect(readPersonalLink(deps, 'forged.token', t0)).toBeUndefined();

    let at = t0;
    for (let i = 0; i < PREFERENCES_LINKS_PER_DAY; i++)
      expect(await mailPreferencesLink(mailing, id, (at += RESEND_AFTER_MS))).toBe('sent');
    expect(await mailPreferencesLink(mailing, id, at + RESEND_AFTER_MS)).toBe('throttled');
    expect(await mailPreferencesLink(mailing, id, t0 + 86_400_000 + 10 * RESEND_AFTER_MS)).toBe('sent');
    expect(await mailPreferencesLink(mailing, id, t0 + 86_400_000 + 10 * RESEND_AFTER_MS + 1000)).toBe('throttled');
    expect(links).toHaveLength(PREFERENCES_LINKS_PER_DAY + 1);
    expect(readPersonalLink(deps, token(links[0]!), t0 + 30 * 86_400_000)).toEqual({ subscriberId: id, fresh: true });
  });

  it('bounced and complained addresses are never reactivated', async () => {
    const { deps, sent } = depsFor(db());
    await addConfirmedSubscriber(
      db(),
      { email: 'fay@example.com', consentNote: 'signed up at the counter, 2026-10-01', form: 'admin' },
      'admin:1',
      t0,
    );
    await suppressAddress(db(), 'fay@example.com', 'bounced', { smtp: '550 5.1.1' }, t0 + 1);
    expect(await subscribe(deps, { email: 'fay@example.com', form: 'home' }, t0 + 2)).toEqual({
      ok: true,
      value: 'suppressed',
    });
    expect(sent).toHaveLength(0);
    const fay = (await findSubscriberByEmail(db(), 'fay@example.com'))!;
    expect(await requestResubscription(deps, fay.id, t0 + 3)).toBe('not_allowed');
    expect(
      (
        await addConfirmedSubscriber(
          db(),
          { email: 'fay@example.com', consentNote: 'again', form: 'import' },
          'admin:1',
          t0 + 4,
        )
      ).ok,
    ).toBe(true);
    expect((await findSubscriberByEmail(db(), 'fay@example.com'))?.status).toBe('bounced');
  });

  it('manual adds need a reason; they merge duplicates and keep the unsubscribed unsubscribed', async () => {
    expect(
      await addConfirmedSubscriber(db(), { email: 'gus@example.com', consentNote: ' ', form: 'admin' }, 'admin:1', t0),
    ).toMatchObject({ ok: false });
    const added = await addConfirmedSubscriber(
      db(),
      {
        email: 'gus@example.com',
        topics: ['offers'],
        consentNote: 'paper form at the workshop evening',
        form: 'admin',
      },
      'admin:1',
      t0,
    );
    expect(added).toMatchObject({ ok: true, value: { outcome: 'added' } });
    const merged = await addConfirmedSubscriber(
      db(),
      { email: 'GUS@example.com', topics: ['guides'], consentNote: 'again', form: 'import' },
      'admin:1',
      t0 + 1,
    );
    expect(merged).toMatchObject({ ok: true, value: { outcome: 'merged' } });
    const gus = (await findSubscriberByEmail(db(), 'gus@example.com'))!;
    expect(gus.consent_note).toBe('paper form at the workshop evening');
    expect(await findTopics(db(), gus.id)).toEqual(['guides', 'offers']);
    await unsubscribe(db(), gus.id, { method: 'page' }, t0 + 2);
    expect(
      await addConfirmedSubscriber(
        db(),
        { email: 'gus@example.com', consentNote: 'old list', form: 'import' },
        'admin:1',
        t0 + 3,
      ),
    ).toMatchObject({ ok: true, value: { outcome: 'kept_unsubscribed' } });
  });

  it('preferences: topics, name and pause; erasing removes the person and blocks re-import', async () => {
    const added = await addConfirmedSubscriber(
      db(),
      { email: 'hal@example.com', consentNote: 'counter', form: 'admin' },
      'admin:1',
      t0,
    );
    const id = added.ok ? added.value.id! : 0;
    expect(
      await updatePreferences(
        db(),
        id,
        { name: '<b>Hal</b>\u0000', topics: ['store-news'], paused: true },
        'subscriber',
        t0 + 1,
      ),
    ).toEqual({ ok: true, value: undefined });
    const hal = (await findSubscriberByEmail(db(), 'hal@example.com'))!;
    expect(hal).toMatchObject({ name: '<b>Hal</b>', paused: 1 });
    expect(await eraseSubscriber(db(), id, t0 + 2)).toBe(true);
    expect(await findSubscriberByEmail(db(), 'hal@example.com')).toBeUndefined();
    expect(await findSubscriberEvents(db(), id)).toEqual([]);
    expect(
      await addConfirmedSubscriber(
        db(),
        { email: 'hal@example.com', consentNote: 'old csv', form: 'import' },
        'admin:1',
        t0 + 3,
      ),
    ).toMatchObject({ ok: true, value: { outcome: 'suppressed' } });
    // the person may still come back on their own, through double opt-in
    const { deps, sent } = depsFor(db());
    expect(await subscribe(deps, { email: 'hal@example.com', form: 'home' }, t0 + 4)).toEqual({
      ok: true,
      value: 'confirmation_sent',
    });
    expect(sent).toHaveLength(1);
  });
});
