import { seedSubscribers } from '../helpers/sending.ts';
import { seedIssue, TEST_SECRET, withDb } from '../helpers/tracking.ts';
import { CLICK_PATH, makeClickToken, makeOpenToken, OPEN_PATH } from '../../src/lib/tracking/tokens.ts';

/**
 * The tracking benches' deliveries: `count` of them sent an hour ago, each with its pixel path
 * and its click path (all on the same registered link, so every click answers the same 302 as
 * the bare server), and where that link leads.
 */
export function seedTrackedDeliveries(
  databaseUrl: string,
  siteUrl: string,
  count: number,
): Promise<{ pixelPaths: string[]; clickPaths: string[]; location: string }> {
  return withDb(databaseUrl, async (db) => {
    const issue = await seedIssue(db, siteUrl);
    const sentAt = Date.now() - 3_600_000;
    const subscribers = await seedSubscribers(db, count, { email: (i) => `bench-reader-${i}@example.com` });
    const deliveryIds: number[] = [];
    for (let i = 0; i < subscribers.length; i += 500) {
      const rows = subscribers.slice(i, i + 500).map((subscriberId) => ({
        issue_id: issue.issueId,
        subscriber_id: subscriberId,
        status: 'sent' as const,
        next_attempt_at: sentAt,
        sent_at: sentAt,
        created_at: sentAt,
      }));
      for (const row of await db.insertInto('deliveries').values(rows).returning('id').execute())
        deliveryIds.push(Number(row.id));
    }
    const linkId = issue.links.external.id;
    return {
      pixelPaths: deliveryIds.map((id) => OPEN_PATH + makeOpenToken(TEST_SECRET, id)),
      clickPaths: deliveryIds.map((id) => CLICK_PATH + makeClickToken(TEST_SECRET, id, linkId)),
      location: issue.links.external.url,
    };
  });
}
