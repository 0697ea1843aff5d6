import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue } from '../../helpers/tracking.ts';
import { getSubscriberTimeline } from '#lib/subscribers/timeline.service.ts';

const t0 = Date.UTC(2026, 10, 20, 9);
const MINUTE = 60_000;

describeEachDatabase('a subscriber’s merged timeline', (db) => {
  it('merges record events and tracking newest first; when one source is cut short, stops where it is complete', async () => {
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', t0);
    const { deliveryId, subscriberId } = await seedDelivery(db(), issue.issueId, t0);
    const mine = { issue_id: issue.issueId, delivery_id: deliveryId, subscriber_id: subscriberId };
    // Record events at minutes 1, 3, 5, 7; opens at minutes 2, 4, 6.
    await db()
      .insertInto('subscriber_events')
      .values(
        [1, 3, 5, 7].map((m) => ({
          subscriber_id: subscriberId,
          at: t0 + m * MINUTE,
          kind: 'preferences_changed',
          detail: `{"by":"m${m}"}`,
        })),
      )
      .execute();
    await db()
      .insertInto('opens')
      .values(
        [2, 4, 6].map((m) => ({ ...mine, at: t0 + m * MINUTE, class: 'proxy', reason: `Gmail image proxy ${m}` })),
      )
      .execute();

    const all = await getSubscriberTimeline(db(), subscriberId, 10);
    expect(all.truncated).toBe(false);
    expect(all.items.map((i) => (i.at - t0) / MINUTE)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(all.items[1]).toEqual({
      source: 'tracking',
      at: t0 + 6 * MINUTE,
      kind: 'opened',
      issue: { id: issue.issueId, subject: 'Tracked' },
      class: 'proxy',
      reason: 'Gmail image proxy 6',
    });

    // Three of each: record events 7, 5, 3 (1 is left out) and opens 6, 4, 2. Showing minute 2
    // would hide that minute 1 is missing: the list may not go past 3, and shows the newest three.
    const cut = await getSubscriberTimeline(db(), subscriberId, 3);
    expect(cut.truncated).toBe(true);
    expect(cut.items.map((i) => (i.at - t0) / MINUTE)).toEqual([7, 6, 5]);
  });
});
