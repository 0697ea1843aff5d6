import { expect, it } from 'vitest';
import { holdoutResult } from '#lib/reports/holdout-result.service.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue } from '../../helpers/tracking.ts';
import { seedExperimentIssue, sweep } from '../../helpers/experiments.ts';
import { IPS, trackingApp } from '../../helpers/networks.ts';
import { findClickLink, recordClick } from '#lib/tracking/tracking.service.ts';

/**
 * The reader cookie's "known since" (`subscribers.reader_known_at`, issue 19) is set by a click
 * that counted as a person's; when a machine's verdict takes that click back (a proxy's scanner
 * follows the hidden link), it moves to the subscriber's earliest click still a person's, or goes.
 * So "known before the send" — who is identifiable for a holdout — never rests on a machine's click.
 *
 * seedExperimentIssue: a0 (A) clicks from BT at +1 h; b1 (B) from Zscaler at +2 min, then `sweep`
 * has a scanner from b1's network follow the hidden link a day later.
 */
const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const SENT = Date.UTC(2026, 10, 24, 10, 0);
const SITE = 'http://127.0.0.1:4321';

describeEachDatabase('“known before the send” follows a click taken back as a machine’s', (db) => {
  it('b1’s only click set the reader cookie; once re-labelled a machine’s, b1 is not identifiable for a later send, a0 still is', async () => {
    const seeded = await seedExperimentIssue(db(), SENT);
    const knownSince = async (subscriberId: number) => {
      const r = await db()
        .selectFrom('subscribers')
        .select('reader_known_at')
        .where('id', '=', subscriberId)
        .executeTakeFirstOrThrow();
      return r.reader_known_at === null ? null : Number(r.reader_known_at);
    };
    const a0 = seeded.arms.A[0]!.subscriberId;
    const b1 = seeded.arms.B[1]!.subscriberId;
    expect([await knownSince(a0), await knownSince(b1)]).toEqual([SENT + H, SENT + 2 * MIN]);

    // A later issue with a holdout: a0 and b1 held out, two others get it.
    const LATER = SENT + 3 * DAY;
    const later = await seedIssue(db(), SITE, LATER);
    await db().updateTable('sends').set({ started_at: LATER }).where('issue_id', '=', later.issueId).execute();
    const people: [number, 'holdout' | 'rest'][] = [
      [a0, 'holdout'],
      [b1, 'holdout'],
      [seeded.arms.A[1]!.subscriberId, 'rest'],
      [seeded.arms.B[0]!.subscriberId, 'rest'],
    ];
    for (const [subscriberId, arm] of people) {
      const d = await seedDelivery(db(), later.issueId, LATER);
      await db()
        .updateTable('deliveries')
        .set(
          arm === 'holdout'
            ? { arm, status: 'held_out', sent_at: null, subscriber_id: subscriberId }
            : { arm, subscriber_id: subscriberId },
        )
        .where('id', '=', d.deliveryId)
        .execute();
    }
    const heldOutKnown = async () =>
      (await holdoutResult(db(), later.issueId, LATER + DAY))!.visits.heldOut.identifiable;
    expect(await heldOutKnown()).toBe(2);

    await sweep(db(), seeded, SENT);
    expect([await knownSince(a0), await knownSince(b1)]).toEqual([SENT + H, null]);
    expect(await heldOutKnown()).toBe(1);
  });

  it('one batch of readers’ clicks: each subscriber’s earliest click sets it; an earlier setting stays, a later one moves back', async () => {
    const issue = await seedIssue(db(), SITE, SENT);
    const fresh = await seedDelivery(db(), issue.issueId, SENT);
    const knownEarlier = await seedDelivery(db(), issue.issueId, SENT);
    const knownLater = await seedDelivery(db(), issue.issueId, SENT);
    await db()
      .updateTable('subscribers')
      .set({ reader_known_at: SENT - DAY })
      .where('id', '=', knownEarlier.subscriberId)
      .execute();
    await db()
      .updateTable('subscribers')
      .set({ reader_known_at: SENT + DAY })
      .where('id', '=', knownLater.subscriberId)
      .execute();
    const app = trackingApp(db());
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const click = (deliveryId: number, kind: 'site' | 'external', at: number, ip: string) =>
      recordClick(app, { deliveryId, linkId: issue.links[kind].id, userAgent: chrome, ip }, at);
    // The links looked up first (then cached), and the clicks not awaited one by one: they are
    // written in one batch, one transaction.
    await findClickLink(app, issue.links.site.id, SENT);
    await findClickLink(app, issue.links.external.id, SENT);
    await Promise.all([
      click(fresh.deliveryId, 'site', SENT + 2 * H, IPS.bt),
      click(fresh.deliveryId, 'external', SENT + H, IPS.bt),
      click(knownEarlier.deliveryId, 'site', SENT + H, IPS.comcast),
      click(knownLater.deliveryId, 'site', SENT + 3 * H, '81.2.3.9'),
    ]);
    await app.writer.close();
    const classes = await db().selectFrom('clicks').select('class').where('issue_id', '=', issue.issueId).execute();
    expect(classes.map((c) => c.class)).toEqual(['human', 'human', 'human', 'human']);
    const known = await db()
      .selectFrom('subscribers')
      .select(['id', 'reader_known_at'])
      .where('id', 'in', [fresh.subscriberId, knownEarlier.subscriberId, knownLater.subscriberId])
      .orderBy('id')
      .execute();
    expect(known.map((r) => Number(r.reader_known_at))).toEqual([SENT + H, SENT - DAY, SENT + 3 * H]);
  });
});
