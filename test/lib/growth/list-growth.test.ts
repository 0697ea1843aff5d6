import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import type { DB } from '#lib/db/database.ts';
import { listGrowth } from '#lib/growth/list-growth.service.ts';
import { growthPeriods, parseGrowthRange } from '#lib/growth/periods.ts';
import { applyImport, planImport } from '#lib/subscribers/import.service.ts';
import { findSubscriberByEmail } from '#lib/subscribers/subscribers.repository.ts';
import {
  addConfirmedSubscriber,
  confirmSubscription,
  eraseSubscriber,
  requestResubscription,
  subscribe,
  suppressAddress,
  unsubscribe,
  type SubscriberDeps,
} from '#lib/subscribers/subscribers.service.ts';

const tz = 'Europe/London';
const at = (iso: string) => Date.parse(iso);
// Wednesday: the week of Monday 7 December is still running.
const now = at('2026-12-09T12:00:00Z');

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function depsFor(db: DB) {
  const links = new Map<string, string>();
  const deps: SubscriberDeps = {
    db,
    secret: 'k'.repeat(43),
    siteUrl: 'https://frobozz.test',
    sendConfirmation: async (to, data) => void links.set(to, new URL(data.confirmUrl).searchParams.get('token')!),
  };
  return { deps, tokenFor: (email: string) => links.get(email)! };
}

async function signUpAndConfirm(
  deps: SubscriberDeps,
  tokenFor: (email: string) => string,
  email: string,
  issueId: number | null,
  signedUp: number,
  confirmed: number,
) {
  await subscribe(deps, { email, form: 'home', ...(issueId === null ? {} : { issueId }) }, signedUp);
  expect((await confirmSubscription(deps, tokenFor(email), confirmed)).outcome).toBe('confirmed');
}

async function id(db: DB, email: string): Promise<number> {
  return Number((await findSubscriberByEmail(db, email))!.id);
}

/** Direct counts of the raw timeline rows of one kind in [from, to). */
async function eventsOfKind(db: DB, kind: string, from: number, to: number): Promise<number> {
  const row = await db
    .selectFrom('subscriber_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', kind)
    .where('at', '>=', from)
    .where('at', '<', to)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describeEachDatabase('list growth', (db) => {
  it('counts joins by source, leaves by reason, erasures and the active list per local week, matching the raw rows', async () => {
    const { deps, tokenFor } = depsFor(db());
    // Before the 12 weeks: one person added by hand.
    unwrap(
      await addConfirmedSubscriber(
        db(),
        { email: 'zed@example.com', consentNote: 'asked at the counter', form: 'admin' },
        'user:1',
        at('2026-08-01T10:00:00Z'),
      ),
    );

    // Week of Monday 30 November: three imported, one signup from the site, one from an issue's page, one who never confirmed.
    const dir = mkdtempSync(path.join(tmpdir(), 'footfall-growth-'));
    const file = path.join(dir, 'old-list.csv');
    writeFileSync(file, 'email,name,topics\nann@example.com,Ann,\nbob@example.com,Bob,\ncat@example.com,Cat,\n');
    const plan = unwrap(
      await planImport(db(), file, { delimiter: ',', email: 0, name: 1, topics: 2 }, at('2026-12-01T10:00:00Z')),
    );
    unwrap(
      await applyImport(db(), plan, { consentNote: 'loyalty card form', actor: 'user:1' }, at('2026-12-01T10:00:00Z')),
    );
    await signUpAndConfirm(
      deps,
      tokenFor,
      'dee@example.com',
      null,
      at('2026-12-02T09:00:00Z'),
      at('2026-12-02T09:05:00Z'),
    );
    await signUpAndConfirm(
      deps,
      tokenFor,
      'eve@example.com',
      7,
      at('2026-12-03T09:00:00Z'),
      at('2026-12-03T09:05:00Z'),
    );
    await subscribe(deps, { email: 'fay@example.com', form: 'home' }, at('2026-12-03T10:00:00Z'));
    // Unconfirmed, so leaving changes nothing on the list; nor does a bounce after that.
    expect(
      await unsubscribe(db(), await id(db(), 'fay@example.com'), { method: 'page' }, at('2026-12-03T11:00:00Z')),
    ).toBe('unsubscribed');

    // Week of Monday 7 December (running): Ann leaves, Bob bounces, Cat is erased, Dee leaves and comes back.
    await unsubscribe(
      db(),
      await id(db(), 'ann@example.com'),
      { method: 'one-click', issueId: 7 },
      at('2026-12-07T08:00:00Z'),
    );
    await suppressAddress(db(), 'bob@example.com', 'bounced', {}, at('2026-12-08T08:00:00Z'));
    await suppressAddress(db(), 'fay@example.com', 'bounced', {}, at('2026-12-08T08:30:00Z'));
    await eraseSubscriber(db(), await id(db(), 'cat@example.com'), at('2026-12-08T09:00:00Z'));
    await unsubscribe(db(), await id(db(), 'dee@example.com'), { method: 'page' }, at('2026-12-08T10:00:00Z'));
    expect(await requestResubscription(deps, await id(db(), 'dee@example.com'), at('2026-12-09T09:00:00Z'))).toBe(
      'confirmation_sent',
    );
    expect((await confirmSubscription(deps, tokenFor('dee@example.com'), at('2026-12-09T09:10:00Z'))).outcome).toBe(
      'confirmed',
    );

    const growth = await listGrowth(db(), '12w', tz, now);
    expect(growth.periods).toHaveLength(13);
    expect(growth.activeAtStart).toBe(1);
    const [lastWeek, thisWeek] = growth.periods.slice(-2);
    expect(lastWeek).toMatchObject({
      firstDay: '2026-11-30',
      partial: false,
      joined: { import: 2, form: 1, issue: 1, other: 0 },
      left: { unsubscribed: 0, suppressed: 0 },
      erased: 0,
      activeAtEnd: 5,
    });
    expect(thisWeek).toMatchObject({
      firstDay: '2026-12-07',
      partial: true,
      joined: { import: 0, form: 0, issue: 0, other: 1 },
      left: { unsubscribed: 2, suppressed: 1 },
      erased: 1,
      activeAtEnd: 3,
    });
    for (const week of growth.periods.slice(0, -2)) expect(week.activeAtEnd).toBe(1);

    // The same figures as direct counts of raw rows.
    const active = await db()
      .selectFrom('subscribers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    expect(thisWeek!.activeAtEnd).toBe(Number(active.n));
    expect(lastWeek!.joined.import).toBe(await eventsOfKind(db(), 'imported', lastWeek!.from, lastWeek!.to)); // Cat's row went with her
    expect(lastWeek!.joined.form + lastWeek!.joined.issue).toBe(
      await eventsOfKind(db(), 'confirmed', lastWeek!.from, lastWeek!.to),
    );
    expect(thisWeek!.joined.other).toBe(await eventsOfKind(db(), 'resubscribed', thisWeek!.from, now));
    // Fay's unsubscribe and bounce are rows but no change to the list: one unsubscribed row and one bounced row more than the figures.
    expect(thisWeek!.left.unsubscribed).toBe(await eventsOfKind(db(), 'unsubscribed', thisWeek!.from, now));
    expect(await eventsOfKind(db(), 'unsubscribed', lastWeek!.from, lastWeek!.to)).toBe(1);
    expect(lastWeek!.left.unsubscribed).toBe(0);
    expect(thisWeek!.left.suppressed).toBe((await eventsOfKind(db(), 'bounced', thisWeek!.from, now)) - 1);
    const erased = await db()
      .selectFrom('suppressions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('reason', '=', 'erased')
      .executeTakeFirstOrThrow();
    expect(thisWeek!.erased).toBe(Number(erased.n));

    // By month: August (the add by hand) is inside the 12 months, so nothing came before.
    const months = await listGrowth(db(), '12m', tz, now);
    expect(months.periods.map((p) => p.firstDay).slice(-2)).toEqual(['2026-11-01', '2026-12-01']);
    expect(months.activeAtStart).toBe(0);
    expect(months.periods.find((p) => p.firstDay === '2026-08-01')).toMatchObject({
      joined: { other: 1 },
      activeAtEnd: 1,
    });
    expect(months.periods.at(-1)).toMatchObject({
      partial: true,
      joined: { import: 2, form: 1, issue: 1, other: 1 },
      left: { unsubscribed: 2, suppressed: 1 },
      erased: 1,
      activeAtEnd: 3,
    });
  });
});

it('periods are local days, Monday weeks and months, the last one running', () => {
  const weeks = growthPeriods('12w', 'America/New_York', at('2026-12-07T03:00:00Z')); // Sunday 22:00 in New York
  expect(weeks.at(-1)).toMatchObject({ firstDay: '2026-11-30', partial: true });
  expect(weeks[0]!.firstDay).toBe('2026-09-07');
  expect(weeks.at(-1)!.from).toBe(at('2026-11-30T05:00:00Z'));
  const days = growthPeriods('30d', 'Europe/London', at('2026-03-29T12:00:00Z')); // the clocks go forward that night
  expect(days.at(-2)!.to - days.at(-2)!.from).toBe(24 * 3_600_000);
  expect(days.at(-1)!.to - days.at(-1)!.from).toBe(23 * 3_600_000);
  expect(parseGrowthRange('12m')).toEqual({ ok: true, range: '12m' });
  expect(parseGrowthRange('5y')).toMatchObject({ ok: false, range: '12w', message: expect.stringContaining('“5y”') });
});
