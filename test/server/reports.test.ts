import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, apiKeyFor, request, sessionCookie } from '../helpers/accounts.ts';
import { REPORT_TIME_ZONE, seedReportDatabase, SUBJECT_A, SUBJECT_B, type ReportSeed } from '../helpers/reports.ts';
import { weekHourOf } from '../../src/lib/reports/week-hour.ts';

const HOUR = 3_600_000;
const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const decode = (text: string) =>
  text
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The comparison table's rows in page order: issue id and each numeric cell by column key. */
function comparisonRows(
  html: string,
  tableId = 'comparison',
): { issueId: number; subject: string; cells: Record<string, string> }[] {
  const table = new RegExp(`<table[^>]*id="${tableId}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  return [...table.matchAll(/<tr[^>]*data-issue="(\d+)"[^>]*>([\s\S]*?)<\/tr>/g)].map(([, id, row]) => ({
    issueId: Number(id),
    subject: decode(/<th[^>]*scope="row"[^>]*>([\s\S]*?)<\/th>/.exec(row!)![1]!),
    cells: Object.fromEntries(
      [...row!.matchAll(/<td[^>]*data-column="([^"]+)"[^>]*>([\s\S]*?)<\/td>/g)].map(([, key, value]) => [
        key!,
        decode(value!),
      ]),
    ),
  }));
}

/** Rows of the table that holds `marker`, or else the first one after it, as cell texts. */
function tableAfter(html: string, marker: string): string[][] {
  const at = html.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} in the page`);
  const opened = html.lastIndexOf('<table', at);
  const start = opened >= 0 && html.lastIndexOf('</table>', at) < opened ? opened : at;
  const table = /<table[\s\S]*?<\/table>/.exec(html.slice(start))![0];
  return [...table.matchAll(/<tr[\s\S]*?<\/tr>/g)].map(([row]) =>
    [...row.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => decode(cell[1]!)),
  );
}

const EXPECTED_A = {
  recipients: '12',
  delivered: '10',
  bounced: '2',
  opens: '8',
  'open-rate': '80%',
  'human-opens': '6',
  'human-open-rate': '60%',
  clicks: '3',
  'click-rate': '30%',
  'click-to-open': '50%',
  visits: '3',
  visitors: '2',
  'later-visits': '1',
  signups: '1',
  'credited-calls': '1',
  'credited-walk-ins': '0',
  calls: '3',
  'walk-ins': '1',
  unsubscribes: '1',
};
const EXPECTED_B = {
  recipients: '4',
  delivered: '4',
  bounced: '0',
  opens: '2',
  'open-rate': '50%',
  'human-opens': '2',
  'human-open-rate': '50%',
  clicks: '1',
  'click-rate': '25%',
  'click-to-open': '50%',
  visits: '0',
  visitors: '0',
  'later-visits': '0',
  signups: '0',
  'credited-calls': '0',
  'credited-walk-ins': '0',
  calls: '0',
  'walk-ins': '1',
  unsubscribes: '0',
};
const USUAL = [
  'delivered',
  'human-open-rate',
  'click-rate',
  'click-to-open',
  'visits',
  'visitors',
  'credited-calls',
  'credited-walk-ins',
];
const pick = (cells: Record<string, string>, keys: readonly string[]) =>
  Object.fromEntries(keys.map((k) => [k, cells[k]]));
const EVERY = Object.keys(EXPECTED_A).join(',');

/** The report pages, CSV and API over real HTTP on a seeded data set whose every figure is counted by hand (test/helpers/reports.ts). */
for (const dialect of testDialects()) {
  describe(`reports over HTTP [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let seed: ReportSeed;
    const cookie = {} as Record<'marketer' | 'writer' | 'admin', string>;
    const key = {} as Record<'marketer' | 'writer', string>;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-reports-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      const port = await freePort();
      seed = await seedReportDatabase(created.url, `http://127.0.0.1:${port}`);
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { PORT: String(port), SEND_WORKER: '0' },
      });
      for (const role of ['marketer', 'writer', 'admin'] as const)
        cookie[role] = await sessionCookie(
          server.databaseUrl,
          await addAccount(server.databaseUrl, `${role}@example.com`, role),
        );
      key.marketer = await apiKeyFor(server.databaseUrl, 'marketer');
      key.writer = await apiKeyFor(server.databaseUrl, 'writer');
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('the comparison shows the usual figures of each sent issue, newest first, every figure when asked, each subject linking its report and each column its definition', async () => {
      const page = await request(server, '/admin/reports', { cookie: cookie.marketer });
      expect(page.status).toBe(200);
      const rows = comparisonRows(page.text);
      expect(rows.map((r) => r.issueId)).toEqual([seed.a.issueId, seed.b.issueId]);
      expect(rows[0]!.cells).toEqual(pick(EXPECTED_A, USUAL));
      expect(rows[1]!.cells).toEqual(pick(EXPECTED_B, USUAL));
      const every = await request(server, `/admin/reports?cols=${EVERY}`, { cookie: cookie.marketer });
      expect(comparisonRows(every.text).map((r) => r.cells)).toEqual([EXPECTED_A, EXPECTED_B]);
      expect(rows.map((r) => r.subject)).toEqual([SUBJECT_A, SUBJECT_B]);
      expect(page.text).toMatch(
        new RegExp(`<a href="/admin/issues/${seed.a.issueId}/report"[^>]*>${escapeHtml(SUBJECT_A)}</a>`),
      );
      expect(page.text).not.toContain('Not sent yet');
      // Sorted newest first, said so to assistive technology; the export keeps the sort.
      expect(page.text).toMatch(/<th[^>]*aria-sort="descending"[^>]*data-column="sent"/);
      expect(page.text.match(/aria-sort=/g)).toHaveLength(1);
      expect(page.text).toContain('href="/admin/reports/issues.csv?sort=sent&amp;dir=desc"');
      // Headings are names only (no "?" making them three lines); what each column counts is one click away, in the column chooser, each linking its definition on the same page.
      const head = /<thead[\s\S]*?<\/thead>/.exec(page.text)![0];
      expect(head).not.toContain('def-link');
      expect(decode(page.text)).toContain('Columns: 9 of 24 shown, and what each counts');
      expect(decode(page.text)).toMatch(/Click-to-open Of likely-human openers; never above 100 % Definition/);
      for (const term of [
        'delivery',
        'uniqueOpens',
        'uniqueClicks',
        'attributedVisit',
        'uniqueVisitors',
        'laterVisit',
        'signup',
        'offline',
        'unsubscribe',
      ]) {
        expect(page.text).toContain(`href="#def-${term}"`);
        expect(page.text).toContain(`id="def-${term}"`);
      }
      expect(decode(page.text)).toContain(
        'Later visit An attributed visit that starts after that visitor’s first landing from the issue',
      );
    });

    it('sorts on the server by the heading’s link, either way, with aria-sort on that heading', async () => {
      const byHumanOpens = await request(server, '/admin/reports?sort=human-open-rate&dir=asc', {
        cookie: cookie.marketer,
      });
      expect(byHumanOpens.status).toBe(200);
      expect(comparisonRows(byHumanOpens.text).map((r) => r.issueId)).toEqual([seed.b.issueId, seed.a.issueId]);
      expect(byHumanOpens.text).toMatch(/<th[^>]*aria-sort="ascending"[^>]*data-column="human-open-rate"/);
      // Its heading now sorts the other way; another heading starts largest first; the links keep the columns shown.
      const cols = `&amp;cols=${['sent', ...USUAL].join(',')}`;
      expect(byHumanOpens.text).toContain(`href="?sort=human-open-rate&amp;dir=desc${cols}"`);
      expect(byHumanOpens.text).toContain(`href="?sort=visits&amp;dir=desc${cols}"`);
      expect(byHumanOpens.text).toContain('href="/admin/reports/issues.csv?sort=human-open-rate&amp;dir=asc"');

      const bySubject = await request(server, '/admin/reports?sort=subject', { cookie: cookie.marketer });
      expect(comparisonRows(bySubject.text).map((r) => r.subject)).toEqual([SUBJECT_B, SUBJECT_A]);
      const byVisits = await request(server, '/admin/reports?sort=visits&dir=desc', { cookie: cookie.marketer });
      expect(comparisonRows(byVisits.text).map((r) => r.issueId)).toEqual([seed.a.issueId, seed.b.issueId]);
    });

    it('the CSV has the page’s columns and numbers, in the asked-for sort, as a download', async () => {
      const answer = await request(server, '/admin/reports/issues.csv?sort=subject&dir=asc', {
        cookie: cookie.marketer,
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(answer.headers.get('content-disposition')).toMatch(
        /^attachment; filename="issues-compared-\d{4}-\d{2}-\d{2}\.csv"$/,
      );
      const [header, ...rows] = parse(answer.text.replace(/^\uFEFF/, ''));
      expect(header).toEqual([
        'Issue',
        `Sent (${REPORT_TIME_ZONE})`,
        'Recipients',
        'Delivered',
        'Bounced',
        'Unique opens (all)',
        'Open rate (all) (%)',
        'Unique opens (likely human)',
        'Open rate (likely human) (%)',
        'Unique human clicks',
        'Click rate (%)',
        'Click-to-open (%)',
        'Visits',
        'Recipients who visited',
        'Later visits',
        'Signups',
        'Calls credited',
        'Walk-ins credited',
        'All calls in its window',
        'All walk-ins in its window',
        'Unsubscribes',
        'Experiment',
        'Winner',
        'Incremental visitors per 1,000 (holdout)',
        'Incremental callers per 1,000 (holdout)',
      ]);
      expect(rows.map((r) => r[0])).toEqual([SUBJECT_B, SUBJECT_A]);
      expect(rows[1]!.slice(2)).toEqual([
        '12',
        '10',
        '2',
        '8',
        '80',
        '6',
        '60',
        '3',
        '30',
        '50',
        '3',
        '2',
        '1',
        '1',
        '1',
        '0',
        '3',
        '1',
        '1',
        '',
        '',
        '',
        '',
      ]);
      expect(rows[0]!.slice(2)).toEqual([
        '4',
        '4',
        '0',
        '2',
        '50',
        '2',
        '50',
        '1',
        '25',
        '50',
        '0',
        '0',
        '0',
        '0',
        '0',
        '0',
        '0',
        '1',
        '0',
        '',
        '',
        '',
        '',
      ]);
      expect(rows[1]![1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
      const newestFirst = parse(
        (await request(server, '/admin/reports/issues.csv', { cookie: cookie.marketer })).text.replace(/^\uFEFF/, ''),
      );
      expect(newestFirst.slice(1).map((r) => r[0])).toEqual([SUBJECT_A, SUBJECT_B]);
    });

    it('the columns chosen are shown, in their order, and remembered for the next visit; an unknown one is refused with a sentence', async () => {
      const chosen = await request(server, '/admin/reports?sort=visits&dir=desc&cols=unsubscribes&cols=later-visits', {
        cookie: cookie.marketer,
      });
      expect(chosen.status).toBe(200);
      expect(Object.keys(comparisonRows(chosen.text)[0]!.cells)).toEqual(['later-visits', 'unsubscribes']);
      const remembered = chosen.headers.get('set-cookie') ?? '';
      expect(remembered).toMatch(
        /^ff_report_columns=subject%2Clater-visits%2Cunsubscribes; Max-Age=31536000; Path=\/admin\/reports; HttpOnly; SameSite=Lax/,
      );
      const again = await request(server, '/admin/reports', {
        cookie: `${cookie.marketer}; ${remembered.split(';')[0]}`,
      });
      expect(Object.keys(comparisonRows(again.text)[0]!.cells)).toEqual(['later-visits', 'unsubscribes']);
      const bad = await request(server, '/admin/reports?cols=visits,passwords', { cookie: cookie.marketer });
      expect(bad.status).toBe(400);
      expect(decode(bad.text)).toContain(
        'There is no column “passwords” to show. Use any of: subject, sent, recipients',
      );
      expect(Object.keys(comparisonRows(bad.text)[0]!.cells)).toEqual(USUAL);
    });

    it('bad parameters get a clear 400 or 404, and the pages still work', async () => {
      const badSort = await request(server, '/admin/reports?sort=password', { cookie: cookie.marketer });
      expect(badSort.status).toBe(400);
      expect(decode(badSort.text)).toContain('There is no column “password” to sort by. Use one of: subject, sent');
      expect(comparisonRows(badSort.text).map((r) => r.issueId)).toEqual([seed.a.issueId, seed.b.issueId]);
      const badDir = await request(server, '/admin/reports?sort=clicks&dir=sideways', { cookie: cookie.marketer });
      expect(badDir.status).toBe(400);
      expect(decode(badDir.text)).toContain('The sort direction must be “asc” or “desc”, not “sideways”.');
      const injected = await request(server, `/admin/reports?sort=${encodeURIComponent('<script>alert(1)</script>')}`, {
        cookie: cookie.marketer,
      });
      expect(injected.status).toBe(400);
      expect(injected.text).not.toContain('<script>alert(1)');

      const badCsv = await request(server, '/admin/reports/issues.csv?dir=up', { cookie: cookie.marketer });
      expect(badCsv.status).toBe(400);
      expect(badCsv.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(badCsv.text).toContain('The sort direction must be “asc” or “desc”, not “up”.');

      for (const days of ['5', 'all', '-30', '30days']) {
        const dashboard = await request(server, `/admin?days=${encodeURIComponent(days)}`, { cookie: cookie.marketer });
        expect(dashboard.status, days).toBe(400);
        expect(decode(dashboard.text)).toContain('choose 7, 30, 90 days. Showing the last 30 days.');
        expect(dashboard.text).toContain('The site, last 30 days');
        const articles = await request(server, `/admin/articles?days=${encodeURIComponent(days)}`, {
          cookie: cookie.writer,
        });
        expect(articles.status, days).toBe(400);
        expect(decode(articles.text)).toContain('choose 7, 30, 90 days');
      }

      for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999', '999999']) {
        const report = await request(server, `/admin/issues/${id}/report`, { cookie: cookie.marketer });
        expect(report.status, id).toBe(404);
        expect(decode(report.text)).toContain('There is no such issue.');
      }
      const draft = await request(server, `/admin/issues/${seed.draftId}/report`, { cookie: cookie.marketer });
      expect(draft.status).toBe(404);
      expect(decode(draft.text)).toContain('This issue has not started going out yet, so there is nothing to report.');
      expect((await request(server, '/admin/reports', { cookie: cookie.marketer })).status).toBe(200);
    });

    it('an issue’s report: header, funnel, curves, five heatmaps, links, lift in words, machine activity apart', async () => {
      const page = await request(server, `/admin/issues/${seed.a.issueId}/report`, { cookie: cookie.marketer });
      expect(page.status).toBe(200);
      const text = decode(page.text);
      const sent = new Intl.DateTimeFormat('en-GB', {
        dateStyle: 'medium',
        timeStyle: 'short',
        timeZone: REPORT_TIME_ZONE,
      }).format(seed.a.sentAt);
      expect(text).toContain(`“${SUBJECT_A}”`);
      expect(text).toContain(`Sent Sending started ${sent} (${REPORT_TIME_ZONE})`);

      // Every chart, each with its numbers in a table.
      const kinds = [...page.text.matchAll(/<figure[^>]*data-chart="([^"]+)"/g)].map((m) => m[1]);
      expect(kinds).toEqual([
        'funnel-bars',
        'cumulative-curves',
        'cumulative-curves',
        'cumulative-curves',
        'cumulative-curves',
        'week-hour-heatmap',
        'week-hour-heatmap',
        'week-hour-heatmap',
        'week-hour-heatmap',
        'week-hour-heatmap',
        'grouped-bars',
        'grouped-bars',
        'grouped-bars',
      ]);
      // The headline leads with what the issue added; the shop's own traffic in its window is named as such, apart.
      const headline = text.slice(text.indexOf('What this issue added'), text.indexOf('From sent to later visits'));
      expect(headline).toMatch(
        /^What this issue added 3 visits from this issue .*? 2 recipients visited; 1 later visit\. [+−]?[\d.]+ phone calls?(: about as many as| (more|fewer) than) a normal week .*? 1 credited to this issue\. .*? walk-ins?\b.*? 1 signup from this issue .*? 1 unsubscribe\. How far it reached 10 delivered .*? Of 12 recipients; 2 bounced\. 60% opened \(likely human\) .*? 6 people; 80% with machines\. 30% clicked .*? 3 people; 50% of openers\./,
      );
      expect(text).toContain(
        'All the shop’s calls and walk-ins since the send (its 7 days are still running), not only from this issue: 3 phone calls and 1 walk-in.',
      );
      expect(
        tableAfter(page.text, 'data-chart="funnel-bars"')
          .slice(1)
          .map((r) => r.slice(0, 2)),
      ).toEqual([
        ['Recipients', '12'],
        ['Delivered', '10'],
        ['Opened (any)', '8'],
        ['Opened (likely human)', '6'],
        ['Clicked', '3'],
        ['Recipients who visited', '2'],
        ['Later visits', '1'],
      ]);
      expect(text).toContain('Opens (likely human) 7 in all.');
      expect(text).toContain('Clicks (human) 4 in all.');
      expect(text).toContain('Visits 3 in all.');
      expect(text).toContain('Phone calls (all) in the issue’s window 3 in all.');
      expect(text).toContain('Walk-ins (all) in the issue’s window 1 in all.');
      // Other issues on the same axis, each as far as its data goes: A is four days old, B's week is over.
      const overlay = tableAfter(page.text, 'Open rate against other issues');
      expect(overlay[0]).toEqual(['Issue', '1 h', '6 h', '24 h', '48 h', '72 h', '168 h', 'Latest']);
      expect(overlay.slice(1).map((r) => r[0])).toEqual([`${SUBJECT_A} (this issue)`, SUBJECT_B]);
      expect(overlay[1]!.slice(1, 7)).toEqual(['0%', '60%', '60%', '60%', '60%', '—']);
      expect(overlay[1]![7]).toMatch(/^60% at 9[67] h( \d+ min)?$/);
      expect(overlay[2]!.slice(1)).toEqual(['0%', '50%', '50%', '50%', '50%', '50%', '50% at 168 h']);

      const links = tableAfter(page.text, 'id="links-title"').slice(1);
      expect(links.map((r) => [r[0], r.slice(2)])).toEqual([
        ['1', ['2', '2', '0']],
        ['2', ['2', '2', '0']],
        ['3', ['0', '0', '0']],
        ['4', ['0', '0', '0']],
        ['5', ['0', '0', '1']],
      ]);
      // No snapshot in this seed: the map says so, the table has the numbers.
      expect(text).toContain(
        'The email as it went out is not kept for this issue, so the map cannot be drawn; the table has the numbers.',
      );
      // Rows written as they are (seeds) name no agent: unknown program and device; Apple's prefetch apart.
      expect(tableAfter(page.text, 'id="clients-title"')).toEqual([
        ['Mail program', 'Opens (likely human)', 'Clicks (human)', 'Apple’s prefetch (machine)'],
        ['Unknown', '7', '4', '0'],
        ['Apple Mail Privacy Protection (not a person’s open)', '0', '0', '1'],
      ]);
      expect(links[4]![1]).toContain('hidden link: only machines follow it');

      for (const metric of ['visit', 'call', 'walk_in']) {
        const lift = tableAfter(page.text, `data-lift="${metric}"`);
        expect(lift[0]).toEqual(['After the send', 'Observed', 'Expected', 'Difference (95% interval)', 'Verdict']);
        // Never a bare number: each difference carries its interval.
        for (const row of lift.slice(1))
          expect(row[3]).toMatch(/^(no baseline|[+−]?[\d.,]+ \([+−]?[\d.,]+ to [+−]?[\d.,]+\))$/);
      }
      expect(
        tableAfter(page.text, 'data-lift="call"')
          .slice(1)
          .map((r) => [r[0], r[1]]),
      ).toEqual([
        ['24 hours', '2'],
        ['72 hours', '3'],
      ]);
      expect(text.match(/24 hours: In the 24 hours after the send/g)).toHaveLength(3);
      expect(text.match(/72 hours: In the 72 hours after the send/g)).toHaveLength(3);

      expect(text).toContain(
        'Machines made 2 of 9 opens (22.2%): Apple Mail Privacy Protection 1, security scanners 1. Image-proxy opens, which count as human: 1. Bots made 1 of 5 clicks (20%), and machines 0 page views that count as no visit.',
      );
      expect(tableAfter(page.text, 'id="machine-title"')).toEqual([
        [
          'Event',
          'Human',
          'Image proxy (counts as human)',
          'Apple MPP (machine)',
          'Security scanner (machine)',
          'Bot (machine)',
        ],
        ['Opens', '6', '1', '1', '1', '0'],
        ['Clicks', '4', '0', '0', '0', '1'],
      ]);
    });

    it('the dashboard: visits per day with sends marked, totals, top pages, sources and the latest issues; ?days switches the range', async () => {
      const page = await request(server, '/admin', { cookie: cookie.marketer });
      expect(page.status).toBe(200);
      const text = decode(page.text);
      expect(text).toContain('The site, last 30 days');
      expect(page.text).toMatch(/<a href="\/admin\?days=30" aria-current="true"/);
      for (const total of ['9 visits', '10 page views', '1 confirmed signup', '4 phone calls', '2 walk-ins'])
        expect(text).toContain(total);
      expect(text).not.toContain('1 confirmed signups');
      expect(page.text).toContain('data-chart="time-series"');
      const sends = tableAfter(page.text, 'Sends marked on the chart')
        .slice(1)
        .map((r) => r[1]);
      expect(sends).toEqual([SUBJECT_B, SUBJECT_A]);
      const daily = tableAfter(page.text, 'data-chart="time-series"').slice(1);
      expect(daily).toHaveLength(30);
      expect(daily.reduce((sum, r) => sum + Number(r[1]!.replace(' (so far)', '')), 0)).toBe(9);
      // Today is still running: said so, not drawn as a day that ended.
      expect(daily.at(-1)![1]).toMatch(/^\d+ \(so far\)$/);
      expect(daily.slice(0, -1).every((r) => /^\d+$/.test(r[1]!))).toBe(true);
      // Most viewed first (pages with as many views in either order).
      const topPages = tableAfter(page.text, 'id="top-pages"').slice(1);
      expect(topPages.map((r) => r[1])).toEqual(['4', '4', '1', '1']);
      expect(topPages.map((r) => r.join(' ')).sort()).toEqual([
        '/ 1 1',
        '/articles/ 1 1',
        '/articles/choosing-your-first-widget/ 4 0',
        '/articles/widget-batteries-explained/ 4 2',
      ]);
      expect(tableAfter(page.text, 'id="campaigns"').slice(1)).toEqual([[seed.a.slug, '2']]);
      expect(tableAfter(page.text, 'id="referrers"').slice(1)).toEqual([['www.google.com', '4']]);
      const latest = comparisonRows(page.text, 'latest');
      expect(latest.map((r) => r.issueId)).toEqual([seed.a.issueId, seed.b.issueId]);
      expect(latest[0]!.cells).toEqual({
        delivered: '10',
        'human-open-rate': '60%',
        'click-rate': '30%',
        visits: '3',
        visitors: '2',
        'credited-calls': '1',
        'credited-walk-ins': '0',
      });

      const ninety = await request(server, '/admin?days=90', { cookie: cookie.marketer });
      expect(ninety.status).toBe(200);
      expect(decode(ninety.text)).toContain('The site, last 90 days');
      expect(decode(ninety.text)).toContain('9 visits');
      expect(tableAfter(ninety.text, 'data-chart="time-series"').slice(1)).toHaveLength(90);
      const week = await request(server, '/admin?days=7', { cookie: cookie.marketer });
      expect(tableAfter(week.text, 'data-chart="time-series"').slice(1)).toHaveLength(7);
      expect(
        tableAfter(week.text, 'Sends marked on the chart')
          .slice(1)
          .map((r) => r[1]),
      ).toEqual([SUBJECT_A]);

      // A writer has the dashboard without the reports.
      const forWriter = await request(server, '/admin', { cookie: cookie.writer });
      expect(forWriter.status).toBe(200);
      expect(forWriter.text).not.toContain('The site, last');
      expect(forWriter.text).toContain('href="/admin/articles"');
    });

    it('articles: views, newsletter views and share per article for writers, titles from the content collection', async () => {
      const page = await request(server, '/admin/articles', { cookie: cookie.writer });
      expect(page.status).toBe(200);
      const rows = tableAfter(page.text, 'article-table').slice(1);
      // Every published article (the draft is not one), most viewed first.
      expect(rows).toHaveLength(7);
      expect(rows.some((r) => r[0]!.includes('/articles/introducing-the-lantern-series/'))).toBe(false);
      const batteries = rows.find((r) => r[0]!.endsWith('/articles/widget-batteries-explained/'))!;
      expect(batteries).toEqual([
        'Widget batteries explained: what to buy, how to store them, how to stay safe /articles/widget-batteries-explained/',
        '4',
        '2',
        '50%',
      ]);
      const choosing = rows.find((r) => r[0]!.endsWith('/articles/choosing-your-first-widget/'))!;
      expect(choosing).toEqual([
        "Choosing your first widget: a plain-spoken buyer's guide /articles/choosing-your-first-widget/",
        '4',
        '0',
        '0%',
      ]);
      expect(rows.slice(0, 2)).toContain(batteries);
      expect(rows.slice(2).every((r) => r[1] === '0' && r[3] === '—')).toBe(true);
      expect(page.text).toMatch(/<a href="\/articles\/widget-batteries-explained\/"[^>]*>Widget batteries explained/);
      expect(decode(page.text)).toContain('8 views in all, 2 from newsletters.');
      expect((await request(server, '/admin/articles?days=90', { cookie: cookie.marketer })).status).toBe(200);
    });

    it('API: the comparison and one issue’s report as JSON for a key that may read reports; 401/403/400/404 as JSON otherwise', async () => {
      const auth = (k: string) => ({ headers: { authorization: `Bearer ${k}` } });
      const comparison = await request(server, '/api/reports/issues', auth(key.marketer));
      expect(comparison.status).toBe(200);
      expect(comparison.headers.get('content-type')).toMatch(/^application\/json/);
      const body = JSON.parse(comparison.text);
      expect(body.time_zone).toBe(REPORT_TIME_ZONE);
      expect(body.issues.map((i: { id: number }) => i.id)).toEqual([seed.a.issueId, seed.b.issueId]);
      expect(body.issues[0]).toMatchObject({
        subject: SUBJECT_A,
        slug: seed.a.slug,
        sent_at: seed.a.sentAt,
        recipients: 12,
        delivered: 10,
        bounced: 2,
        unique_opens: 8,
        unique_human_opens: 6,
        open_rate: 0.8,
        human_open_rate: 0.6,
        unique_human_clicks: 3,
        click_rate: 0.3,
        click_to_open_rate: 0.5,
        attributed_visits: 3,
        later_visits: 1,
        attributed_signups: 1,
        calls_in_window: 3,
        credited_calls: 1,
        walk_ins_in_window: 1,
        credited_walk_ins: 0,
        unsubscribes: 1,
        window_days: 7,
      });
      const sorted = JSON.parse((await request(server, '/api/reports/issues?sort=subject', auth(key.marketer))).text);
      expect(sorted.issues.map((i: { subject: string }) => i.subject)).toEqual([SUBJECT_B, SUBJECT_A]);
      const bad = await request(server, '/api/reports/issues?sort=nope', auth(key.marketer));
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ error: 'invalid' });
      expect((await request(server, '/api/reports/issues', auth(key.writer))).status).toBe(403);
      expect((await request(server, '/api/reports/issues')).status).toBe(401);
      expect((await request(server, '/api/reports/issues', { cookie: cookie.marketer })).status).toBe(401);

      const report = await request(server, `/api/issues/${seed.a.issueId}/report`, auth(key.marketer));
      expect(report.status).toBe(200);
      const r = JSON.parse(report.text);
      expect(r.issue).toMatchObject({ id: seed.a.issueId, delivered: 10, unique_human_opens: 6 });
      expect(r.funnel.map((s: { value: number }) => s.value)).toEqual([12, 10, 8, 6, 3, 2, 1]);
      expect(r.curves.map((c: { key: string }) => c.key)).toEqual([
        'uniqueOpens',
        'uniqueHumanOpens',
        'uniqueHumanClicks',
        'attributedVisits',
        'calls',
        'walkIns',
      ]);
      const humanOpens = r.curves.find((c: { key: string }) => c.key === 'uniqueHumanOpens').points as [
        number,
        number,
      ][];
      // Hour by hour over the first week, up to now: A went out four days ago, so its curves stop at 96 h and a bit, the hour still running at now.
      expect(r.curve_span).toBe('days');
      expect(humanOpens.length).toBeGreaterThanOrEqual(96);
      expect(humanOpens.length).toBeLessThanOrEqual(97);
      expect(humanOpens.slice(0, 6)).toEqual([
        [1, 0],
        [2, 1],
        [3, 3],
        [4, 4],
        [5, 6],
        [6, 6],
      ]);
      const [lastHour, lastValue] = r.overlays.human_open_rate_percent
        .find((s: { current: boolean }) => s.current)
        .points.at(-1);
      expect(lastHour).toBeGreaterThanOrEqual(96);
      expect(lastHour).toBeLessThan(96.5);
      expect(lastValue).toBe(60);
      expect(r.overlays.human_open_rate_percent.find((s: { current: boolean }) => !s.current).points.at(-1)).toEqual([
        168, 50,
      ]);
      expect(r.issue).toMatchObject({ calls_in_window: 3, walk_ins_in_window: 1, window_cut_by_next_send_at: null });
      // The opens heatmap, cell by cell: likely-human opens by weekday and hour in London.
      const expected = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
      for (const offset of [1, 26, 2, 3, 4, 4.5, 2]) {
        const { row, hour } = weekHourOf(seed.a.sentAt + offset * HOUR, REPORT_TIME_ZONE);
        expected[row]![hour]! += 1;
      }
      const opensHeatmap = r.heatmaps.find((h: { key: string }) => h.key === 'opens');
      expect(opensHeatmap.weekdays[0]).toBe('Monday');
      expect(opensHeatmap.values).toEqual(expected);
      expect(r.heatmaps.map((h: { key: string; total: number }) => [h.key, h.total])).toEqual([
        ['opens', 7],
        ['clicks', 4],
        ['visits', 3],
        ['calls', 3],
        ['walkIns', 1],
      ]);
      expect(
        r.links.map((l: { kind: string; human_clicks: number; bot_clicks: number }) => [
          l.kind,
          l.human_clicks,
          l.bot_clicks,
        ]),
      ).toEqual([
        ['site', 2, 0],
        ['external', 2, 0],
        ['tel', 0, 0],
        ['mailto', 0, 0],
        ['honeypot', 0, 1],
      ]);
      expect(r.lift.map((l: { metric: string }) => l.metric)).toEqual(['visit', 'call', 'walk_in']);
      expect(r.lift[1].h24).toMatchObject({ observed: 2 });
      expect(r.lift[1].h24.sentence).toMatch(/^In the 24 hours after the send/);
      expect(r.machine).toEqual({
        apple_mpp_opens: 1,
        proxy_opens: 1,
        scanner_opens: 1,
        human_opens: 6,
        bot_clicks: 1,
        human_clicks: 4,
        machine_views: 0,
        by_owner: [],
      });

      for (const id of [String(seed.draftId), '999999', 'abc']) {
        const missing = await request(server, `/api/issues/${id}/report`, auth(key.marketer));
        expect(missing.status, id).toBe(404);
        expect(JSON.parse(missing.text)).toMatchObject({ error: 'not_found' });
      }
      expect((await request(server, `/api/issues/${seed.a.issueId}/report`, auth(key.writer))).status).toBe(403);
      expect((await request(server, `/api/issues/${seed.a.issueId}/report`)).status).toBe(401);
    });

    // Last: opening the issue page renders its preview, which registers the body's links again for an issue seeded without a frozen snapshot.
    it('the issue page links its report for those who may read it', async () => {
      const forMarketer = await request(server, `/admin/issues/${seed.b.issueId}`, { cookie: cookie.marketer });
      expect(forMarketer.text).toContain(`href="/admin/issues/${seed.b.issueId}/report"`);
      const list = await request(server, '/admin/issues', { cookie: cookie.marketer });
      expect(list.text).toContain(`href="/admin/issues/${seed.b.issueId}/report"`);
      const forWriter = await request(server, `/admin/issues/${seed.b.issueId}`, { cookie: cookie.writer });
      expect(forWriter.status).toBe(200);
      expect(forWriter.text).not.toContain('/report"');
      expect((await request(server, `/admin/issues/${seed.b.issueId}/report`, { cookie: cookie.writer })).status).toBe(
        403,
      );
    });
  });
}

describe('reports before anything was sent', () => {
  let server: RunningServer;
  let marketer: string;
  let apiKey: string;

  beforeAll(async () => {
    server = await startServer({ env: { SEND_WORKER: '0' } });
    marketer = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
    );
    apiKey = await apiKeyFor(server.databaseUrl, 'admin');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('say so plainly: no table, a CSV with only its header, zeros on the dashboard, an empty list in the API', async () => {
    const page = await request(server, '/admin/reports', { cookie: marketer });
    expect(page.status).toBe(200);
    expect(decode(page.text)).toContain('No issues sent yet Once an issue starts going out, it gets a row here');
    expect(page.text).not.toContain('<table');
    const csv = parse(
      (await request(server, '/admin/reports/issues.csv', { cookie: marketer })).text.replace(/^\uFEFF/, ''),
    );
    expect(csv).toHaveLength(1);
    expect(csv[0]![0]).toBe('Issue');
    const dashboard = await request(server, '/admin', { cookie: marketer });
    expect(dashboard.status).toBe(200);
    const text = decode(dashboard.text);
    expect(text).toContain('0 visits');
    expect(text).toContain('No page views in this period.');
    expect(text).toContain('Latest issues No issues sent yet');
    const api = await request(server, '/api/reports/issues', { headers: { authorization: `Bearer ${apiKey}` } });
    expect(JSON.parse(api.text)).toMatchObject({ issues: [] });
  });
});
