import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { projectRoot } from '../helpers/server.ts';
import { withDatabase } from '../helpers/accounts.ts';
import { authenticateApiKey } from '../../src/lib/auth/api-keys.service.ts';
import { verifyPassword } from '../../src/lib/auth/password.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { phoneHash } from '../../src/lib/phone/phone-hash.ts';

const CLI_SECRET = 'cli-test-server-secret-0123456789abcdef';

const run = promisify(execFile);

describe('npm run user:add / apikey:add', () => {
  let dataDir: string;
  let databaseUrl: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-cli-'));
    databaseUrl = `sqlite:${path.join(dataDir, 'footfall.db')}`;
  });

  const script = async (name: string, args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(projectRoot, 'scripts', name), ...args], {
        cwd: projectRoot,
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('user:add creates an active account (exit 0); a duplicate email, a weak password or an unknown role exit 1 with the reason', async () => {
    const ok = await script('user-add.ts', [
      '--email',
      'Ops@Example.com',
      '--password',
      'a long passphrase here',
      '--role',
      'admin',
      '--name',
      'Ops',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('created admin ops@example.com (Ops)');
    const row = await withDatabase(databaseUrl, (db) => db.selectFrom('users').selectAll().executeTakeFirstOrThrow());
    expect(row).toMatchObject({ email: 'ops@example.com', role: 'admin', status: 'active' });
    expect(await verifyPassword(row.password_hash!, 'a long passphrase here')).toBe(true);

    const duplicate = await script('user-add.ts', [
      '--email',
      'ops@example.com',
      '--password',
      'another long passphrase',
      '--role',
      'writer',
    ]);
    expect(duplicate).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('An account with this email address exists already.'),
    });
    const weak = await script('user-add.ts', [
      '--email',
      'new@example.com',
      '--password',
      'password',
      '--role',
      'writer',
    ]);
    expect(weak).toMatchObject({ code: 1, stderr: expect.stringContaining('too short') });
    const role = await script('user-add.ts', [
      '--email',
      'new@example.com',
      '--password',
      'a long passphrase here',
      '--role',
      'owner',
    ]);
    expect(role).toMatchObject({ code: 1, stderr: expect.stringContaining('Unknown role "owner"') });
    const missing = await script('user-add.ts', ['--email', 'new@example.com']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('usage: npm run user:add') });
    expect(await withDatabase(databaseUrl, (db) => db.selectFrom('users').select('email').execute())).toHaveLength(1);
  });

  it('apikey:add prints the key once; it authenticates with its role', async () => {
    const created = await script('apikey-add.ts', ['--role', 'marketer', '--name', 'CRM sync']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^ffk_[a-z2-7]{32}$/);
    expect(created.stderr).toContain('shown once');
    expect(await withDatabase(databaseUrl, (db) => authenticateApiKey(db, `Bearer ${key}`))).toMatchObject({
      name: 'CRM sync',
      role: 'marketer',
    });
    expect(await script('apikey-add.ts', ['--role', 'root', '--name', 'x'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Unknown role "root"'),
    });
  });
  it('run first on a database from an earlier version, user:add and apikey:add upgrade it as the server would: the called numbers are hashed', async () => {
    for (const [name, args] of [
      ['user-add.ts', ['--email', 'first@example.com', '--password', 'a long passphrase here', '--role', 'writer']],
      ['apikey-add.ts', ['--role', 'marketer', '--name', 'first thing run']],
    ] as const) {
      const earlierDir = mkdtempSync(path.join(tmpdir(), 'footfall-cli-earlier-'));
      const earlierUrl = `sqlite:${path.join(earlierDir, 'footfall.db')}`;
      // An earlier Footfall's database: migrated, a call with the called number still in plain.
      await withDatabase(earlierUrl, async (db) => {
        await migrateToLatest(db);
        await sql`insert into offline_events (kind, at, recorded_at, source, client_id, to_number) values ('call', ${1_800_000_000_000}, ${1_800_000_000_000}, 'webhook', 'webhook:cli', '+441632960104')`.execute(
          db,
        );
      });
      const ran = await run(process.execPath, [path.join(projectRoot, 'scripts', name), ...args], {
        cwd: projectRoot,
        env: { ...process.env, DATA_DIR: earlierDir, DATABASE_URL: earlierUrl, SECRET: CLI_SECRET },
      });
      expect(ran.stderr + ran.stdout).toContain('created');
      const row = await withDatabase(earlierUrl, (db) =>
        db.selectFrom('offline_events').selectAll().executeTakeFirstOrThrow(),
      );
      expect(row.to_hash, name).toBe(phoneHash(CLI_SECRET, '+441632960104'));
      expect('to_number' in row, name).toBe(false);
    }
  });
});
