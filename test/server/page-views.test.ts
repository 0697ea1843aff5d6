import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import autocannon from 'autocannon';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { builtArticlePaths } from '../helpers/site.ts';
import { pageViewsIn } from '../helpers/rows.ts';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

for (const dialect of testDialects()) {
  describe(`page views through the real server [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let article: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-pv-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({ dataDir: dir, databaseUrl: db.url });
      article = builtArticlePaths()[0]!;
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('serves /healthz with the database reachable', async () => {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: 'ok',
        database: { dialect, reachable: true },
        sending: { status: 'ok', workers: [] },
      });
    });

    it('counts a prerendered article view with its UTM fields, and not HEAD or assets', async () => {
      const before = (await pageViewsIn(server.databaseUrl)).length;
      const res = await fetch(
        `${server.url}${article}?utm_source=newsletter&utm_medium=email&utm_campaign=first-light&utm_content=2`,
        { headers: { 'user-agent': chrome } },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('<main');
      await fetch(`${server.url}${article}`, { method: 'HEAD', headers: { 'user-agent': chrome } });
      await fetch(`${server.url}/healthz`);
      const rows = await pageViewsIn(server.databaseUrl);
      expect(rows.length).toBe(before + 1);
      expect(rows.at(-1)).toEqual({ path: article, utm_campaign: 'first-light', utm_content: '2', is_bot: 0 });
    });

    it('500 concurrent requests from a load generator → exactly 500 rows', async () => {
      const before = (await pageViewsIn(server.databaseUrl)).length;
      const result = await autocannon({
        url: `${server.url}${article}?utm_campaign=load`,
        connections: 100,
        amount: 500,
        headers: { 'user-agent': chrome },
      });
      expect(result['2xx']).toBe(500);
      expect(result.non2xx).toBe(0);
      const rows = await pageViewsIn(server.databaseUrl);
      expect(rows.length - before).toBe(500);
      expect(rows.slice(before).every((r) => r.utm_campaign === 'load')).toBe(true);
    });

    it('hostile requests are answered and never stop the writer', async () => {
      const before = (await pageViewsIn(server.databaseUrl)).length;
      const long = await fetch(`${server.url}${article}?utm_campaign=${'x'.repeat(10_000)}`, {
        headers: { 'user-agent': chrome },
      });
      expect(long.status).toBe(200);
      const badUtf8 = await fetch(`${server.url}/articles/%FF%FE/`);
      expect([400, 404]).toContain(badUtf8.status);
      const nul = await fetch(`${server.url}${article}?utm_source=%00%00`, { headers: { 'user-agent': chrome } });
      expect(nul.status).toBe(200);
      const noAgent = await fetch(`${server.url}${article}`, { headers: { 'user-agent': '' } });
      expect(noAgent.status).toBe(200);
      const after = await fetch(`${server.url}${article}?utm_campaign=still-alive`, {
        headers: { 'user-agent': chrome },
      });
      expect(after.status).toBe(200);
      const rows = (await pageViewsIn(server.databaseUrl)).slice(before);
      expect(rows).toHaveLength(4);
      expect(rows[0]!.utm_campaign).toHaveLength(200);
      expect(rows[2]!.is_bot).toBe(1);
      expect(rows[3]!.utm_campaign).toBe('still-alive');
    });

    it('answers a friendly 404 page for unknown paths', async () => {
      const res = await fetch(`${server.url}/no-such-page`, { headers: { 'user-agent': chrome } });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
    });

    it('/t/ is answered before Astro: the pixel for any token, never counted as a page view', async () => {
      const res = await fetch(`${server.url}/t/o/anything`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(res.headers.get('cache-control')).toMatch(/no-store/);
    });
  });
}
