import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { EventWriter } from '#lib/events/event-writer.ts';
import { VisitTracker, type PageViewEvent } from '#lib/analytics/visits.ts';
import { seedDelivery, seedIssue } from '../../helpers/tracking.ts';

const DAY = 86_400_000;
const MIN = 60_000;

function view(at: number, path: string, extra: Partial<PageViewEvent> = {}): PageViewEvent {
  return {
    at,
    path,
    referrer_host: null,
    utm_source: null,
    utm_medium: null,
    utm_campaign: null,
    utm_content: null,
    utm_term: null,
    visitor_hash: `hash-day-${Math.floor(at / DAY)}`,
    device: 'desktop',
    is_bot: 0,
    ...extra,
  };
}

describeEachDatabase('visits and later visits (time passed in)', (db) => {
  it('a click landing, two pages, a visit the next day with the cookie: one attributed visit, one later visit, first_visit_at kept', async () => {
    const t0 = Date.UTC(2026, 10, 2, 9, 0, 0);
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', t0 - DAY);
    const { deliveryId, subscriberId } = await seedDelivery(db(), issue.issueId, t0 - 3_600_000);
    const pageViews = new VisitTracker().inserter;
    const writer = new EventWriter(db(), { pageViews }, { maxWaitMs: 0, maxBatch: 100 });
    const attribution = { issueId: issue.issueId, deliveryId, subscriberId, at: t0 };
    const windowMs = 7 * DAY;
    await writer.write(
      pageViews,
      view(t0 + 800, '/articles/widget-batteries-explained/', { utm_campaign: issue.slug, attribution, windowMs }),
    );
    await writer.write(pageViews, view(t0 + 2 * MIN, '/', { attribution, windowMs }));
    await writer.write(pageViews, view(t0 + 9 * MIN, '/articles/', { attribution, windowMs }));
    // The next day, on their own (no campaign in the URL, the cookie still there; the daily visitor hash changed).
    await writer.write(pageViews, view(t0 + DAY, '/', { attribution, windowMs }));
    // An anonymous visitor with no campaign and no cookie: a visit, not attributed.
    await writer.write(pageViews, view(t0 + 5 * MIN, '/', { visitor_hash: 'someone-else' }));
    // A bot's view makes no visit.
    await writer.write(pageViews, view(t0 + 6 * MIN, '/', { visitor_hash: 'a-bot', is_bot: 1 }));
    await writer.close();

    const visits = await db().selectFrom('visits').selectAll().orderBy('started_at').execute();
    expect(
      visits.map((v) => [
        v.visitor_key,
        Number(v.started_at) - t0,
        Number(v.views),
        v.attributed_by,
        Number(v.is_later),
        v.issue_id === null ? null : Number(v.issue_id),
      ]),
    ).toEqual([
      [`s:${subscriberId}`, 800, 3, 'utm', 0, issue.issueId],
      ['h:someone-else', 5 * MIN, 1, null, 0, null],
      [`s:${subscriberId}`, DAY, 1, 'cookie', 1, issue.issueId],
    ]);
    const d = await db()
      .selectFrom('deliveries')
      .select('first_visit_at')
      .where('id', '=', deliveryId)
      .executeTakeFirstOrThrow();
    expect(Number(d.first_visit_at)).toBe(t0 + 800);
    const attributedViews = await db()
      .selectFrom('page_views')
      .select('issue_id')
      .where('issue_id', '=', issue.issueId)
      .execute();
    expect(attributedViews).toHaveLength(4);
  });
});
