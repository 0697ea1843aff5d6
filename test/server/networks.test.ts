import { copyFileSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { openUrl, seedDelivery, seedIssue, TEST_SECRET, withDb } from '../helpers/tracking.ts';
import {
  defaultAsnSourceDir,
  defaultCacheDir,
  IPV4_FILE,
  IPV6_FILE,
  loadAsnTables,
} from '../../src/lib/network/asn-data.ts';

describe('the network data at start', () => {
  it('starts with the compiled table and says how it was loaded', async () => {
    const server = await startServer();
    try {
      expect(server.output()).toMatch(/\[networks\] IP → network owner table (read|compiled) in \d+ ms \(\d+\.\d MB\)/);
    } finally {
      await server.stop();
    }
  });

  it('a missing data set file stops the server, naming the file', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-asn-'));
    writeFileSync(path.join(dataDir, IPV4_FILE), '16777216,16777471,13335,"Cloudflare, Inc."\n'); // and no IPv6 file
    const missing = path.join(dataDir, IPV6_FILE);
    await expect(startServer({ env: { NETWORK_DATA_DIR: dataDir } })).rejects.toThrow(
      `server exited with 1 before listening:\nNetwork data: cannot read ${missing} (ENOENT). Reinstall the data set with \`npm ci\`, or point NETWORK_DATA_DIR at a folder holding ${IPV4_FILE} and ${IPV6_FILE}.`,
    );
  });

  it('a truncated compiled cache stops the server, naming the file', async () => {
    const shared = loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir: defaultCacheDir() }).cacheFile;
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'footfall-asn-cache-'));
    const damaged = path.join(cacheDir, path.basename(shared));
    copyFileSync(shared, damaged);
    truncateSync(damaged, Math.floor(statSync(damaged).size / 2));
    const failed = startServer({ env: { NETWORK_CACHE_DIR: cacheDir } });
    await expect(failed).rejects.toThrow(
      `server exited with 1 before listening:\nNetwork data: the compiled cache ${damaged} is corrupt`,
    );
    await expect(failed).rejects.toThrow('Delete it and start again: it is rebuilt from the data set.');
  });
});

const FORM = {
  siteName: 'Frobozz Electric',
  siteUrl: 'https://shop.example.com',
  senderName: 'Frobozz News',
  senderAddress: 'newsletter@localhost',
  replyTo: '',
  postalAddress: '12 Flathead Row\nPort Foozle',
  timeZone: 'Europe/Amsterdam',
  openTracking: 'on',
  clickTracking: 'on',
  attributionWindowDays: '7',
  retentionDays: '400',
};

for (const dialect of testDialects()) {
  describe(`networks in Settings [${dialect}]`, () => {
    let server: RunningServer;
    let admin: string;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-srv-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { SECRET: TEST_SECRET, TRUST_PROXY: '1' },
      });
      admin = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'root@example.com', 'admin'),
      );
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    const storedOverrides = () =>
      withDatabase(server.databaseUrl, (db) =>
        db.selectFrom('settings').select('value').where('key', '=', 'networkOverrides').executeTakeFirst(),
      );
    const lookUp = async (address: string) => {
      const page = await request(server, `/admin/settings?address=${encodeURIComponent(address)}`, { cookie: admin });
      expect(page.status).toBe(200);
      const answer = /<dl class="network-answer"[^>]*>([\s\S]*?)<\/dl>/.exec(page.text)?.[1] ?? '';
      return answer
        .replace(/<[^>]+>/g, ' ')
        .replace(/&amp;/g, '&')
        .replace(/\s+/g, ' ')
        .trim();
    };

    it('a bad network, AS number or role is refused naming its line; nothing is saved', async () => {
      const text = [
        '# our networks',
        '198.51.100.0/24 security_gateway Our filter',
        '10.0.0.0/33 cloud',
        'AS99999999999 access',
        '2001:db8::/48 gateway',
        '8.8.8.8',
      ].join('\n');
      const bad = await postForm(
        server,
        '/admin/settings',
        'settings.save',
        { ...FORM, siteName: 'Changed', networkOverrides: text },
        { cookie: admin },
      );
      expect(bad.status).toBe(400);
      const error = /id="field-networkOverrides-error">([^<]*)</.exec(bad.text)?.[1];
      expect(error).toContain('Line 3: “10.0.0.0/33” has a prefix length over 32, the most an IPv4 network can have.');
      expect(error).toContain('Line 4: “AS99999999999” is not an AS number (1 to 4294967295).');
      expect(error).toContain(
        'Line 5: “gateway” is not a role; use one of security_gateway, cloud, mail_proxy, apple, web_proxy, access, private.',
      );
      expect(error).toContain('Line 6: give a role after “8.8.8.8”');
      expect(error).toContain('Nothing was saved.');
      expect(bad.text).toContain('10.0.0.0/33 cloud'); // what was typed stays in the form
      expect(await storedOverrides()).toBeUndefined();
      expect(
        await withDatabase(server.databaseUrl, (db) =>
          db.selectFrom('settings').select('key').where('key', '=', 'siteName').executeTakeFirst(),
        ),
      ).toBeUndefined();
      expect(await lookUp('198.51.100.7')).toContain('Role private or reserved');
    });

    it('saved networks apply to lookups at once, without a restart; the page shows what an address resolves to', async () => {
      expect(await lookUp('40.107.218.12')).toBe(
        'Address 40.107.218.12 Owner AS8075 Microsoft Corporation Role mail security gateway (Microsoft Exchange Online Protection) From Footfall’s reviewed table of networks',
      );
      const text = [
        '# our networks',
        '198.51.100.0/24 security_gateway Our filter',
        'AS8075 access Microsoft is our office',
        '2001:db8:1::/48 web_proxy Lab proxy',
      ].join('\n');
      const saved = await postForm(
        server,
        '/admin/settings',
        'settings.save',
        { ...FORM, networkOverrides: text },
        { cookie: admin },
      );
      expect(saved.status).toBe(303); // post/redirect/get, as every settings save
      expect(saved.location).toBe('/admin/settings');
      expect(JSON.parse((await storedOverrides())!.value)).toBe(text);
      expect(await lookUp('198.51.100.7')).toBe(
        'Address 198.51.100.7 Owner not in the data set Role mail security gateway (Our filter) From your networks, above',
      );
      expect(await lookUp('40.107.218.12')).toBe(
        'Address 40.107.218.12 Owner AS8075 Microsoft Corporation Role access network (homes, offices, mobile) (Microsoft is our office) From your networks, above',
      );
      expect(await lookUp('2001:db8:1::5')).toContain('Role web security gateway or relay (Lab proxy)');
      expect(await lookUp('::ffff:10.0.0.1')).toBe(
        'Address ::ffff:10.0.0.1 Owner private network (RFC 1918) Role private or reserved From a reserved range: no one’s public network',
      );
      expect(await lookUp('not an address')).toContain('Owner not an IP address');
      const page = await request(server, '/admin/settings', { cookie: admin });
      expect(page.text).toContain('AS8075 access Microsoft is our office');
      expect(page.text).toMatch(/<a href="https:\/\/db-ip.com"[^>]*>IP Geolocation by DB-IP<\/a>/);
    });

    it('an issue report naming the networks of machine hits credits DB-IP, as its licence asks', async () => {
      const { issueId, deliveryId } = await withDb(server.databaseUrl, async (db) => {
        const sentAt = Date.now() - 60_000;
        const issue = await seedIssue(db, server.url, sentAt);
        await db.updateTable('sends').set({ started_at: sentAt }).where('issue_id', '=', issue.issueId).execute();
        return { issueId: issue.issueId, ...(await seedDelivery(db, issue.issueId, sentAt)) };
      });
      // Barracuda's mail filter (AS15324) fetches the pixel as the message arrives.
      const scan = await fetch(openUrl(server.url, deliveryId), {
        headers: { 'user-agent': 'Mozilla/5.0', 'x-forwarded-for': '64.235.150.10' },
      });
      expect(scan.status).toBe(200);
      const marketer = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, `m${issueId}@example.com`, 'marketer'),
      );
      const report = await request(server, `/admin/issues/${issueId}/report`, { cookie: marketer });
      expect(report.status).toBe(200);
      const owners = /<details class="machine-owners"[^>]*>([\s\S]*?)<\/details>/.exec(report.text)?.[1] ?? '';
      expect(owners).toContain('Barracuda (AS15324)');
      expect(owners).toMatch(/<a href="https:\/\/db-ip.com"[^>]*>IP Geolocation by DB-IP<\/a>/);
    });
  });
}
