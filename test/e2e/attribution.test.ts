import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ParsedMail } from 'mailparser';
import { freePort, startServer, type RunningServer, type StartOptions } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { browserForFile } from '../helpers/browser.ts';
import { apiKeyFor, request, withDatabase } from '../helpers/accounts.ts';
import { eventually, seedSubscribers } from '../helpers/sending.ts';
import { linkIn, subscriberIn } from '../helpers/subscribers.ts';
import { shiftedClockEnv } from '../helpers/shifted-clock.ts';
import { makeAttributionCookie } from '../../src/lib/tracking/attribution.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/**
 * "Later" is real: the server is stopped and started again on the same data with its clock
 * moved forward (test/helpers/shifted-clock.ts preloads into that process only; nothing in
 * src changes). The reader opens the issue an hour after it went out (a click seconds after
 * delivery would rightly be a bot's) and comes back the next day. The restart also means the
 * later visit must be recognised from what the browser carries (the attribution cookie and
 * its click time), not from anything the first process remembered.
 */
const READ_SHIFT = HOUR;
const NEXT_DAY_SHIFT = DAY + 2 * HOUR;

const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const PHONE =
  'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36';
const READER = 'rea@example.com';
const BYSTANDER = 'ben@example.com';
const FRIEND = 'fran@example.com';
const WINTER = '/articles/getting-your-widget-ready-for-winter/';

const num = (v: number | string | bigint | null) => (v === null ? null : Number(v));

const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`attribution end to end in Chromium [${dialect}]`, () => {
    let sink: SmtpSink;
    let browser: Browser;
    let server: RunningServer | undefined;
    let drop: () => Promise<void>;
    let base: StartOptions & { env: Record<string, string> };
    let marketerKey: string;

    /** The server at `shiftMs` ahead of the wall clock, on the same port, data and database as before. */
    async function serverAt(shiftMs: number): Promise<RunningServer> {
      await server?.stop();
      server = await startServer({ ...base, env: { ...base.env, ...(shiftMs === 0 ? {} : shiftedClockEnv(shiftMs)) } });
      return server;
    }

    const api = (method: string, p: string, payload?: unknown) =>
      request(server!, p, {
        method,
        headers: {
          authorization: `Bearer ${marketerKey}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      });

    /** The marketer drafts an issue and sends it to everyone over the API; waits until the last message is out. */
    async function sendIssue(subject: string, body: string): Promise<{ id: number; slug: string }> {
      const created = await api('POST', '/api/issues', {
        subject,
        preheader: 'Five things to do before the first frost',
        body_markdown: body,
      });
      expect(created.status, created.text).toBe(201);
      const issue = JSON.parse(created.text) as { id: number; slug: string };
      const sent = await api('POST', `/api/issues/${issue.id}/send`, { audience: {} });
      expect(sent.status, sent.text).toBe(202);
      await eventually(async () => {
        const progress = await api('GET', `/api/issues/${issue.id}/progress`);
        expect(progress.status, progress.text).toBe(200);
        return JSON.parse(progress.text).send?.state === 'finished';
      }, `issue ${subject} to be sent`);
      return issue;
    }

    function mailTo(address: string, subject: string): ParsedMail {
      const i = sink.messages.findIndex((m, n) => sink.envelopes[n]!.rcptTo.includes(address) && m.subject === subject);
      if (i < 0)
        throw new Error(
          `no mail "${subject}" to ${address}; the sink has ${sink.messages.map((m) => m.subject).join(', ')}`,
        );
      return sink.messages[i]!;
    }

    const rows = () =>
      withDatabase(server!.databaseUrl, async (db) => ({
        deliveries: await db
          .selectFrom('deliveries')
          .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
          .select([
            'deliveries.id',
            'deliveries.issue_id',
            'subscribers.email',
            'deliveries.sent_at',
            'first_opened_at',
            'first_clicked_at',
            'first_visit_at',
          ])
          .orderBy('deliveries.id')
          .execute(),
        opens: await db
          .selectFrom('opens')
          .select(['issue_id', 'delivery_id', 'subscriber_id', 'class', 'reason', 'at'])
          .orderBy('id')
          .execute(),
        clicks: await db
          .selectFrom('clicks')
          .innerJoin('issue_links', 'issue_links.id', 'clicks.link_id')
          .select([
            'clicks.issue_id',
            'clicks.delivery_id',
            'clicks.class',
            'clicks.reason',
            'clicks.at',
            'issue_links.url',
          ])
          .orderBy('clicks.id')
          .execute(),
        visits: await db
          .selectFrom('visits')
          .select([
            'issue_id',
            'delivery_id',
            'subscriber_id',
            'attributed_by',
            'is_later',
            'views',
            'landing_path',
            'started_at',
          ])
          .orderBy('started_at')
          .orderBy('id')
          .execute(),
        views: await db
          .selectFrom('page_views')
          .select(['path', 'issue_id', 'subscriber_id', 'utm_campaign', 'is_bot', 'at'])
          .orderBy('id')
          .execute(),
        subscribers: await db
          .selectFrom('subscribers')
          .select(['id', 'email', 'status', 'source_issue_id', 'source_campaign'])
          .orderBy('id')
          .execute(),
      }));

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-attribution-'));
      const database = await createTestDatabaseUrl(dialect, dir);
      drop = database.drop;
      // A fixed port: the links registered in the email name it, and the server restarts on it.
      base = {
        dataDir: dir,
        databaseUrl: database.url,
        env: {
          PORT: String(await freePort()),
          SMTP_URL: sink.url,
          MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
          SEND_POLL_MS: '50',
        },
      };
      browser = await sharedBrowser();
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    it('a reader opens, clicks, browses and comes back the next day; a friend signs up from the shared link — all on the issue it came from', async () => {
      // ---- Sending day: two issues go out to the same two subscribers. -------------------------
      await serverAt(0);
      await withDatabase(server!.databaseUrl, (db) =>
        seedSubscribers(db, 2, { email: (i) => [READER, BYSTANDER][i]! }),
      );
      marketerKey = await apiKeyFor(server!.databaseUrl, 'marketer');
      const winter = await sendIssue(
        'Winter is coming: is your widget ready?',
        `Frost is forecast for the weekend. Read [our winter checklist](${WINTER}) and book a free spring check.\n\nOpening hours are on [our home page](/).`,
      );
      const other = await sendIssue(
        'Batteries, explained',
        'Which battery your widget takes: [the battery guide](/articles/widget-batteries-explained/).',
      );
      await sink.waitFor(4);
      const sendDay = await rows();
      const deliveryOf = (issueId: number, email: string) =>
        sendDay.deliveries.find((d) => num(d.issue_id) === issueId && d.email === email)!;
      const readerDelivery = num(deliveryOf(winter.id, READER).id)!;
      const readerId = num(sendDay.subscribers.find((s) => s.email === READER)!.id)!;
      const sentAt = num(deliveryOf(winter.id, READER).sent_at)!;

      // ---- An hour later: the reader opens the email (the pixel loads), clicks, reads on. -----------
      await serverAt(READ_SHIFT);
      const readerBrowser = await browser.newContext({ userAgent: DESKTOP });
      const reader = await readerBrowser.newPage();
      reader.setDefaultTimeout(10_000);
      const mail = mailTo(READER, 'Winter is coming: is your widget ready?');
      expect(mail.html).toContain(`${server!.url}/t/o/`);
      await reader.setContent(mail.html as string, { waitUntil: 'load' });
      await reader.getByRole('link', { name: 'our winter checklist' }).click();
      await reader.waitForURL(`${server!.url}${WINTER}?**`);
      const landing = new URL(reader.url());
      expect(Object.fromEntries(landing.searchParams)).toMatchObject({
        utm_source: 'newsletter',
        utm_medium: 'email',
        utm_campaign: winter.slug,
      });
      expect(await reader.locator('main h1').first().textContent()).toMatch(/winter/i);
      const [attribution] = (await readerBrowser.cookies(server!.url)).filter((c) => c.name === 'ff_attr');
      expect(attribution).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
      // Two more pages: the article list, then another article from it.
      await reader.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Articles' }).click();
      await reader.waitForURL(`${server!.url}/articles/`);
      await reader.locator('main a[href="/articles/widget-batteries-explained/"]').first().click();
      await reader.waitForURL(`${server!.url}/articles/widget-batteries-explained/`);
      // What the reader would paste into a message to a friend.
      const sharedLink = landing.href;

      const readDay = await rows();
      const readerRow = readDay.deliveries.find((d) => num(d.id) === readerDelivery)!;
      expect(num(readerRow.first_opened_at)).toBeGreaterThan(sentAt + READ_SHIFT - MINUTE);
      expect(num(readerRow.first_clicked_at)).toBeGreaterThanOrEqual(num(readerRow.first_opened_at)!);
      expect(num(readerRow.first_visit_at)).toBeGreaterThanOrEqual(num(readerRow.first_clicked_at)!);
      expect(num(readerRow.first_visit_at)! - num(readerRow.first_clicked_at)!).toBeLessThan(MINUTE);
      expect(
        readDay.opens.map((o) => ({
          ...o,
          issue_id: num(o.issue_id),
          delivery_id: num(o.delivery_id),
          subscriber_id: num(o.subscriber_id),
          at: undefined,
        })),
      ).toEqual([
        {
          issue_id: winter.id,
          delivery_id: readerDelivery,
          subscriber_id: readerId,
          class: 'human',
          reason: expect.stringMatching(/^reader: /),
          at: undefined,
        },
      ]);
      expect(
        readDay.clicks.map((c) => ({
          issue_id: num(c.issue_id),
          delivery_id: num(c.delivery_id),
          class: c.class,
          reason: c.reason,
          url: c.url,
        })),
      ).toEqual([
        {
          issue_id: winter.id,
          delivery_id: readerDelivery,
          class: 'human',
          reason: expect.stringMatching(/^reader: /),
          url: landing.href,
        },
      ]);

      // ---- The next day: the reader types the address in; a friend opens the shared link. ---------
      await serverAt(NEXT_DAY_SHIFT);
      await reader.goto(`${server!.url}/`);
      await reader.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Articles' }).click();
      await reader.waitForURL(`${server!.url}/articles/`);

      const friendBrowser = await browser.newContext({
        userAgent: PHONE,
        viewport: { width: 412, height: 915 },
        isMobile: true,
      });
      const friend = await friendBrowser.newPage();
      friend.setDefaultTimeout(10_000);
      await friend.goto(sharedLink);
      expect(await friendBrowser.cookies(server!.url)).toEqual([]); // the link itself carries no one's cookie
      const form = friend.locator('form.subscribe-form').first();
      await form.getByLabel('Email address').fill(FRIEND);
      await form.getByRole('button', { name: 'Subscribe' }).click();
      await friend.getByText('Check your inbox').first().waitFor();
      expect((await subscriberIn(server!.databaseUrl, FRIEND))?.status).toBe('pending');
      await sink.waitFor(5);
      const confirmation = mailTo(FRIEND, 'Confirm your subscription to Frobozz Electric');
      await friend.goto(linkIn(confirmation.text, `${server!.url}/subscribe/confirm?token=`));
      await friend.getByRole('button', { name: 'Confirm my subscription' }).click();
      await friend.getByRole('heading', { name: "You're subscribed" }).waitFor();

      // Bad input: a cookie naming the issue but not signed by this server credits nothing.
      const forgedBrowser = await browser.newContext({ userAgent: DESKTOP.replace('156.0.0.0', '155.0.0.0') });
      const forged = makeAttributionCookie(
        'not-this-servers-secret-'.padEnd(48, 'x'),
        {
          issueId: winter.id,
          deliveryId: readerDelivery,
          subscriberId: readerId,
          at: Date.now() + NEXT_DAY_SHIFT - HOUR,
        },
        7,
        false,
      );
      await forgedBrowser.addCookies([
        { name: 'ff_attr', value: forged.split(';')[0]!.slice('ff_attr='.length), url: server!.url },
      ]);
      const stranger = await forgedBrowser.newPage();
      expect((await stranger.goto(`${server!.url}/articles/`))?.status()).toBe(200);

      // ---- What the marketer's numbers are made of. ------------------------------------------------
      const after = await rows();
      const visits = after.visits.map((v) => ({
        ...v,
        issue_id: num(v.issue_id),
        delivery_id: num(v.delivery_id),
        subscriber_id: num(v.subscriber_id),
        is_later: num(v.is_later),
        views: num(v.views),
        started_at: num(v.started_at)!,
      }));
      const firstClick = num(readerRow.first_clicked_at)!;
      const onWinter = visits.filter((v) => v.issue_id === winter.id);
      expect(onWinter.map(({ started_at: _s, ...v }) => v)).toEqual([
        // Landed from the click with the issue's UTM tags, then two more pages: one visit of three views.
        {
          issue_id: winter.id,
          delivery_id: readerDelivery,
          subscriber_id: readerId,
          attributed_by: 'utm',
          is_later: 0,
          views: 3,
          landing_path: WINTER,
        },
        // Came back on their own the next day, carrying the cookie: a later visit.
        {
          issue_id: winter.id,
          delivery_id: readerDelivery,
          subscriber_id: readerId,
          attributed_by: 'cookie',
          is_later: 1,
          views: 2,
          landing_path: '/',
        },
        // The friend, on the shared link: attributed by its campaign, to no subscriber; the confirmation page is part of that visit.
        {
          issue_id: winter.id,
          delivery_id: null,
          subscriber_id: null,
          attributed_by: 'utm',
          is_later: 0,
          views: 2,
          landing_path: WINTER,
        },
      ]);
      expect(onWinter[0]!.started_at - firstClick).toBeLessThan(MINUTE);
      expect(onWinter[1]!.started_at - firstClick).toBeGreaterThan(DAY);
      // The forged cookie's visit is there, and belongs to no issue.
      expect(visits.filter((v) => v.issue_id === null)).toEqual([
        expect.objectContaining({
          landing_path: '/articles/',
          attributed_by: null,
          is_later: 0,
          views: 1,
          subscriber_id: null,
        }),
      ]);
      // first_visit_at stays the first landing, not the return.
      expect(num(after.deliveries.find((d) => num(d.id) === readerDelivery)!.first_visit_at)).toBe(
        num(readerRow.first_visit_at),
      );
      expect(after.views.every((v) => v.is_bot === 0)).toBe(true);
      // Each page view carries the issue it was attributed to; the friend's confirmation page came
      // without the campaign or a cookie, so it counts in their visit but names no issue itself.
      expect(
        after.views.filter((v) => num(v.issue_id) === winter.id).map((v) => [v.path, num(v.subscriber_id)]),
      ).toEqual([
        [WINTER, readerId],
        ['/articles/', readerId],
        ['/articles/widget-batteries-explained/', readerId],
        ['/', readerId],
        ['/articles/', readerId],
        [WINTER, null],
      ]);

      // The friend's signup names the issue, and they are subscribed after confirming.
      const friendRow = after.subscribers.find((s) => s.email === FRIEND)!;
      expect({
        status: friendRow.status,
        source_issue_id: num(friendRow.source_issue_id),
        source_campaign: friendRow.source_campaign,
      }).toEqual({ status: 'active', source_issue_id: winter.id, source_campaign: winter.slug });
      expect(after.subscribers.filter((s) => s.source_issue_id !== null).map((s) => s.email)).toEqual([FRIEND]);

      // All on the right issue: the other issue, sent to the same people at the same time, has nothing.
      expect(after.deliveries.filter((d) => num(d.issue_id) === other.id)).toHaveLength(2);
      for (const d of after.deliveries.filter((d) => num(d.issue_id) === other.id || d.email === BYSTANDER)) {
        expect({
          email: d.email,
          issue: num(d.issue_id),
          opened: d.first_opened_at,
          clicked: d.first_clicked_at,
          visited: d.first_visit_at,
        }).toEqual({ email: d.email, issue: num(d.issue_id), opened: null, clicked: null, visited: null });
      }
      expect(after.opens.filter((o) => num(o.issue_id) !== winter.id)).toEqual([]);
      expect(after.clicks.filter((c) => num(c.issue_id) !== winter.id)).toEqual([]);
      expect(visits.filter((v) => v.issue_id === other.id)).toEqual([]);
      expect(after.views.filter((v) => num(v.issue_id) === other.id || v.utm_campaign === other.slug)).toEqual([]);
      expect(after.subscribers.filter((s) => num(s.source_issue_id) === other.id)).toEqual([]);

      await Promise.all([readerBrowser.close(), friendBrowser.close(), forgedBrowser.close()]);
    }, 120_000);
  });
}
