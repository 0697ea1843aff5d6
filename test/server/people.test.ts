import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { seedReportDatabase, type ReportSeed } from '../helpers/reports.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { createDraftIssue, eventually } from '../helpers/sending.ts';
import { PER_PERSON_OFF_MESSAGE } from '../../src/lib/reports/people.service.ts';

const decode = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
const listedEmails = (html: string) => [...html.matchAll(/data-person="([^"]+)"/g)].map((m) => decode(m[1]!)).sort();
const refusalOf = (html: string) => decode(/data-refusal[^>]*>([^<]*)</.exec(html)?.[1] ?? '');

/**
 * The people behind a report's figures over real HTTP, on the hand-counted data of
 * test/helpers/reports.ts: the report links its figures to their lists; each list, its CSV
 * and the send to them as the audience of a next issue, through real SMTP; the roles that may
 * not see subscribers refused; bad rules refused with a sentence; per-person tracking off.
 */
for (const dialect of testDialects()) {
  describe(`the people behind a figure over HTTP [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let seed: ReportSeed;
    let d: { id: number; email: string }[];
    let siteLink: number;
    let linkOfB: number;
    const cookie = {} as Record<'marketer' | 'writer' | 'admin', string>;
    let marketerKey: string;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-people-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      const port = await freePort();
      seed = await seedReportDatabase(created.url, `http://127.0.0.1:${port}`);
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: {
          PORT: String(port),
          SMTP_URL: sink.url,
          MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
          SEND_POLL_MS: '50',
          // Settings changed behind the server's back show within this (5 s by default).
          SETTINGS_CACHE_MS: '500',
        },
      });
      for (const role of ['marketer', 'writer', 'admin'] as const)
        cookie[role] = await sessionCookie(
          server.databaseUrl,
          await addAccount(server.databaseUrl, `${role}@example.com`, role),
        );
      marketerKey = await apiKeyFor(server.databaseUrl, 'marketer');
      await withDatabase(server.databaseUrl, async (db) => {
        const ledger = await db
          .selectFrom('deliveries')
          .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
          .select(['deliveries.id', 'subscribers.email'])
          .where('issue_id', '=', seed.a.issueId)
          .orderBy('deliveries.id')
          .execute();
        d = ledger.map((r) => ({ id: Number(r.id), email: r.email }));
        siteLink = Number(
          (
            await db
              .selectFrom('issue_links')
              .select('id')
              .where('issue_id', '=', seed.a.issueId)
              .where('kind', '=', 'site')
              .executeTakeFirstOrThrow()
          ).id,
        );
        linkOfB = Number(
          (
            await db
              .selectFrom('issue_links')
              .select('id')
              .where('issue_id', '=', seed.b.issueId)
              .executeTakeFirstOrThrow()
          ).id,
        );
        // A name a spreadsheet would run as a formula: the export must defuse it.
        await db
          .updateTable('subscribers')
          .set({ name: '=HYPERLINK("http://evil.example","x")' })
          .where('email', '=', d[1]!.email)
          .execute();
      });
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });
    const emails = (...indexes: number[]) => indexes.map((i) => d[i]!.email).sort();
    const people = (query: string, role: keyof typeof cookie = 'marketer') =>
      request(server, `/admin/issues/${seed.a.issueId}/people?${query}`, { cookie: cookie[role] });

    it('the report links each figure to its people, and each link’s unique clickers to theirs; the lists hold as many as the figures', async () => {
      const report = await request(server, `/admin/issues/${seed.a.issueId}/report`, { cookie: cookie.marketer });
      expect(report.status).toBe(200);
      for (const figure of ['opened', 'clicked', 'visited', 'later', 'not-opened'])
        expect(report.text).toContain(`href="/admin/issues/${seed.a.issueId}/people?figure=${figure}"`);
      expect(report.text).toContain(
        `href="/admin/issues/${seed.a.issueId}/people?figure=clicked&amp;link=${siteLink}"`,
      );
      const expected: [string, string[]][] = [
        ['figure=opened', emails(1, 2, 3, 4, 5, 6)],
        ['figure=clicked', emails(1, 2, 3)],
        [`figure=clicked&link=${siteLink}`, emails(1, 2)],
        ['figure=visited', emails(1, 2)],
        ['figure=later', emails(1)],
        ['figure=not-opened', emails(0, 7, 8, 9)],
      ];
      for (const [query, want] of expected) {
        const page = await people(query);
        expect(page.status, query).toBe(200);
        expect(listedEmails(page.text), query).toEqual(want);
        expect(page.text, query).toContain(`data-people-total="${want.length}"`);
      }
    });

    it('the CSV holds the same people, a formula in a name defused', async () => {
      const csv = await request(server, `/admin/issues/${seed.a.issueId}/people.csv?figure=clicked&link=${siteLink}`, {
        cookie: cookie.marketer,
      });
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toMatch(
        new RegExp(`attachment; filename="${seed.a.slug}-clicked-link-${siteLink}.csv"`),
      );
      const rows = parse<Record<string, string>>(csv.text, { bom: true, columns: true });
      expect(rows.map((r) => r.email).sort()).toEqual(emails(1, 2));
      expect(rows.find((r) => r.email === d[1]!.email)!.name).toBe(`'=HYPERLINK("http://evil.example","x")`);
      expect(rows.every((r) => r.first_clicked_at && !Number.isNaN(Date.parse(r.first_clicked_at)))).toBe(true);
    });

    it('only roles that may see subscribers get the lists: a writer is refused, anyone signed out is sent to sign in', async () => {
      expect((await people('figure=opened', 'writer')).status).toBe(403);
      expect(
        (await request(server, `/admin/issues/${seed.a.issueId}/people.csv?figure=opened`, { cookie: cookie.writer }))
          .status,
      ).toBe(403);
      const anonymous = await request(server, `/admin/issues/${seed.a.issueId}/people?figure=opened`);
      expect(anonymous.status).toBe(302);
      expect(anonymous.location).toMatch(/^\/admin\/login/);
      expect((await people('figure=opened', 'admin')).status).toBe(200);
    });

    it('bad rules get a sentence and no list: an unknown figure, a link of another issue, an issue not sent', async () => {
      const unknown = await people('figure=openers');
      expect(unknown.status).toBe(400);
      expect(refusalOf(unknown.text)).toBe(
        'Unknown figure “openers”: choose one of opened, clicked, visited, later, not-opened.',
      );
      const otherLink = await people(`figure=clicked&link=${linkOfB}`);
      expect(otherLink.status).toBe(400);
      expect(refusalOf(otherLink.text)).toBe(
        `Link ${linkOfB} is not a link of this issue: choose one from its report’s links table.`,
      );
      const notSent = await request(server, `/admin/issues/${seed.draftId}/people?figure=opened`, {
        cookie: cookie.marketer,
      });
      expect(notSent.status).toBe(409);
      expect(refusalOf(notSent.text)).toBe(
        'This issue has not gone out yet: nobody has opened, clicked or visited from it, so there are no people to list.',
      );
      const csv = await request(server, `/admin/issues/${seed.a.issueId}/people.csv?figure=nobody`, {
        cookie: cookie.marketer,
      });
      expect(csv.status).toBe(400);
      expect(csv.text).toContain('Unknown figure “nobody”');
      for (const page of [unknown, otherLink, notSent]) expect(listedEmails(page.text)).toEqual([]);
    });

    it('“send the next issue to these people”: the clickers of the site link get the next issue through SMTP, and nobody else', async () => {
      const draft = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, 'For the winter clickers'));
      const list = await people(`figure=clicked&link=${siteLink}`);
      const href = `/admin/issues/${draft}/send?from=${seed.a.issueId}&amp;figure=clicked&amp;link=${siteLink}`;
      expect(list.text).toContain(`href="${href}"`);
      const sendPage = await request(server, decode(href), { cookie: cookie.marketer });
      expect(sendPage.status).toBe(200);
      expect(decode(sendPage.text)).toMatch(
        /Clickers of “site” of “Winter widgets & <batteries>” — <strong>2<\/strong> now/,
      );
      const form = {
        issueId: String(draft),
        audience: 'behaviour',
        fromIssue: String(seed.a.issueId),
        figure: 'clicked',
        link: String(siteLink),
        when: 'now',
      };
      const review = await postForm(server, `/admin/issues/${draft}/send`, 'sending.send', form, {
        cookie: cookie.marketer,
      });
      expect(review.status, /<div class="alert[^]*?<\/div>/.exec(review.text)?.[0]).toBe(200);
      expect(review.text).toContain('Send to 2 subscribers?');
      expect(decode(review.text)).toContain(
        '— Clickers of “site” of “Winter widgets & <batteries>”, as they are when sending starts',
      );
      const before = sink.messages.length;
      const sent = await postForm(
        server,
        `/admin/issues/${draft}/send`,
        'sending.send',
        { ...form, confirmed: 'yes' },
        { cookie: cookie.marketer },
      );
      expect(sent.status).toBe(303);
      await sink.waitFor(before + 2, 20_000);
      await eventually(
        async () =>
          (
            await request(server, `/api/issues/${draft}/progress`, {
              headers: { authorization: `Bearer ${marketerKey}` },
            })
          ).text.includes('"state":"finished"'),
        'the send finished',
      );
      const got = sink.messages.slice(before).filter((m) => m.subject === 'For the winter clickers');
      expect(got.map((m) => (Array.isArray(m.to) ? m.to[0] : m.to)!.value[0]!.address).sort()).toEqual(emails(1, 2));
      expect(sink.messages.length).toBe(before + 2);
      // The progress page names the audience and links to its people.
      const progress = await request(server, `/admin/issues/${draft}/progress`, { cookie: cookie.marketer });
      expect(decode(progress.text)).toContain(
        `<a href="/admin/issues/${seed.a.issueId}/people?figure=clicked&link=${siteLink}">Clickers of “site”</a> of “Winter widgets & <batteries>” — 2 recipients`,
      );
    });

    it('through the API: the likely-human openers of the issue, without the one who unsubscribed since; a link of another issue and an issue not sent refused', async () => {
      const api = (id: number, body: unknown) =>
        request(server, `/api/issues/${id}/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${marketerKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const draft = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, 'For the openers'));
      const bad = await api(draft, {
        audience: { behaviour: { issue: seed.a.issueId, figure: 'clicked', link: linkOfB } },
      });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).message).toContain(`Link ${linkOfB} is not a link of this issue`);
      const notSent = await api(draft, { audience: { behaviour: { issue: seed.draftId, figure: 'opened' } } });
      expect(notSent.status).toBe(409);
      const before = sink.messages.length;
      const sent = await api(draft, { audience: { behaviour: { issue: seed.a.issueId, figure: 'opened' } } });
      expect(sent.status, sent.text).toBe(202);
      expect(JSON.parse(sent.text)).toMatchObject({
        audience: { behaviour: { issue: seed.a.issueId, figure: 'opened' } },
        recipients: 5,
      });
      await sink.waitFor(before + 5, 20_000);
      await eventually(
        async () =>
          (
            await request(server, `/api/issues/${draft}/progress`, {
              headers: { authorization: `Bearer ${marketerKey}` },
            })
          ).text.includes('"state":"finished"'),
        'the send finished',
      );
      const got = sink.messages.slice(before).map((m) => (Array.isArray(m.to) ? m.to[0] : m.to)!.value[0]!.address);
      // d5 unsubscribed from the issue's footer after opening it.
      expect(got.sort()).toEqual(emails(1, 2, 3, 4, 6));
    });

    it('with per-person tracking off the lists say so and show no one, the CSV has no one, and no send may use a figure’s people', async () => {
      await withDatabase(server.databaseUrl, async (db) => {
        const row = await db
          .selectFrom('settings')
          .select('value')
          .where('key', '=', 'personTracking')
          .executeTakeFirst();
        if (row) await db.updateTable('settings').set({ value: 'false' }).where('key', '=', 'personTracking').execute();
        else
          await db
            .insertInto('settings')
            .values({ key: 'personTracking', value: 'false', updated_at: Date.now(), updated_by: null })
            .execute();
      });
      // The server reads Settings again within its SETTINGS_CACHE_MS.
      await eventually(
        async () => (await people('figure=opened')).text.includes('data-per-person-off'),
        'the list says per-person tracking is off',
        15_000,
        250,
      );
      const page = await people('figure=opened');
      expect(decode(page.text)).toContain(PER_PERSON_OFF_MESSAGE);
      expect(listedEmails(page.text)).toEqual([]);
      const csv = await request(server, `/admin/issues/${seed.a.issueId}/people.csv?figure=opened`, {
        cookie: cookie.marketer,
      });
      expect(parse(csv.text, { bom: true, columns: true }).length).toBe(0);
      expect(
        (await request(server, `/admin/issues/${seed.a.issueId}/report`, { cookie: cookie.marketer })).status,
      ).toBe(200);
      const draft = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, 'Nobody by behaviour'));
      const refused = await request(server, `/api/issues/${draft}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${marketerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience: { behaviour: { issue: seed.a.issueId, figure: 'opened' } } }),
      });
      expect(refused.status).toBe(409);
      expect(JSON.parse(refused.text).message).toBe(PER_PERSON_OFF_MESSAGE);
    });
  });
}
