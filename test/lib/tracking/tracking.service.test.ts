import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue, TEST_SECRET } from '../../helpers/tracking.ts';
import { IPS, trackingApp } from '../../helpers/networks.ts';
import { recordClick, recordOpen } from '#lib/tracking/tracking.service.ts';
import { readAttribution } from '#lib/tracking/attribution.ts';
import { getSettings, saveSettings } from '#lib/settings/settings.service.ts';
import { findLinkTotals, findTotals } from '#lib/counts/range-reads.ts';
import type { DB } from '#lib/db/database.ts';
import { countRows } from '../../helpers/rows.ts';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const MIN = 60_000;
const DAY = 86_400_000;

/** An issue sent on 6 October 2026 to two readers, and a tracking app with a writer of its own. */
async function sentToTwo(db: DB) {
  const sentAt = Date.UTC(2026, 9, 6, 9, 30);
  const issue = await seedIssue(db, 'http://127.0.0.1:4321', sentAt - DAY);
  const [first, second] = [
    await seedDelivery(db, issue.issueId, sentAt),
    await seedDelivery(db, issue.issueId, sentAt),
  ];
  return { sentAt, issue, first, second, app: trackingApp(db) };
}

const cookieValue = (setCookie: string[] | undefined, name: string) =>
  setCookie?.map((c) => new RegExp(`^${name}=([^;]+)`).exec(c)?.[1]).find(Boolean);

describeEachDatabase('tracking service (time passed in)', (db) => {
  it('opens and clicks of a delivery sent weeks ago are stored at the time given, with who sent them, classified as the /t/ routes classify them', async () => {
    const { sentAt, issue, first: reader, second: scanned, app } = await sentToTwo(db());

    await recordOpen(app, { deliveryId: reader.deliveryId, userAgent: 'Mozilla/5.0', ip: IPS.apple }, sentAt + 40_000);
    await recordOpen(app, { deliveryId: reader.deliveryId, userAgent: chrome, ip: IPS.bt }, sentAt + 3 * 3_600_000);
    const clicked = await recordClick(
      app,
      { deliveryId: reader.deliveryId, linkId: issue.links.site.id, userAgent: chrome, ip: IPS.bt },
      sentAt + 3 * 3_600_000 + 90_000,
    );
    expect(clicked?.url).toBe(issue.links.site.url);
    const cookie = readAttribution(TEST_SECRET, cookieValue(clicked?.setCookie, 'ff_attr'), sentAt + 4 * 3_600_000, 7);
    expect(cookie).toEqual({
      issueId: issue.issueId,
      deliveryId: reader.deliveryId,
      subscriberId: reader.subscriberId,
      at: sentAt + 3 * 3_600_000 + 90_000,
    });
    expect(cookieValue(clicked?.setCookie, 'ff_click')).toBeUndefined(); // the attribution cookie names the click

    // A sandbox in a cloud: the pixel, then every link within a second of arrival.
    await recordOpen(app, { deliveryId: scanned.deliveryId, userAgent: chrome, ip: IPS.amazon }, sentAt + 2000);
    for (const [i, kind] of (['site', 'external', 'honeypot'] as const).entries()) {
      const scan = await recordClick(
        app,
        { deliveryId: scanned.deliveryId, linkId: issue.links[kind].id, userAgent: chrome, ip: IPS.amazon },
        sentAt + 3000 + i * 100,
      );
      expect(cookieValue(scan?.setCookie, 'ff_attr')).toBeUndefined();
      expect(cookieValue(scan?.setCookie, 'ff_click')).toBeTruthy();
    }
    await app.writer.close();

    const opens = await db()
      .selectFrom('opens')
      .select(['delivery_id', 'at', 'class', 'reason', 'asn', 'net', 'agent'])
      .orderBy('id')
      .execute();
    expect(
      opens.map((o) => [Number(o.delivery_id), Number(o.at) - sentAt, o.class, Number(o.asn), o.net, o.agent]),
    ).toEqual([
      [reader.deliveryId, 40_000, 'apple_mpp', 714, 'apple', 'apple_fetcher:other'],
      [reader.deliveryId, 3 * 3_600_000, 'human', 2856, 'access', 'browser:linux'],
      [scanned.deliveryId, 2000, 'scanner', 16509, 'cloud', 'browser:linux'],
    ]);
    expect(opens[2]!.reason).toBe('Amazon.com, Inc. (AS16509), a cloud host, loaded the pixel 2 s after delivery');
    const clicks = await db()
      .selectFrom('clicks')
      .select(['delivery_id', 'at', 'class', 'reason'])
      .orderBy('id')
      .execute();
    expect(clicks.map((c) => [Number(c.delivery_id), Number(c.at) - sentAt, c.class])).toEqual([
      [reader.deliveryId, 3 * 3_600_000 + 90_000, 'human'],
      [scanned.deliveryId, 3000, 'bot'],
      [scanned.deliveryId, 3100, 'bot'],
      [scanned.deliveryId, 3200, 'bot'],
    ]);
    expect(clicks[0]!.reason).toBe('reader: Chrome on Linux, British Telecommunications PLC (AS2856)');
    expect(clicks[1]!.reason).toBe('Amazon.com, Inc. (AS16509), a cloud host, followed a link 3 s after delivery');
    expect(clicks[2]!.reason).toBe('Amazon.com, Inc. (AS16509), a cloud host: 2 links in 0 s');
    expect(clicks[3]!.reason).toBe(
      'followed the hidden link no reader sees (Chrome on Linux, Amazon.com, Inc. (AS16509)) 3 s after delivery',
    );
    const delivery = await db()
      .selectFrom('deliveries')
      .select(['first_opened_at', 'first_clicked_at', 'machine_at', 'reader'])
      .where('id', '=', reader.deliveryId)
      .executeTakeFirstOrThrow();
    expect([
      Number(delivery.first_opened_at) - sentAt,
      Number(delivery.first_clicked_at) - sentAt,
      delivery.machine_at,
      delivery.reader,
    ]).toEqual([3 * 3_600_000, 3 * 3_600_000 + 90_000, null, '2856|access|browser:linux']);
    const swept = await db()
      .selectFrom('deliveries')
      .select(['machine_at', 'machine_source'])
      .where('id', '=', scanned.deliveryId)
      .executeTakeFirstOrThrow();
    expect([Number(swept.machine_at) - sentAt, swept.machine_source]).toEqual([3000, '16509|cloud|browser:linux']);
  });

  it('bad input records nothing: an unknown delivery, another issue’s link, an unknown link', async () => {
    const sentAt = Date.UTC(2026, 9, 6, 9, 30);
    const issue = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const other = await seedIssue(db(), 'http://127.0.0.1:4321', sentAt - DAY);
    const { deliveryId } = await seedDelivery(db(), issue.issueId, sentAt);
    const app = trackingApp(db());
    const before = async () => ({ opens: await countRows(db(), 'opens'), clicks: await countRows(db(), 'clicks') });
    const counts = await before();
    await recordOpen(app, { deliveryId: 987_654_321, userAgent: chrome, ip: IPS.bt }, sentAt + 10 * MIN);
    expect(
      await recordClick(
        app,
        { deliveryId: 987_654_321, linkId: issue.links.site.id, userAgent: chrome, ip: IPS.bt },
        sentAt + 10 * MIN,
      ),
    ).toBeUndefined();
    expect(
      await recordClick(
        app,
        { deliveryId, linkId: other.links.site.id, userAgent: chrome, ip: IPS.bt },
        sentAt + 10 * MIN,
      ),
    ).toBeUndefined();
    expect(
      await recordClick(app, { deliveryId, linkId: 987_654_321, userAgent: chrome, ip: IPS.bt }, sentAt + 10 * MIN),
    ).toBeUndefined();
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
          .values({
            issue_id: other.issueId,
            subscriber_id: subscriberId,
            status: 'sent',
            next_attempt_at: sentAt,
            sent_at: sentAt,
            created_at: sentAt,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        deliveryId = Number(row.id);
        recorded = Promise.resolve(recordOpen(app, { deliveryId, userAgent: chrome, ip: IPS.bt }, sentAt + 10 * MIN));
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      })
      .catch((error: unknown) => expect(error).toMatchObject({ message: 'roll back' }));
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
    const saved = await saveSettings(
      db(),
      {
        ...(await getSettings(db())),
        postalAddress: '12 Flathead Row, Port Foozle',
        openTracking: false,
        clickTracking: false,
      },
      null,
    );
    expect(saved.ok).toBe(true);
    const app = trackingApp(db());
    try {
      expect(recordOpen(app, { deliveryId, userAgent: chrome, ip: IPS.bt }, sentAt + 10 * MIN)).toBeUndefined();
      expect(
        await recordClick(
          app,
          { deliveryId, linkId: issue.links.site.id, userAgent: chrome, ip: IPS.bt },
          sentAt + 10 * MIN,
        ),
      ).toEqual({ url: issue.links.site.url, setCookie: undefined });
      expect(
        await recordClick(
          app,
          { deliveryId, linkId: other.links.site.id, userAgent: chrome, ip: IPS.bt },
          sentAt + 10 * MIN,
        ),
      ).toBeUndefined();
      expect(
        await recordClick(
          app,
          { deliveryId: 987_654_321, linkId: issue.links.site.id, userAgent: chrome, ip: IPS.bt },
          sentAt + 10 * MIN,
        ),
      ).toBeUndefined();
      await app.writer.close();
      expect(await db().selectFrom('opens').select('id').where('delivery_id', '=', deliveryId).execute()).toEqual([]);
      expect(await db().selectFrom('clicks').select('id').where('delivery_id', '=', deliveryId).execute()).toEqual([]);
    } finally {
      await saveSettings(
        db(),
        {
          ...(await getSettings(db())),
          postalAddress: '12 Flathead Row, Port Foozle',
          openTracking: true,
          clickTracking: true,
        },
        null,
      );
    }
  });

  it('unique clickers per link: once per reader and link, still after the raw clicks are pruned, and taken back when a sweep is caught', async () => {
    const { sentAt, issue, first: reader, second: scanned, app } = await sentToTwo(db());
    const clickers = async () =>
      Object.fromEntries(
        (await findLinkTotals(db(), issue.issueId, 'link.clickers'))
          .filter((r) => r.n !== 0)
          .map((r) => [Number(r.dim), r.n]),
      );
    const click = (deliveryId: number, kind: 'site' | 'external' | 'tel', at: number, ip: string = IPS.bt) =>
      recordClick(app, { deliveryId, linkId: issue.links[kind].id, userAgent: chrome, ip }, at);
    const { site, external } = { site: issue.links.site.id, external: issue.links.external.id };

    await click(reader.deliveryId, 'site', sentAt + 60 * MIN);
    await click(reader.deliveryId, 'site', sentAt + 70 * MIN);
    await click(reader.deliveryId, 'external', sentAt + 80 * MIN);
    expect(await clickers()).toEqual({ [site]: 1, [external]: 1 });
    // Retention pruned the raw clicks: clicking the same link again is still not a new clicker.
    await db().deleteFrom('clicks').where('delivery_id', '=', reader.deliveryId).execute();
    await click(reader.deliveryId, 'site', sentAt + 400 * DAY);
    expect(await clickers()).toEqual({ [site]: 1, [external]: 1 });

    // Through a web security proxy, in the delivery-time scan, a click alone after the first minute is a reader’s; three links in twenty seconds are a sweep.
    await click(scanned.deliveryId, 'site', sentAt + 2 * MIN, IPS.zscaler);
    expect(await clickers()).toEqual({ [site]: 2, [external]: 1 });
    for (const [i, kind] of (['external', 'tel'] as const).entries())
      await click(scanned.deliveryId, kind, sentAt + 2 * MIN + 8000 + i * 9000, IPS.zscaler);
    expect(await clickers()).toEqual({ [site]: 1, [external]: 1 });
    const swept = await db()
      .selectFrom('clicks')
      .select(['class', 'reason'])
      .where('delivery_id', '=', scanned.deliveryId)
      .orderBy('id')
      .execute();
    expect(swept.map((c) => c.class)).toEqual(['bot', 'bot', 'bot']);
    expect(swept[2]!.reason).toBe('ZSCALER, INC. (AS22616), a web security proxy: 3 links in 17 s');
    const row = await db()
      .selectFrom('deliveries')
      .select(['first_clicked_at', 'clicked_links'])
      .where('id', '=', scanned.deliveryId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ first_clicked_at: null, clicked_links: null });
    await app.writer.close();
  });

  it('a sweep caught within one batch of the writer: the batch’s earlier clicks are re-labelled too', async () => {
    const { sentAt, issue, first: reader, second: scanned, app } = await sentToTwo(db());
    const click = (deliveryId: number, kind: 'site' | 'external' | 'tel', at: number, ip: string) =>
      recordClick(app, { deliveryId, linkId: issue.links[kind].id, userAgent: chrome, ip }, at);
    await click(reader.deliveryId, 'site', sentAt + 10 * MIN, IPS.bt); // the links are cached from here: the next clicks reach the writer in one turn
    const at = sentAt + 2 * MIN;
    await Promise.all(
      (['site', 'external', 'tel', 'site'] as const).map((kind, i) =>
        click(scanned.deliveryId, kind, at + i * 200, IPS.zscaler),
      ),
    );
    expect(
      await db()
        .selectFrom('clicks')
        .select(['link_id', 'class'])
        .where('delivery_id', '=', scanned.deliveryId)
        .orderBy('id')
        .execute(),
    ).toEqual(
      (['site', 'external', 'tel', 'site'] as const).map((kind) => ({ link_id: issue.links[kind].id, class: 'bot' })),
    );
    const row = await db()
      .selectFrom('deliveries')
      .select(['first_clicked_at', 'clicked_links'])
      .where('id', '=', scanned.deliveryId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ first_clicked_at: null, clicked_links: null });
    const clickers = Object.fromEntries(
      (await findLinkTotals(db(), issue.issueId, 'link.clickers'))
        .filter((r) => r.n !== 0)
        .map((r) => [Number(r.dim), r.n]),
    );
    expect(clickers).toEqual({ [issue.links.site.id]: 1 });
    await app.writer.close();
  });

  it('several hits of one delivery within one batch of the writer: its first times and unique counts move once, to the earliest', async () => {
    const { sentAt, issue, first: reader, second: other, app } = await sentToTwo(db());
    const open = (deliveryId: number, at: number) =>
      recordOpen(app, { deliveryId, userAgent: chrome, ip: IPS.comcast }, at);
    const click = (deliveryId: number, at: number) =>
      recordClick(app, { deliveryId, linkId: issue.links.site.id, userAgent: chrome, ip: IPS.comcast }, at);
    await open(other.deliveryId, sentAt + 5 * MIN); // settings and links cached from here: the next hits reach the writer in one turn
    await click(other.deliveryId, sentAt + 6 * MIN);
    await Promise.all([
      open(reader.deliveryId, sentAt + 90 * MIN),
      open(reader.deliveryId, sentAt + 40 * MIN),
      open(reader.deliveryId, sentAt + 70 * MIN),
    ]);
    await Promise.all([
      click(reader.deliveryId, sentAt + 95 * MIN),
      click(reader.deliveryId, sentAt + 45 * MIN),
      click(reader.deliveryId, sentAt + 75 * MIN),
    ]);

    const row = await db()
      .selectFrom('deliveries')
      .select(['first_any_open_at', 'first_opened_at', 'first_clicked_at', 'clicked_links'])
      .where('id', '=', reader.deliveryId)
      .executeTakeFirstOrThrow();
    expect(
      [row.first_any_open_at, row.first_opened_at, row.first_clicked_at, row.clicked_links].map((v) =>
        typeof v === 'string' && v.startsWith(',') ? v : Number(v),
      ),
    ).toEqual([sentAt + 40 * MIN, sentAt + 40 * MIN, sentAt + 45 * MIN, `,${issue.links.site.id},`]);
    const totals = await findTotals(
      db(),
      [issue.issueId],
      ['first.open', 'first.open_human', 'first.click', 'open.human', 'click.human'],
    );
    expect(Object.fromEntries(totals.map((t) => [t.metric, t.n]))).toEqual({
      'first.open': 2,
      'first.open_human': 2,
      'first.click': 2,
      'open.human': 4,
      'click.human': 4,
    });
    expect(await findLinkTotals(db(), issue.issueId, 'link.clickers')).toEqual([
      { dim: String(issue.links.site.id), n: 2 },
    ]);
    // The hourly unique opens sit in the hour of the earliest open, not of the first one stored.
    const hourly = await db()
      .selectFrom('report_counts')
      .select(['bucket', 'n'])
      .where('issue_id', '=', issue.issueId)
      .where('metric', '=', 'first.open~h')
      .where('n', '!=', 0)
      .orderBy('bucket')
      .execute();
    expect(hourly.map((h) => [Number(h.bucket), Number(h.n)])).toEqual([
      [Date.UTC(2026, 9, 6, 9), 1],
      [Date.UTC(2026, 9, 6, 10), 1],
    ]); // 09:35 and 10:10
    await app.writer.close();
  });
});
