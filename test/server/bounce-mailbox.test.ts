import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { dovecotInstalled, startImapServer, type ImapServer } from '../helpers/imap-server.ts';
import { addAccount, apiKeyFor, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { appendRefusalDsn } from '../helpers/bounce-reports.ts';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';
import { readVerpAddress } from '../../src/lib/mail/verp.ts';

const SECRET = 'bounce-mailbox-server-secret-0123456789abcdef';
const VERP = 'bounces@shop.example';

/**
 * The running server's send worker reads the bounce mailbox (Dovecot) on its schedule: an issue
 * goes out through the relay with VERP return paths, the next hop refuses one recipient, the
 * relay's DSN lands in the mailbox → the delivery is bounced, the address suppressed and skipped
 * by the next send, and Settings shows the mailbox's status without its password. With the IMAP
 * server down, Settings shows the error.
 */
for (const dialect of testDialects()) {
  describe(`bounce mailbox read by the server's worker [${dialect}]`, () => {
    let imap: ImapServer;
    let relay: SmtpSink;
    let server: RunningServer;
    let drop: () => Promise<void>;
    let adminCookie: string;
    let marketerKey: string;

    beforeAll(async () => {
      if (!dovecotInstalled) throw new Error('Dovecot is not installed: apt-get install -y dovecot-imapd');
      imap = await startImapServer();
      relay = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-bounce-mailbox-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: {
          SECRET,
          SMTP_URL: relay.url,
          MAIL_FROM: 'Frobozz Electric <news@shop.example>',
          SEND_POLL_MS: '50',
          BOUNCE_IMAP_URL: imap.url,
          BOUNCE_IMAP_POLL_MS: '1000',
          BOUNCE_VERP_ADDRESS: VERP,
        },
      });
      adminCookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'admin@shop.example', 'admin'),
      );
      marketerKey = await apiKeyFor(server.databaseUrl, 'marketer');
    });
    afterAll(async () => {
      await server?.stop();
      await relay?.close();
      await imap?.close();
      await drop?.();
    });

    const send = async (subject: string) => {
      const id = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, subject));
      const answer = await request(server, `/api/issues/${id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${marketerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience: {} }),
      });
      expect(answer.status).toBe(202);
      await eventually(
        async () =>
          (
            await withDatabase(server.databaseUrl, (db) =>
              db.selectFrom('sends').select('state').where('issue_id', '=', id).executeTakeFirst(),
            )
          )?.state === 'finished',
        `issue ${id} sent`,
      );
      return id;
    };
    const settingsPage = async () => {
      const page = await request(server, '/admin/settings', { cookie: adminCookie });
      expect(page.status).toBe(200);
      return page.text;
    };
    const field = (html: string, name: string) =>
      new RegExp(`data-field="${name}"[^>]*>([^<]*)<`).exec(html)?.[1]?.trim();

    it('a DSN for a refused recipient bounces that delivery, suppresses the address, and the next send skips it; Settings shows the status, never the password', async () => {
      await withDatabase(server.databaseUrl, (db) =>
        seedSubscribers(db, 2, { email: (i) => ['ann@example.com', 'gone@example.org'][i]! }),
      );
      const issueId = await send('Spring springs');
      const { returnPath } = await appendRefusalDsn(imap, relay, 'gone@example.org', { date: new Date() });
      expect(returnPath).toMatch(/^bounces\+d\d+-[0-9a-f]{20}@shop\.example$/);
      const deliveryId = readVerpAddress(VERP, SECRET, returnPath)!;

      await eventually(
        async () =>
          (
            await withDatabase(server.databaseUrl, (db) =>
              db.selectFrom('deliveries').select('status').where('id', '=', deliveryId).executeTakeFirst(),
            )
          )?.status === 'bounced',
        'the delivery marked bounced by the worker reading the mailbox',
      );
      expect(
        await withDatabase(server.databaseUrl, (db) =>
          db
            .selectFrom('suppressions')
            .select('reason')
            .where('email_hash', '=', emailHash('gone@example.org'))
            .executeTakeFirst(),
        ),
      ).toEqual({ reason: 'bounced' });
      expect(await imap.messageIds('INBOX')).toEqual([]);
      expect(await imap.messageIds('Processed reports')).toHaveLength(1);

      const html = await settingsPage();
      expect(html).toContain('Bounce mailbox');
      expect(field(html, 'reports')).toBe('1');
      expect(field(html, 'bounces')).toBe('1 hard, 0 soft, 0 complaints');
      expect(field(html, 'last-error')).toBe('none');
      expect(html).toContain(`${imap.user}@127.0.0.1:${imap.port}/INBOX`);
      expect(html).not.toContain(imap.password);

      const before = relay.envelopes.length;
      await send('Summer springs');
      expect(relay.envelopes.slice(before).flatMap((e) => e.rcptTo)).toEqual(['ann@example.com']);
      expect(issueId).toBeGreaterThan(0);
    });

    it('with the IMAP server down, Settings shows the error and the time it happened', async () => {
      await imap.stop();
      try {
        await eventually(
          async () => /ECONNREFUSED|connect/i.test(field(await settingsPage(), 'last-error') ?? ''),
          'Settings showing the mailbox error',
        );
        const html = await settingsPage();
        expect(field(html, 'reports')).toBe('1');
        expect(html).not.toContain(imap.password);
      } finally {
        await imap.restart();
      }
      await eventually(
        async () => field(await settingsPage(), 'last-error') === 'none',
        'the error cleared by a good read',
      );
    });
  });
}

describe('bounce mailbox not set up', () => {
  let server: RunningServer;
  afterAll(async () => {
    await server?.stop();
  });

  it('Settings says how to set it up, and says VERP is on when only BOUNCE_VERP_ADDRESS is set', async () => {
    server = await startServer({ env: { BOUNCE_VERP_ADDRESS: VERP } });
    const cookie = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'admin@shop.example', 'admin'),
    );
    const page = await request(server, '/admin/settings', { cookie });
    expect(page.status).toBe(200);
    const note = /data-field="not-configured"[^>]*>([\s\S]*?)<\/p>/.exec(page.text)?.[1]?.replace(/\s+/g, ' ');
    expect(note).toContain('Not set up');
    expect(note).toContain('BOUNCE_IMAP_URL');
    expect(note).toContain('VERP return paths are on');
    expect(page.text).not.toContain('data-field="reports"');
  });
});
