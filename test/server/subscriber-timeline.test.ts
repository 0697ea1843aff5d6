import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, request, sessionCookie } from '../helpers/accounts.ts';
import { seedDelivery, seedIssue, withDb } from '../helpers/tracking.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The subscriber page's timeline over HTTP: record events and opens, clicks and visits, merged newest first. */
for (const dialect of testDialects()) {
  describe(`the subscriber timeline [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let marketer: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-timeline-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({ dataDir: dir, databaseUrl: created.url, env: { SEND_WORKER: '0' } });
      marketer = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
      );
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('shows opens with class and reason, clicks with the link, visits (later ones marked) among the record’s events, newest first, each naming its issue', async () => {
      const sentAt = Date.UTC(2026, 10, 20, 9);
      const seeded = await withDb(server.databaseUrl, async (db) => {
        const issue = await seedIssue(db, server.url, sentAt);
        await db
          .updateTable('issues')
          .set({ subject: 'Winter <widgets> & you' })
          .where('id', '=', issue.issueId)
          .execute();
        const reader = await seedDelivery(db, issue.issueId, sentAt);
        const someoneElse = await seedDelivery(db, issue.issueId, sentAt);
        const mine = { issue_id: issue.issueId, delivery_id: reader.deliveryId, subscriber_id: reader.subscriberId };
        await db
          .insertInto('subscriber_events')
          .values({ subscriber_id: reader.subscriberId, at: sentAt - DAY, kind: 'confirmed', detail: null })
          .execute();
        await db
          .insertInto('opens')
          .values([
            { ...mine, at: sentAt + MINUTE, class: 'apple_mpp', reason: 'Apple proxy address' },
            { ...mine, at: sentAt + 10 * MINUTE, class: 'human', reason: 'reader' },
            {
              issue_id: issue.issueId,
              delivery_id: someoneElse.deliveryId,
              subscriber_id: someoneElse.subscriberId,
              at: sentAt + 11 * MINUTE,
              class: 'human',
              reason: 'not this person',
            },
          ])
          .execute();
        await db
          .insertInto('clicks')
          .values({ ...mine, link_id: issue.links.site.id, at: sentAt + 12 * MINUTE, class: 'human', reason: 'reader' })
          .execute();
        await db
          .insertInto('visits')
          .values([
            {
              ...mine,
              visitor_key: `s:${reader.subscriberId}`,
              started_at: sentAt + 12 * MINUTE + 500,
              last_seen: sentAt + 15 * MINUTE,
              views: 3,
              landing_path: '/articles/widget-batteries-explained/',
              attributed_by: 'utm',
              is_later: 0,
            },
            {
              ...mine,
              visitor_key: `s:${reader.subscriberId}`,
              started_at: sentAt + DAY,
              last_seen: sentAt + DAY,
              views: 1,
              landing_path: '/tags/batteries/',
              attributed_by: 'cookie',
              is_later: 1,
            },
          ])
          .execute();
        return { issue, subscriberId: reader.subscriberId };
      });

      const page = await request(server, `/admin/subscribers/${seeded.subscriberId}`, { cookie: marketer });
      expect(page.status).toBe(200);
      const timeline = page.text.slice(page.text.indexOf('id="timeline"'), page.text.indexOf('id="leave"'));
      const issueLink = `<a href="/admin/issues/${seeded.issue.issueId}">Winter &lt;widgets&gt; &amp; you</a>`;
      const entries = [...timeline.matchAll(/<li[^>]*>([\s\S]*?)<\/li>/g)].map((m) =>
        m[1]!.replace(/\s+data-astro-cid-\w+/g, '').replace(/\s+/g, ' '),
      );
      expect(entries.map((e) => /<strong>([^<]*)<\/strong>/.exec(e)![1])).toEqual([
        'Came back: a later visit from',
        'Visited the site from',
        'Clicked a link in',
        'Opened',
        'Opened',
        'Confirmed the subscription (double opt-in)',
      ]);
      for (const entry of entries.slice(0, 5)) expect(entry).toContain(`</strong> ${issueLink}`);
      expect(entries[0]).toContain('<dt>Landed on</dt><dd>/tags/batteries/</dd>');
      expect(entries[0]).toContain('<dt>Later visit</dt>');
      expect(entries[1]).toContain('<dt>Landed on</dt><dd>/articles/widget-batteries-explained/</dd>');
      expect(entries[1]).not.toContain('Later visit');
      expect(entries[2]).toContain(`<dt>Link</dt><dd>${seeded.issue.links.site.url.replace(/&/g, '&amp;')}</dd>`);
      expect(entries[2]).toContain('<dt>Class</dt><dd>human: likely a person</dd>');
      expect(entries[3]).toContain('<dt>Class</dt><dd>human: likely a person</dd><dt>Reason</dt><dd>reader</dd>');
      expect(entries[4]).toContain(
        '<dt>Class</dt><dd>apple_mpp: Apple Mail Privacy Protection fetching ahead (a machine)</dd><dt>Reason</dt><dd>Apple proxy address</dd>',
      );
      expect(timeline).not.toContain('not this person');
      expect(timeline).not.toContain('Only the latest events are shown');
    });

    it('someone with nothing recorded: says so; an unknown subscriber → 404', async () => {
      const id = await withDb(server.databaseUrl, async (db) => {
        const row = await db
          .insertInto('subscribers')
          .values({
            email: 'quiet@example.com',
            name: null,
            status: 'active',
            created_at: Date.now(),
            updated_at: Date.now(),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return Number(row.id);
      });
      const page = await request(server, `/admin/subscribers/${id}`, { cookie: marketer });
      expect(page.text).toContain('Nothing recorded yet.');
      expect((await request(server, '/admin/subscribers/999999', { cookie: marketer })).status).toBe(404);
    });
  });
}
