import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue, TEST_SECRET } from '../../helpers/tracking.ts';
import { EventWriter } from '../../../src/lib/events/event-writer.ts';
import { clickHitInserter, clickInserter, openHitInserter, openInserter } from '../../../src/lib/tracking/tracking.repository.ts';
import { recordClick, recordOpen, type TrackingApp } from '../../../src/lib/tracking/tracking.service.ts';
import { readAttribution } from '../../../src/lib/tracking/attribution.ts';
import { loadConfig } from '../../../src/lib/config.ts';
import { getSettings, saveSettings } from '../../../src/lib/settings/settings.service.ts';
import { findLinkTotals, findTotals } from '../../../src/lib/reports/report-counts.repository.ts';
import type { DB } from '../../../src/lib/db/database.ts';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const MIN = 60_000;
const DAY = 86_400_000;

function trackingApp(db: DB): TrackingApp {
  return { db, secret: TEST_SECRET, config: loadConfig({ NODE_ENV: 'test' }), writer: new EventWriter(db, { open: openInserter, click: clickInserter, open_hit: openHitInserter, click_hit: clickHitInserter }, { maxWaitMs: 0, maxBatch: 100 }) } as TrackingApp;
}

/** An issue sent on 6 October 2026 to two readers, and a tracking app with a writer of its own. */
async function sentToTwo(db: DB) {
  const sentAt = Date.UTC(2026, 9, 6, 9, 30);
  const issue = await seedIssue(db, 'http://127.0.0.1:4321', sentAt - DAY);
  const [first, second] = [await seedDelivery(db, issue.issueId, sentAt), await seedDelivery(db, issue.issueId, sentAt)];
  return { sentAt, issue, first, second, app: trackingApp(db) };
}

describeEachDatabase('tracking service (time passed in)', (db) => {
  it('opens and clicks of a delivery sent weeks ago are stored at the time given, classified as the /t/ routes classify them', async () => {
    const { sentAt, issue, first: reader, second: scanned, app } = await sentToTwo(db());

    await recordOpen(app, { deliveryId: reader.deliveryId, userAgent: 'Mozilla/5.0', ip: '17.58.1.9' }, sentAt + 40_000);
    await recordOpen(app, { deliveryId: reader.deliveryId, userAgent: chrome, ip: '81.2.3.4' }, sentAt + 3 * 3_600_000);
    const clicked = await recordClick(app, { deliveryId: reader.deliveryId, linkId: issue.links.site.id, userAgent: chrome }, sentAt + 3 * 3_600_000 + 90_000);
    expect(clicked?.url).toBe(issue.links.site.url);
    const cookie = readAttribution(TEST_SECRET, /^ff_attr=([^;]+)/.exec(clicked?.setCookie ?? '')?.[1], sentAt + 4 * 3_600_000, 7);
    expect(cookie).toEqual({ issueId: issue.issueId, deliveryId: reader.deliveryId, subscriberId: reader.subscriberId, at: sentAt + 3 * 3_600_000 + 90_000 });

    // A scanner: the pixel and every link within a second of arrival.
    await recordOpen(app, { deliveryId: scanned.deliveryId, userAgent: chrome, ip: '52.1.1.1' }, sentAt + 2000);
    for (const [i, kind] of (['site', 'external', 'honeypot'] as const).entries()) {
      const scan = await recordClick(app, { deliveryId: scanned.deliveryId, linkId: issue.links[kind].id, userAgent: chrome }, sentAt + 3000 + i * 100);
      expect(scan?.setCookie).toBeUndefined();
    }
    await app.writer.close();

    const opens = await db().selectFrom('opens').select(['delivery_id', 'at', 'class']).orderBy('id').execute();
    expect(opens.map((o) => [Number(o.delivery_id), Number(o.at) - sentAt, o.class])).toEqual([
      [reader.deliveryId, 40_000, 'apple_mpp'],
      [reader.deliveryId, 3 * 3_600_000, 'human'],
      [scanned.deliveryId, 2000, 'scanner'],
    ]);
    const clicks = await db().selectFrom('clicks').select(['delivery_id', 'at', 'class', 'reason']).orderBy('id').execute();
    expect(clicks.map((c) => [Number(c.delivery_id), Number(c.at) - sentAt, c.class, c.reason])).toEqual([
      [reader.deliveryId, 3 * 3_600_000 + 90_000, 'human', 'reader'],
      [scanned.deliveryId, 3000, 'bot', 'clicked 3 s after delivery'],
      [scanned.deliveryId, 3100, 'bot', 'clicked 3 s after delivery'],
      [scanned.deliveryId, 3200, 'bot', 'hidden honeypot link'],
    ]);
    const delivery = await db().selectFrom('deliveries').select(['first_opened_at', 'first_clicked_at']).where('id', '=', reader.deliveryId).executeTakeFirstOrThrow();
    expect([Number(delivery.first_opened_at) - sentAt, Number(delivery.first_clicked_at) - sentAt]).toEqual([3 * 3_600_000, 3 * 3_600_000 + 90_000]);
  });

  it('bad input records nothing: an unknown delivery, another issue’s link, an unknown link', async () => {
    const sentAt = Date.UTC(2026, 9, 6, 9, 30);
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const other = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const { deliveryId } = await seedDelivery(db(), issue.issueId, sentAt);
    const app = trackingApp(db());
    const before = async () => ({
      opens: Number((await db().selectFrom('opens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
      clicks: Number((await db().selectFrom('clicks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
    });
    const counts = await before();
    await recordOpen(app, { deliveryId: 987_654_321, userAgent: chrome, ip: '81.2.3.4' }, sentAt + 10 * MIN);
    expect(await recordClick(app, { deliveryId: 987_654_321, linkId: issue.links.site.id, userAgent: chrome }, sentAt + 10 * MIN)).toBeUndefined();
    expect(await recordClick(app, { deliveryId, linkId: other.links.site.id, userAgent: chrome }, sentAt + 10 * MIN)).toBeUndefined();
    expect(await recordClick(app, { deliveryId, linkId: 987_654_321, userAgent: chrome }, sentAt + 10 * MIN)).toBeUndefined();
    await app.writer.close();
    expect(await before()).toEqual(counts);
  });

  it('a delivery written by a transaction still open is not taken for sent: the open waits, and a rollback leaves nothing', async () => {
    const sentAt = Date.UTC(2026, 9, 6, 9, 30);
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const { subscriberId } = await seedDelivery(db(), issue.issueId, sentAt);
    const other = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const app = trackingApp(db());
    let deliveryId = 0;
    let recorded: Promise<unknown> | undefined;
    await db()
      .transaction()
      .execute(async (trx) => {
        const row = await trx
          .insertInto('deliveries')
          .values({ issue_id: other.issueId, subscriber_id: subscriberId, status: 'sent', next_attempt_at: sentAt, sent_at: sentAt, created_at: sentAt })
          .returning('id')
          .executeTakeFirstOrThrow();
        deliveryId = Number(row.id);
        recorded = Promise.resolve(recordOpen(app, { deliveryId, userAgent: chrome, ip: '81.2.3.4' }, sentAt + 10 * MIN));
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'));
    await recorded;
    await app.writer.close();
    expect(await db().selectFrom('opens').select('id').where('delivery_id', '=', deliveryId).execute()).toEqual([]);
    expect(await db().selectFrom('opens').select('id').where('issue_id', '=', other.issueId).execute()).toEqual([]);
  });

  it('with open and click tracking off: nothing stored, a click still leads to its own issue’s link only', async () => {
    const sentAt = Date.UTC(2026, 9, 6, 9, 30);
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const other = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const { deliveryId } = await seedDelivery(db(), issue.issueId, sentAt);
    const saved = await saveSettings(db(), { ...(await getSettings(db())), postalAddress: '12 Flathead Row, Port Foozle', openTracking: false, clickTracking: false }, null);
    expect(saved.ok).toBe(true);
    const app = trackingApp(db());
    try {
      expect(recordOpen(app, { deliveryId, userAgent: chrome, ip: '81.2.3.4' }, sentAt + 10 * MIN)).toBeUndefined();
      expect(await recordClick(app, { deliveryId, linkId: issue.links.site.id, userAgent: chrome }, sentAt + 10 * MIN)).toEqual({ url: issue.links.site.url, setCookie: undefined });
      expect(await recordClick(app, { deliveryId, linkId: other.links.site.id, userAgent: chrome }, sentAt + 10 * MIN)).toBeUndefined();
      expect(await recordClick(app, { deliveryId: 987_654_321, linkId: issue.links.site.id, userAgent: chrome }, sentAt + 10 * MIN)).toBeUndefined();
      await app.writer.close();
      expect(await db().selectFrom('opens').select('id').where('delivery_id', '=', deliveryId).execute()).toEqual([]);
      expect(await db().selectFrom('clicks').select('id').where('delivery_id', '=', deliveryId).execute()).toEqual([]);
    } finally {
      await saveSettings(db(), { ...(await getSettings(db())), postalAddress: '12 Flathead Row, Port Foozle', openTracking: true, clickTracking: true }, null);
    }
  });

  it('unique clickers per link: once per reader and link, still after the raw clicks are pruned, and taken back when a scanner is exposed', async () => {
    const { sentAt, issue, first: reader, second: scanned, app } = await sentToTwo(db());
    const clickers = async () => Object.fromEntries((await findLinkTotals(db(), issue.issueId, 'link.clickers')).filter((r) => r.n !== 0).map((r) => [Number(r.dim), r.n]));
    const click = (deliveryId: number, kind: 'site' | 'external' | 'tel', at: number) => recordClick(app, { deliveryId, linkId: issue.links[kind].id, userAgent: chrome }, at);
    const { site, external } = { site: issue.links.site.id, external: issue.links.external.id };

    await click(reader.deliveryId, 'site', sentAt + 60 * MIN);
    await click(reader.deliveryId, 'site', sentAt + 70 * MIN);
    await click(reader.deliveryId, 'external', sentAt + 80 * MIN);
    expect(await clickers()).toEqual({ [site]: 1, [external]: 1 });
    // Retention pruned the raw clicks: clicking the same link again is still not a new clicker.
    await db().deleteFrom('clicks').where('delivery_id', '=', reader.deliveryId).execute();
    await click(reader.deliveryId, 'site', sentAt + 400 * DAY);
    expect(await clickers()).toEqual({ [site]: 1, [external]: 1 });

    // A reader-looking click, then three links within a second: a scanner; its clicker counts go.
    await click(scanned.deliveryId, 'site', sentAt + 30 * MIN);
    expect(await clickers()).toEqual({ [site]: 2, [external]: 1 });
    for (const [i, kind] of (['external', 'tel', 'site'] as const).entries()) await click(scanned.deliveryId, kind, sentAt + 30 * MIN + 500 + i * 200);
    expect(await clickers()).toEqual({ [site]: 1, [external]: 1 });
    expect(await db().selectFrom('clicks').select('class').where('delivery_id', '=', scanned.deliveryId).execute()).toEqual(Array.from({ length: 4 }, () => ({ class: 'bot' })));
    const row = await db().selectFrom('deliveries').select(['first_clicked_at', 'clicked_links']).where('id', '=', scanned.deliveryId).executeTakeFirstOrThrow();
    expect(row).toEqual({ first_clicked_at: null, clicked_links: null });
    await app.writer.close();
  });

  it('a scanner exposed within one batch of the writer: the batch’s earlier clicks are re-labelled too', async () => {
    const { sentAt, issue, first: reader, second: scanned, app } = await sentToTwo(db());
    const click = (deliveryId: number, kind: 'site' | 'external' | 'tel', at: number) => recordClick(app, { deliveryId, linkId: issue.links[kind].id, userAgent: chrome }, at);
    await click(reader.deliveryId, 'site', sentAt + 10 * MIN); // the links are cached from here: the next clicks reach the writer in one turn
    const at = sentAt + 30 * MIN;
    await Promise.all((['site', 'external', 'tel', 'site'] as const).map((kind, i) => click(scanned.deliveryId, kind, at + i * 200)));
    expect(await db().selectFrom('clicks').select(['link_id', 'class']).where('delivery_id', '=', scanned.deliveryId).orderBy('id').execute()).toEqual(
      (['site', 'external', 'tel', 'site'] as const).map((kind) => ({ link_id: issue.links[kind].id, class: 'bot' })),
    );
    const row = await db().selectFrom('deliveries').select(['first_clicked_at', 'clicked_links']).where('id', '=', scanned.deliveryId).executeTakeFirstOrThrow();
    expect(row).toEqual({ first_clicked_at: null, clicked_links: null });
    const clickers = Object.fromEntries((await findLinkTotals(db(), issue.issueId, 'link.clickers')).filter((r) => r.n !== 0).map((r) => [Number(r.dim), r.n]));
    expect(clickers).toEqual({ [issue.links.site.id]: 1 });
    await app.writer.close();
  });

  it('several hits of one delivery within one batch of the writer: its first times and unique counts move once, to the earliest', async () => {
    const { sentAt, issue, first: reader, second: other, app } = await sentToTwo(db());
    const open = (deliveryId: number, at: number) => recordOpen(app, { deliveryId, userAgent: chrome, ip: '198.51.100.7' }, at);
    const click = (deliveryId: number, at: number) => recordClick(app, { deliveryId, linkId: issue.links.site.id, userAgent: chrome }, at);
    await open(other.deliveryId, sentAt + 5 * MIN); // settings and links cached from here: the next hits reach the writer in one turn
    await click(other.deliveryId, sentAt + 6 * MIN);
    await Promise.all([open(reader.deliveryId, sentAt + 90 * MIN), open(reader.deliveryId, sentAt + 40 * MIN), open(reader.deliveryId, sentAt + 70 * MIN)]);
    await Promise.all([click(reader.deliveryId, sentAt + 95 * MIN), click(reader.deliveryId, sentAt + 45 * MIN), click(reader.deliveryId, sentAt + 75 * MIN)]);

    const row = await db().selectFrom('deliveries').select(['first_any_open_at', 'first_opened_at', 'first_clicked_at', 'clicked_links']).where('id', '=', reader.deliveryId).executeTakeFirstOrThrow();
    expect(row).toEqual({ first_any_open_at: sentAt + 40 * MIN, first_opened_at: sentAt + 40 * MIN, first_clicked_at: sentAt + 45 * MIN, clicked_links: `,${issue.links.site.id},` });
    const totals = await findTotals(db(), [issue.issueId], ['first.open', 'first.open_human', 'first.click', 'open.human', 'click.human']);
    expect(Object.fromEntries(totals.map((t) => [t.metric, t.n]))).toEqual({ 'first.open': 2, 'first.open_human': 2, 'first.click': 2, 'open.human': 4, 'click.human': 4 });
    expect(await findLinkTotals(db(), issue.issueId, 'link.clickers')).toEqual([{ dim: String(issue.links.site.id), n: 2 }]);
    // The hourly unique opens sit in the hour of the earliest open, not of the first one stored.
    const hourly = await db().selectFrom('report_counts').select(['bucket', 'n']).where('issue_id', '=', issue.issueId).where('metric', '=', 'first.open~h').where('n', '!=', 0).orderBy('bucket').execute();
    expect(hourly.map((h) => [Number(h.bucket), Number(h.n)])).toEqual([[Date.UTC(2026, 9, 6, 9), 1], [Date.UTC(2026, 9, 6, 10), 1]]); // 09:35 and 10:10
    await app.writer.close();
  });
});
