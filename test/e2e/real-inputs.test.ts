import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { shiftedClockEnv } from '../helpers/shifted-clock.ts';
import { browserForFile } from '../helpers/browser.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { dovecotInstalled, startImapServer, type ImapServer } from '../helpers/imap-server.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { appendRefusalDsn } from '../helpers/bounce-reports.ts';
import { useTestShop } from '../helpers/shop.ts';
import { createIssue } from '../../src/lib/issues/issues.service.ts';
import { twilioSignature } from '../../src/lib/offline/provider-calls.ts';
import { readVerpAddress } from '../../src/lib/mail/verp.ts';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';
import { quarterOf } from '../../src/lib/counts/buckets.ts';

const SECRET = 'real-inputs-e2e-server-secret-0123456789abcdef';
const VERP = 'bounces@shop.example';
const TWILIO_TOKEN = '12345678901234567890123456789012';
const DOOR_SECRET = 'door-counts-webhook-secret-0123456789';
const Q = 15 * 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The second server lives this far after the send: the two days of door counts and the calls are behind it. */
const SHIFT = 2 * DAY + HOUR;

/**
 * Issue 20 end to end, through the real server and its real inputs: an issue with a tracked
 * phone number goes out through the relay (SMTP sink) with VERP return paths; two days later
 * (the server restarted on a shifted clock) a door counter named in Settings has posted its
 * 15-minute counts for those two days (and the same hours of two earlier weeks), Twilio has
 * posted signed status callbacks for an answered and a missed call to the tracked number, and
 * the relay's DSN for one recipient sits in the bounce mailbox (Dovecot) that the server's worker
 * reads on its schedule → in Chromium the issue report shows people through the door with its
 * lift, the calls answered and missed, and the hard bounce with its reason, each equal to a
 * direct count of raw rows; the bounced address is suppressed and the next send skips it.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`real inputs: door counter, Twilio, bounce mailbox on the issue report [${dialect}]`, () => {
    let imap: ImapServer;
    let relay: SmtpSink;
    let server: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let dir: string;
    let databaseUrl: string;
    let port: number;
    let marketerKey: string;
    let adminCookie: string;
    let issueId: number;
    let sentAt: number;
    let goneId: number;

    const env = () => ({
      PORT: String(port),
      SECRET,
      SMTP_URL: relay.url,
      MAIL_FROM: 'Frobozz Electric <news@shop.example>',
      SEND_POLL_MS: '50',
      BOUNCE_IMAP_URL: imap.url,
      BOUNCE_IMAP_POLL_MS: '1000',
      BOUNCE_VERP_ADDRESS: VERP,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      DOOR_COUNTS_WEBHOOK_SECRET: DOOR_SECRET,
    });

    const send = async (id: number) => {
      const answer = await request(server, `/api/issues/${id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${marketerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience: {} }),
      });
      expect(answer.status, answer.text).toBe(202);
      await eventually(
        async () =>
          (
            await withDatabase(databaseUrl, (db) =>
              db.selectFrom('sends').select('state').where('issue_id', '=', id).executeTakeFirst(),
            )
          )?.state === 'finished',
        `issue ${id} sent`,
      );
    };

    beforeAll(async () => {
      if (!dovecotInstalled) throw new Error('Dovecot is not installed: apt-get install -y dovecot-imapd');
      imap = await startImapServer();
      relay = await startSmtpSink();
      dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-real-inputs-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      databaseUrl = created.url;
      port = await freePort();
      server = await startServer({ dataDir: dir, databaseUrl, env: env() });
      marketerKey = await apiKeyFor(databaseUrl, 'marketer');
      issueId = await withDatabase(databaseUrl, async (db) => {
        await seedSubscribers(db, 3, {
          email: (i) => ['ann@example.com', 'gone@example.org', 'bob@example.net'][i]!,
        });
        await useTestShop(db);
        const made = await createIssue(
          db,
          {
            subject: 'Ring the repair counter',
            slug: 'ring-the-repair-counter',
            preheader: 'Or come in',
            body_markdown: 'New springs are in. [Opening hours](/) as usual.',
            featured_articles: [],
            tracked_phone: '+44 1632 960777',
          },
          { articles: new Map(), createdBy: null },
          Date.now(),
        );
        if (!made.ok) throw new Error(`${made.message} ${JSON.stringify(made.fields ?? {})}`);
        return made.value.id;
      });
      await send(issueId);
      sentAt = await withDatabase(databaseUrl, async (db) =>
        Number(
          (await db.selectFrom('issues').select('sent_at').where('id', '=', issueId).executeTakeFirstOrThrow()).sent_at,
        ),
      );
      // Two days on: the same database, port and mailbox; the server's clock shifted.
      await server.stop();
      server = await startServer({
        dataDir: dir,
        databaseUrl,
        env: { ...env(), ...shiftedClockEnv(SHIFT) },
      });
      adminCookie = await sessionCookie(databaseUrl, await addAccount(databaseUrl, 'admin@shop.example', 'admin'));
      browser = await sharedBrowser();
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await relay?.close();
      await imap?.close();
      await drop?.();
    });

    it('the issue went out through the relay to all three, each with its own VERP return path', () => {
      expect(relay.envelopes.flatMap((e) => e.rcptTo).sort()).toEqual([
        'ann@example.com',
        'bob@example.net',
        'gone@example.org',
      ]);
      for (const e of relay.envelopes) expect(e.mailFrom).toMatch(/^bounces\+d\d+-[0-9a-f]{20}@shop\.example$/);
    });

    it('a door counter named in Settings posts two days of 15-minute counts (and two earlier weeks) to the webhook', async () => {
      const added = await postForm(
        server,
        '/admin/settings/doors',
        'doors.add',
        { key: 'front', name: 'Front door', staffPerDay: '0', openingHours: '' },
        { cookie: adminCookie },
      );
      expect(added.status).toBe(200);
      expect(added.text).toContain('<code>front</code>');
      const start = quarterOf(sentAt);
      for (const [offset, people] of [
        [0, 3],
        [-7 * DAY, 1],
        [-14 * DAY, 1],
      ] as const) {
        const items = [];
        for (let i = 0; i < 192; i++)
          items.push({
            counter: 'front',
            from: new Date(start + offset + i * Q).toISOString(),
            to: new Date(start + offset + (i + 1) * Q).toISOString(),
            // Multiples of 15: one person a minute or more, so every window from the send's minute is a whole number of people.
            in: 15 * (people + (i % 4)),
            out: people,
          });
        const answer = await request(server, '/api/webhooks/door-counts', {
          method: 'POST',
          headers: { authorization: `Bearer ${DOOR_SECRET}`, 'content-type': 'application/json' },
          body: JSON.stringify(items),
        });
        expect(answer.status, answer.text).toBe(201);
        expect(JSON.parse(answer.text)).toMatchObject({ stored: 192 });
      }
    });

    it('Twilio posts signed status callbacks for an answered and a missed call to the tracked number', async () => {
      const url = `${server.url}/api/webhooks/twilio`;
      const callback = (sid: string, at: number, status: string, duration: string) => ({
        AccountSid: 'AC' + '0'.repeat(32),
        ApiVersion: '2010-04-01',
        CallSid: sid,
        CallStatus: status,
        CallDuration: duration,
        Called: '+441632960777',
        Caller: '+441632960123',
        Direction: 'inbound',
        From: '+441632960123',
        To: '+441632960777',
        CallbackSource: 'call-progress-events',
        SequenceNumber: '0',
        Timestamp: new Date(at).toUTCString().replace('GMT', '+0000'),
      });
      for (const params of [
        callback('CA' + 'a'.repeat(32), sentAt + 2 * HOUR, 'completed', '95'),
        callback('CA' + 'b'.repeat(32), sentAt + 26 * HOUR, 'no-answer', '0'),
      ]) {
        const answer = await request(server, '/api/webhooks/twilio', {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'x-twilio-signature': twilioSignature(TWILIO_TOKEN, url, Object.entries(params)),
          },
          body: new URLSearchParams(params).toString(),
        });
        expect(answer.status, answer.text).toBe(201);
        expect(JSON.parse(answer.text)).toMatchObject({ stored: true, event: { issue_id: issueId } });
      }
    });

    it('the relay’s DSN for one recipient lands in the mailbox; the worker reads it on its schedule and bounces that delivery', async () => {
      const { returnPath } = await appendRefusalDsn(imap, relay, 'gone@example.org', { date: new Date(sentAt + HOUR) });
      const deliveryId = readVerpAddress(VERP, SECRET, returnPath)!;
      expect(deliveryId).toBeGreaterThan(0);
      await eventually(
        async () =>
          (
            await withDatabase(databaseUrl, (db) =>
              db.selectFrom('deliveries').select('status').where('id', '=', deliveryId).executeTakeFirst(),
            )
          )?.status === 'bounced',
        'the delivery marked bounced by the worker reading the mailbox',
      );
      goneId = await withDatabase(databaseUrl, async (db) =>
        Number(
          (
            await db
              .selectFrom('subscribers')
              .select('id')
              .where('email', '=', 'gone@example.org')
              .executeTakeFirstOrThrow()
          ).id,
        ),
      );
      expect(await imap.messageIds('INBOX')).toEqual([]);
    });

    it('in Chromium the issue report shows people through the door with its lift, the calls answered and missed, and the hard bounce with its reason: each a direct count of raw rows', async () => {
      const start = quarterOf(sentAt);
      const sendMinute = Math.floor(sentAt / 60_000) * 60_000;
      const raw = await withDatabase(databaseUrl, async (db) => {
        const door = await db.selectFrom('door_counts').select(['from_at', 'to_at', 'count_in']).execute();
        // People in over [from, to): each interval's count shared by its overlap (exact: counts are multiples of 15).
        const sum = (from: number, to: number) =>
          door.reduce((a, r) => {
            const overlap = Math.max(0, Math.min(to, Number(r.to_at)) - Math.max(from, Number(r.from_at)));
            return a + (Number(r.count_in) * overlap) / (Number(r.to_at) - Number(r.from_at));
          }, 0);
        const calls = await db
          .selectFrom('offline_events')
          .select('answered')
          .where('issue_id', '=', issueId)
          .where('kind', '=', 'call')
          .where('undone_at', 'is', null)
          .execute();
        const bounces = await db
          .selectFrom('bounce_events')
          .select(['kind', 'reason', 'source'])
          .where('issue_id', '=', issueId)
          .execute();
        const END = Number.MAX_SAFE_INTEGER;
        return {
          doorIn: sum(start, END),
          // The lift's windows start at the send's minute; the earlier weeks over the same minutes.
          h24: sum(sendMinute, sendMinute + DAY),
          h24Weeks: [1, 2].map((k) => sum(sendMinute - k * 7 * DAY, sendMinute - k * 7 * DAY + DAY)),
          h72: sum(sendMinute, END),
          // The curve's hours since send start at the send's quarter hour (its bucket).
          curve: [1, 2].map((days) => sum(start, start + days * DAY)),
          h72Weeks: [1, 2].map((k) => sum(sendMinute - k * 7 * DAY, start - k * 7 * DAY + 2 * DAY)),
          answered: calls.filter((c) => c.answered !== null && Number(c.answered) === 1).length,
          missed: calls.filter((c) => c.answered !== null && Number(c.answered) === 0).length,
          bounces,
        };
      });
      // 192 quarter hours of 45, 60, 75, 90 people; the earlier weeks 15, 30, 45, 60.
      expect(raw.doorIn).toBe(48 * 15 * (3 + 4 + 5 + 6));
      for (const n of [raw.h24, raw.h72, ...raw.h24Weeks, ...raw.h72Weeks]) expect(Number.isInteger(n)).toBe(true);
      expect([raw.answered, raw.missed]).toEqual([1, 1]);
      expect(raw.bounces).toHaveLength(1);
      expect(raw.bounces[0]).toMatchObject({ kind: 'hard', source: 'mailbox' });
      expect(raw.bounces[0]!.reason).toContain('User unknown');

      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const [name, value] = adminCookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      const response = await page.goto(`${server.url}/admin/issues/${issueId}/report`);
      expect(response?.status()).toBe(200);
      const number = (text: string | null) => Number((text ?? '').replace(/[^\d]/g, ''));

      const door = page.locator('[data-door-counts]');
      await door.scrollIntoViewIfNeeded();
      await expect(
        door
          .getByRole('heading', { name: /People through the door/ })
          .first()
          .isVisible(),
      ).resolves.toBe(true);
      expect(number(await door.locator('tr[data-figure="door-in"] td.num').textContent())).toBe(raw.doorIn);
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll<HTMLElement>('[data-door-counts] figure[data-chart]')].every(
            (f) => f.dataset.chartState === 'drawn',
          ),
        undefined,
        { timeout: 10_000 },
      );
      const curves = await door
        .locator('figure[data-chart]')
        .evaluateAll((figures) =>
          figures.map((f) => ({ svg: !!f.querySelector('svg'), rows: f.querySelectorAll('table tbody tr').length })),
        );
      expect(curves.length).toBeGreaterThan(0);
      for (const c of curves) expect(c).toMatchObject({ svg: true, rows: expect.any(Number) });
      expect(curves.some((c) => c.rows > 0)).toBe(true);
      const curveRow = async (hours: string) =>
        number(
          await door
            .locator('figure[data-chart] table tbody tr', {
              has: page.locator('th', { hasText: new RegExp(`^\\s*${hours}\\s*$`) }),
            })
            .first()
            .locator('td')
            .first()
            .textContent(),
        );
      expect([await curveRow('24 h'), await curveRow('48 h')]).toEqual(raw.curve);
      const sentences = (await door.locator('p.lift-sentence').allTextContents()).map((s) => s.replace(/\s+/g, ' '));
      const lift = (label: string) => {
        const found = /there were ([\d,]+) people through the door; a normal week has ([\d,.]+) in those hours/.exec(
          sentences.find((s) => s.startsWith(label)) ?? '',
        );
        return found ? [found[1], found[2]].map((n) => Number(n!.replace(/,/g, ''))) : sentences;
      };
      const mean = (weeks: number[]) => weeks.reduce((a, b) => a + b, 0) / weeks.length;
      expect(lift('24 hours:')).toEqual([raw.h24, mean(raw.h24Weeks)]);
      expect(lift('72 hours:')).toEqual([raw.h72, mean(raw.h72Weeks)]);
      expect(sentences.every((s) => !s.includes('no normal week'))).toBe(true);

      const calls = page.locator('[data-call-outcomes]');
      const callFigure = async (label: string) =>
        number(
          await calls
            .locator('tr', { has: page.locator('th', { hasText: new RegExp(`^${label}$`) }) })
            .locator('td')
            .first()
            .textContent(),
        );
      expect(await callFigure('Answered')).toBe(raw.answered);
      expect(await callFigure('Missed')).toBe(raw.missed);

      const bounces = page.locator('section[aria-labelledby="bounces-title"]');
      expect(number(await bounces.locator('[data-bounces-hard]').textContent())).toBe(
        raw.bounces.filter((b) => b.kind === 'hard').length,
      );
      expect(number(await bounces.locator('[data-bounces-soft]').textContent())).toBe(0);
      const reasonRow = bounces.locator('tbody tr').first();
      expect(await reasonRow.locator('td').first().textContent()).toBe('Hard bounce');
      expect((await reasonRow.locator('th').textContent())?.trim()).toBe(raw.bounces[0]!.reason);
      expect(number(await reasonRow.locator('td.num').textContent())).toBe(1);
      expect(errors).toEqual([]);
      await context.close();

      // The same numbers as JSON (the page's promise), for an API key.
      const api = await request(server, `/api/issues/${issueId}/report`, {
        headers: { authorization: `Bearer ${marketerKey}` },
      });
      expect(api.status).toBe(200);
      const body = JSON.parse(api.text);
      expect(body.people_through_the_door.window.door_in).toBe(raw.doorIn);
      expect(body.people_through_the_door.lift.h24).toMatchObject({ observed: raw.h24, expected: mean(raw.h24Weeks) });
      expect(body.people_through_the_door.lift.h72).toMatchObject({ observed: raw.h72, expected: mean(raw.h72Weeks) });
      expect(body.call_outcomes).toMatchObject({ credited: 2, answered: raw.answered, missed: raw.missed });
      expect(body.bounces_reported).toMatchObject({ hard: 1, soft: 0, complaint: 0 });
      expect(body.bounces_reported.reasons).toEqual([{ kind: 'hard', reason: raw.bounces[0]!.reason, count: 1 }]);
    });

    it('the bounced address is suppressed, its page says so, and the next send skips it', async () => {
      expect(
        await withDatabase(databaseUrl, (db) =>
          db
            .selectFrom('suppressions')
            .select('reason')
            .where('email_hash', '=', emailHash('gone@example.org'))
            .executeTakeFirst(),
        ),
      ).toEqual({ reason: 'bounced' });
      const subscriberPage = await request(server, `/admin/subscribers/${goneId}`, { cookie: adminCookie });
      expect(subscriberPage.status).toBe(200);
      const text = subscriberPage.text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
      expect(text).toContain('Status bounced');
      expect(text).toContain('Mail bounced; the address is suppressed');
      expect(text).toContain('Hard bounce reported for Ring the repair counter');
      expect(text).toContain('the bounce mailbox');

      const before = relay.envelopes.length;
      const next = await withDatabase(databaseUrl, (db) => createDraftIssue(db, 'Summer springs'));
      await send(next);
      expect(
        relay.envelopes
          .slice(before)
          .flatMap((e) => e.rcptTo)
          .sort(),
      ).toEqual(['ann@example.com', 'bob@example.net']);
    });
  });
}
