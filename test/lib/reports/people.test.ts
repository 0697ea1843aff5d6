import { beforeAll, expect, it } from 'vitest';
import { compareIssues, issueReport } from '#lib/reports/issue-report.service.ts';
import { countPeople } from '#lib/reports/people.repository.ts';
import { checkPeopleRule, exportPeopleCsv, peoplePage } from '#lib/reports/people.service.ts';
import type { PeopleRule } from '#lib/reports/people.ts';
import { countAudience, freezeAudience } from '#lib/sending/deliveries.repository.ts';
import { clearSettingsCache, getSettings, saveSettings } from '#lib/settings/settings.service.ts';
import { eraseSubscriber } from '#lib/subscribers/subscribers.service.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedReportData, type ReportSeed } from '../../helpers/reports.ts';

const num = (v: unknown) => Number(v);

/**
 * The people behind each figure of an issue report, on the hand-counted data of
 * test/helpers/reports.ts (issue A: d0–d9 delivered, d10–d11 bounced; likely-human openers
 * d1–d6; human clickers d1 (site and external links), d2 (site), d3 (external); visitors d1
 * and d2; d1 came back later; d5 unsubscribed since). Each list has as many people as the
 * report's figure and as a direct count of the raw event rows.
 */
describeEachDatabase('the people behind a report figure', (db) => {
  let seed: ReportSeed;
  let d: number[];
  let emailOf: Map<number, string>;
  beforeAll(async () => {
    seed = await seedReportData(db(), 'http://127.0.0.1:4321');
    const ledger = await db()
      .selectFrom('deliveries')
      .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
      .select(['deliveries.id', 'subscribers.email'])
      .where('issue_id', '=', seed.a.issueId)
      .orderBy('deliveries.id')
      .execute();
    d = ledger.map((r) => num(r.id));
    emailOf = new Map(ledger.map((r) => [num(r.id), r.email]));
  }, 60_000);

  const listed = async (rule: PeopleRule) => {
    const page = await peoplePage(db(), rule, 1, 1000);
    if (!page.perPersonTracking) throw new Error('per-person tracking is off');
    return { total: page.total, emails: page.people.map((p) => p.email).sort() };
  };
  const emails = (...indexes: number[]) => indexes.map((i) => emailOf.get(d[i]!)!).sort();

  it('each figure lists the people it counts: as many as the report’s figure and a direct count of the raw rows', async () => {
    const a = seed.a.issueId;
    const [row] = await compareIssues(db(), { now: seed.now, issueIds: [a] });
    const report = (await issueReport(db(), a, { now: seed.now }))!;
    const opens = await db().selectFrom('opens').select(['delivery_id', 'class']).where('issue_id', '=', a).execute();
    const clicks = await db()
      .selectFrom('clicks')
      .select(['delivery_id', 'class', 'link_id'])
      .where('issue_id', '=', a)
      .execute();
    const visits = await db()
      .selectFrom('visits')
      .select(['delivery_id', 'is_later'])
      .where('issue_id', '=', a)
      .where('delivery_id', 'is not', null)
      .execute();
    const delivered = await db()
      .selectFrom('deliveries')
      .select('id')
      .where('issue_id', '=', a)
      .where('status', '=', 'sent')
      .execute();
    const humanClickers = new Set(clicks.filter((c) => c.class === 'human').map((c) => num(c.delivery_id)));
    const openers = new Set([
      ...opens.filter((o) => o.class === 'human' || o.class === 'proxy').map((o) => num(o.delivery_id)),
      ...humanClickers,
    ]);
    const siteLink = report.links.find((l) => l.kind === 'site')!;

    const opened = await listed({ issue: a, figure: 'opened' });
    expect(opened).toEqual({ total: 6, emails: emails(1, 2, 3, 4, 5, 6) });
    expect(opened.total).toBe(row!.uniqueHumanOpens);
    expect(opened.total).toBe(openers.size);

    const clicked = await listed({ issue: a, figure: 'clicked' });
    expect(clicked).toEqual({ total: 3, emails: emails(1, 2, 3) });
    expect(clicked.total).toBe(row!.uniqueHumanClicks);
    expect(clicked.total).toBe(humanClickers.size);

    const site = await listed({ issue: a, figure: 'clicked', link: siteLink.id });
    expect(site).toEqual({ total: 2, emails: emails(1, 2) });
    expect(site.total).toBe(siteLink.uniqueClickers);
    expect(site.total).toBe(
      new Set(
        clicks.filter((c) => c.class === 'human' && num(c.link_id) === siteLink.id).map((c) => num(c.delivery_id)),
      ).size,
    );
    const honeypot = report.links.find((l) => l.kind === 'honeypot')!;
    expect(await listed({ issue: a, figure: 'clicked', link: honeypot.id })).toEqual({ total: 0, emails: [] });

    const visited = await listed({ issue: a, figure: 'visited' });
    expect(visited).toEqual({ total: 2, emails: emails(1, 2) });
    expect(visited.total).toBe(row!.uniqueVisitors);
    expect(visited.total).toBe(new Set(visits.map((v) => num(v.delivery_id))).size);

    const later = await listed({ issue: a, figure: 'later' });
    expect(later).toEqual({ total: 1, emails: emails(1) });
    expect(later.total).toBe(new Set(visits.filter((v) => num(v.is_later) === 1).map((v) => num(v.delivery_id))).size);

    const notOpened = await listed({ issue: a, figure: 'not-opened' });
    expect(notOpened).toEqual({ total: 4, emails: emails(0, 7, 8, 9) });
    expect(notOpened.total).toBe(row!.delivered - row!.uniqueHumanOpens);
    expect(notOpened.total).toBe(delivered.filter((r) => !openers.has(num(r.id))).length);
  });

  it('pages hold the figure between them, and the CSV holds everyone once', async () => {
    const rule: PeopleRule = { issue: seed.a.issueId, figure: 'opened' };
    const pages = await Promise.all([1, 2, 3].map((n) => peoplePage(db(), rule, n, 4)));
    const shown = pages.map((p) => (p.perPersonTracking ? { page: p.page, pages: p.pages, n: p.people.length } : null));
    expect(shown).toEqual([
      { page: 1, pages: 2, n: 4 },
      { page: 2, pages: 2, n: 2 },
      { page: 2, pages: 2, n: 2 },
    ]);
    let csv = '';
    expect(await exportPeopleCsv(db(), rule, (t) => void (csv += t))).toBe(6);
    expect(csv.trimEnd().split('\n')).toHaveLength(7);
  });

  it('as an audience: the people behind the figure who are still active and not paused — d5 unsubscribed since and is left out', async () => {
    const rule: PeopleRule = { issue: seed.a.issueId, figure: 'opened' };
    expect(await countAudience(db(), { behaviour: rule })).toBe(5);
    const added = await freezeAudience(db(), { issueId: seed.draftId, behaviour: rule }, seed.now);
    expect(added).toBe(5);
    const frozen = await db()
      .selectFrom('deliveries')
      .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
      .select('subscribers.email')
      .where('issue_id', '=', seed.draftId)
      .execute();
    expect(frozen.map((r) => r.email).sort()).toEqual(emails(1, 2, 3, 4, 6));
    await db().deleteFrom('deliveries').where('issue_id', '=', seed.draftId).execute();
    expect(await countAudience(db(), { behaviour: { issue: seed.a.issueId, figure: 'not-opened' } })).toBe(4);
  });

  it('bad rules are refused with a sentence: an unknown figure, a link of another issue, a link on another figure, an issue not sent, no such issue', async () => {
    const a = seed.a.issueId;
    const linkOfB = await db()
      .selectFrom('issue_links')
      .select('id')
      .where('issue_id', '=', seed.b.issueId)
      .executeTakeFirstOrThrow();
    const refusal = async (input: { issue: unknown; figure: unknown; link?: unknown }) => {
      const r = await checkPeopleRule(db(), input);
      return r.ok ? 'accepted' : `${r.reason}: ${r.message}`;
    };
    expect(await refusal({ issue: a, figure: 'openers' })).toBe(
      'invalid: Unknown figure “openers”: choose one of opened, clicked, visited, later, not-opened.',
    );
    expect(await refusal({ issue: a, figure: 'clicked', link: num(linkOfB.id) })).toBe(
      `invalid: Link ${num(linkOfB.id)} is not a link of this issue: choose one from its report’s links table.`,
    );
    expect(await refusal({ issue: a, figure: 'opened', link: num(linkOfB.id) })).toBe(
      'invalid: A link goes only with the clickers figure (figure=clicked).',
    );
    expect(await refusal({ issue: a, figure: 'clicked', link: 'x1' })).toBe(
      'invalid: The link must be a link id (a whole number).',
    );
    expect(await refusal({ issue: seed.draftId, figure: 'opened' })).toBe(
      'conflict: This issue has not gone out yet: nobody has opened, clicked or visited from it, so there are no people to list.',
    );
    expect(await refusal({ issue: 999_999, figure: 'opened' })).toBe('not-found: There is no such issue.');
  });

  it('with per-person tracking off nobody is listed or exported, though the figure stays', async () => {
    const rule: PeopleRule = { issue: seed.a.issueId, figure: 'clicked' };
    const settings = await getSettings(db());
    expect((await saveSettings(db(), { ...settings, personTracking: false }, null)).ok).toBe(true);
    clearSettingsCache(db());
    try {
      expect(await peoplePage(db(), rule, 1)).toEqual({ perPersonTracking: false });
      let csv = '';
      expect(await exportPeopleCsv(db(), rule, (t) => void (csv += t))).toBe(0);
      expect(csv.trimEnd()).toBe('\uFEFFemail,name,status,first_opened_at,first_clicked_at,first_visit_at');
    } finally {
      await saveSettings(db(), { ...settings, personTracking: true }, null);
      clearSettingsCache(db());
    }
  });

  it('a subscriber erased since stays in the count and is no longer listed', async () => {
    const rule: PeopleRule = { issue: seed.a.issueId, figure: 'visited' };
    const d2 = await db()
      .selectFrom('deliveries')
      .select('subscriber_id')
      .where('id', '=', d[2]!)
      .executeTakeFirstOrThrow();
    expect(await eraseSubscriber(db(), num(d2.subscriber_id), seed.now)).toBe(true);
    expect(await countPeople(db(), rule)).toEqual({ total: 2, named: 1 });
    const page = await peoplePage(db(), rule, 1);
    expect(
      page.perPersonTracking && { total: page.total, deleted: page.deleted, emails: page.people.map((p) => p.email) },
    ).toEqual({ total: 2, deleted: 1, emails: emails(1) });
  });
});
