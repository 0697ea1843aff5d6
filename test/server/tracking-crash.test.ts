import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { openUrl, seedDelivery, seedIssue, TEST_SECRET, withDb } from '../helpers/tracking.ts';
import { countRows } from '../helpers/rows.ts';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

function get(url: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { 'user-agent': chrome } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
  });
}

for (const dialect of testDialects()) {
  describe(`kill -9 during a pixel burst [${dialect}]`, () => {
    it('every pixel answered 200 is an open in the database after restart', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-pxcrash-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      try {
        const env = { SECRET: TEST_SECRET, SEND_WORKER: '0' };
        let server = await startServer({ dataDir: dir, databaseUrl: db.url, env });
        const { deliveryId } = await withDb(db.url, async (d) =>
          seedDelivery(d, (await seedIssue(d, server.url)).issueId, Date.now() - 3_600_000),
        );
        const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
        let acknowledged = 0;
        let stop = false;
        const url = openUrl(server.url, deliveryId);
        const worker = async () => {
          while (!stop) if ((await get(url, agent)) === 200) acknowledged++;
        };
        const workers = Array.from({ length: 64 }, worker);
        await new Promise((r) => setTimeout(r, 500));
        await server.kill();
        stop = true;
        await Promise.all(workers);
        agent.destroy();
        server = await startServer({ dataDir: dir, databaseUrl: db.url, env });
        const stored = await withDb(db.url, (d) => countRows(d, 'opens'));
        await server.stop();
        expect(acknowledged).toBeGreaterThan(50);
        expect(stored).toBeGreaterThanOrEqual(acknowledged);
      } finally {
        await db.drop();
      }
    });
  });
}
