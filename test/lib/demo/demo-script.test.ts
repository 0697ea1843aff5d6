import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '#lib/auth/password.ts';
import { withDatabase } from '../../helpers/accounts.ts';
import { projectRoot } from '../../helpers/server.ts';

const run = promisify(execFile);

describe('npm run demo (scripts/demo.ts)', () => {
  let dataDir: string;
  const demoDb = () => `sqlite:${path.join(dataDir, 'demo.db')}`;
  const args = ['--no-serve', '--subscribers', '50', '--weeks', '1', '--issues', '2'];

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-demo-script-'));
  });

  const script = async (extra: string[]) => {
    const env = {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${path.join(dataDir, 'footfall.db')}`,
      SMTP_URL: 'smtp://127.0.0.1:9',
    };
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(projectRoot, 'scripts/demo.ts'), ...extra], {
        cwd: projectRoot,
        env,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const logins = (stdout: string) =>
    Object.fromEntries(
      [...stdout.matchAll(/^\s+(admin|marketer)\s+(\S+)\s+(\S+)$/gm)].map((m) => [
        m[1]!,
        { email: m[2]!, password: m[3]! },
      ]),
    );
  const passwordWorks = (email: string, password: string) =>
    withDatabase(demoDb(), async (db) =>
      verifyPassword(
        (await db.selectFrom('users').select('password_hash').where('email', '=', email).executeTakeFirstOrThrow())
          .password_hash!,
        password,
      ),
    );
  const issueIds = () =>
    withDatabase(demoDb(), (db) => db.selectFrom('issues').select(['id', 'subject']).orderBy('id').execute());
  /** When the history began (ms): the staff accounts date from a fixed time before it. */
  const madeAt = () =>
    withDatabase(demoDb(), async (db) =>
      Number((await db.selectFrom('users').select('created_at').orderBy('id').executeTakeFirstOrThrow()).created_at),
    );

  it('makes data/demo.db and prints working logins; a second run reuses it with new passwords; --fresh makes it again; the real database is never touched', async () => {
    const first = await script(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('DATABASE_URL is ignored');
    expect(first.stdout).toMatch(/made .*demo\.db/);
    expect(first.stdout).toContain('/admin/login');
    const made = logins(first.stdout);
    expect(Object.keys(made)).toEqual(['admin', 'marketer']);
    expect(await passwordWorks(made.admin!.email, made.admin!.password)).toBe(true);
    const issues = await issueIds();
    expect(issues).toHaveLength(2);
    const history = await madeAt();

    const second = await script(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('reusing');
    expect(await issueIds()).toEqual(issues);
    expect(await madeAt()).toBe(history);
    const renewed = logins(second.stdout);
    expect(renewed.admin!.password).not.toBe(made.admin!.password);
    expect(await passwordWorks(renewed.admin!.email, renewed.admin!.password)).toBe(true);
    expect(await passwordWorks(made.admin!.email, made.admin!.password)).toBe(false);

    const fresh = await script([...args, '--fresh']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toMatch(/made .*demo\.db/);
    expect(await madeAt()).toBeGreaterThan(history);
    expect(await passwordWorks(made.admin!.email, renewed.admin!.password)).toBe(false);
    expect(await passwordWorks(made.admin!.email, logins(fresh.stdout).admin!.password)).toBe(true);

    expect(existsSync(path.join(dataDir, 'footfall.db'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'demo.db.partial'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'demo', 'outbox'))).toBe(false); // the history sent nothing anywhere
  }, 60_000);

  it('refuses bad arguments with the usage, making nothing', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-demo-script-'));
    const bad = [['--weeks', '0'], ['--subscribers', 'lots'], ['--issues', '9'], ['--weeks', '2.5'], ['--shiny']];
    const results = await Promise.all(bad.map((args) => script(['--no-serve', ...args])));
    results.forEach((result, i) => {
      expect(result.code, bad[i]!.join(' ')).toBe(1);
      expect(result.stderr).toContain('usage: npm run demo');
    });
    expect(results[0]!.stderr).toContain('--weeks must be a whole number from 1 to 52 (got "0")');
    expect(existsSync(path.join(dataDir, 'demo.db'))).toBe(false);
  });
});
