import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';

async function digestFlag(server: RunningServer, userId: number): Promise<number> {
  return withDatabase(server.databaseUrl, async (db) =>
    Number(
      (await db.selectFrom('users').select('weekly_digest').where('id', '=', userId).executeTakeFirstOrThrow())
        .weekly_digest,
    ),
  );
}

/** The account page's digest switch, the preview and the stop link, over HTTP against the real server. */
for (const dialect of testDialects()) {
  describe(`weekly digest over HTTP [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let marketer: number;
    let writer: number;
    let asMarketer: string;
    let asWriter: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-digest-http-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { PORT: String(await freePort()), SEND_WORKER: '0' },
      });
      marketer = await addAccount(server.databaseUrl, 'mara@example.com', 'marketer');
      writer = await addAccount(server.databaseUrl, 'wes@example.com', 'writer');
      asMarketer = await sessionCookie(server.databaseUrl, marketer);
      asWriter = await sessionCookie(server.databaseUrl, writer);
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('off by default; a marketer turns it on from the account page; a made-up choice is refused with a sentence and changes nothing', async () => {
      const page = await request(server, '/admin/account', { cookie: asMarketer });
      expect(page.status).toBe(200);
      expect(page.text).toContain('Weekly digest');
      expect(page.text).toMatch(/value="off" checked/);
      expect(await digestFlag(server, marketer)).toBe(0);

      const on = await postForm(
        server,
        '/admin/account',
        'digest.choose',
        { weeklyDigest: 'on' },
        { cookie: asMarketer },
      );
      expect(on.status).toBe(200);
      expect(on.text).toContain('You will get the weekly digest.');
      expect(on.text).toMatch(/value="on" checked/);
      expect(await digestFlag(server, marketer)).toBe(1);

      const bad = await postForm(
        server,
        '/admin/account',
        'digest.choose',
        { weeklyDigest: 'maybe' },
        { cookie: asMarketer },
      );
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('Choose whether to get the weekly digest: on or off.');
      expect(await digestFlag(server, marketer)).toBe(1);
    });

    it('a writer sees no switch and cannot turn it on', async () => {
      const page = await request(server, '/admin/account', { cookie: asWriter });
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('Weekly digest');
      const refused = await postForm(
        server,
        '/admin/account',
        'digest.choose',
        { weeklyDigest: 'on' },
        { cookie: asWriter },
      );
      expect(refused.status).toBe(403);
      expect(await digestFlag(server, writer)).toBe(0);
      expect((await request(server, '/admin/digest', { cookie: asWriter })).status).toBe(403);
    });

    it('the preview shows this week’s digest; its stop link asks first (a GET changes nothing) and turns it off without signing in', async () => {
      const preview = await request(server, '/admin/digest', { cookie: asMarketer });
      expect(preview.status).toBe(200);
      expect(preview.text).toContain('weekly digest: no issue went out last week');
      const token = /\/digest\/stop\/([\w.-]+)/.exec(preview.text)![1]!;

      const ask = await request(server, `/digest/stop/${token}`);
      expect(ask.status).toBe(200);
      expect(ask.text).toContain('Stop the weekly digest?');
      expect(await digestFlag(server, marketer)).toBe(1);

      const stopped = await postForm(server, `/digest/stop/${token}`, 'digest.stop', { token });
      expect(stopped.status).toBe(200);
      expect(stopped.text).toContain('The weekly digest is off');
      expect(await digestFlag(server, marketer)).toBe(0);

      const tampered = await request(server, `/digest/stop/${token.slice(0, -2)}xx`);
      expect(tampered.status).toBe(400);
      expect(tampered.text).toContain('This link does not work');
      const forged = await postForm(server, `/digest/stop/x`, 'digest.stop', { token: `${token.slice(0, -2)}xx` });
      expect(forged.status).toBe(400);
    });
  });
}
