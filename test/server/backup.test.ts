import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import autocannon from 'autocannon';
import { projectRoot, startServer } from '../helpers/server.ts';
import { builtArticlePaths } from '../helpers/site.ts';

const run = promisify(execFile);

describe('db:backup under write load [sqlite]', () => {
  it('writes a copy that passes integrity_check and that the server starts on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'footfall-backup-'));
    const server = await startServer({ dataDir: dir });
    const article = builtArticlePaths()[0]!;
    const copy = path.join(dir, 'copies', 'footfall-copy.db');
    try {
      const load = autocannon({
        url: `${server.url}${article}?utm_campaign=during-backup`,
        connections: 20,
        duration: 3,
        headers: { 'user-agent': 'Mozilla/5.0 Firefox/133.0' },
      });
      await new Promise((r) => setTimeout(r, 1000));
      const { stdout } = await run('npm', ['run', '-s', 'db:backup', '--', copy], {
        cwd: projectRoot,
        env: { ...process.env, DATA_DIR: dir, DATABASE_URL: server.databaseUrl },
      });
      expect(stdout).toMatch(/integrity ok/);
      const result = await load;
      expect(result['2xx']).toBeGreaterThan(100);

      const sqlite = new BetterSqlite3(copy, { readonly: true });
      expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      const copied = Number(sqlite.prepare('select count(*) from page_views').pluck().get());
      sqlite.close();
      expect(copied).toBeGreaterThan(0);

      const restored = await startServer({
        dataDir: mkdtempSync(path.join(tmpdir(), 'footfall-restored-')),
        databaseUrl: `sqlite:${copy}`,
      });
      const health = await fetch(`${restored.url}/healthz`);
      expect(health.status).toBe(200);
      await restored.stop();
    } finally {
      await server.stop();
    }
  });

  it('refuses to overwrite an existing file and explains PostgreSQL', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'footfall-backup2-'));
    const server = await startServer({ dataDir: dir });
    await server.stop();
    const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: server.databaseUrl };
    await expect(
      run('npm', ['run', '-s', 'db:backup', '--', server.databaseUrl.slice('sqlite:'.length)], {
        cwd: projectRoot,
        env,
      }),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/another file|exists/) });
    await expect(
      run('npm', ['run', '-s', 'db:backup', '--', path.join(dir, 'x.db')], {
        cwd: projectRoot,
        env: { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1/none' },
      }),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/pg_dump/) });
  });

  it('the database, its -wal and -shm, the secret, the outbox and backups are their owner’s alone (600, folders 700); a database left readable is tightened at start', async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'footfall-modes-')), 'data');
    const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
    const server = await startServer({ dataDir });
    try {
      // A write: a signup, whose confirmation goes to the outbox (no SMTP here), and a page view.
      const signup = await fetch(`${server.url}/subscribe?_action=subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: 'email=modes%40example.com',
      });
      expect(signup.status).toBe(200);
      expect(
        (await fetch(server.url + builtArticlePaths()[0]!, { headers: { 'user-agent': 'Mozilla/5.0 Firefox/133.0' } }))
          .status,
      ).toBe(200);
      const db = path.join(dataDir, 'footfall.db');
      for (const file of [db, `${db}-wal`, `${db}-shm`, path.join(dataDir, 'secret')])
        expect(mode(file), file).toBe('600');
      expect(mode(dataDir)).toBe('700');
      const outbox = path.join(dataDir, 'outbox');
      const mails = readdirSync(outbox);
      expect(mails.length).toBeGreaterThan(0);
      for (const mail of mails) expect(mode(path.join(outbox, mail)), mail).toBe('600');
      expect(mode(outbox)).toBe('700');

      const copy = path.join(path.dirname(dataDir), 'copies', 'nightly.db');
      await run('npm', ['run', '-s', 'db:backup', '--', copy], {
        cwd: projectRoot,
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: server.databaseUrl },
      });
      expect(mode(copy)).toBe('600');
      expect(mode(path.dirname(copy))).toBe('700');
    } finally {
      await server.stop();
    }

    // A database someone made readable to all (or an older version left so): private again at the next start.
    const db = path.join(dataDir, 'footfall.db');
    chmodSync(db, 0o644);
    const again = await startServer({ dataDir });
    try {
      expect(mode(db)).toBe('600');
      expect(again.output()).toContain('[db] made footfall.db readable by its owner only (mode 600)');
    } finally {
      await again.stop();
    }
  });
});
