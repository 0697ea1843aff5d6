import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startServer, type RunningServer } from '../helpers/server.ts';

const run = promisify(execFile);

/**
 * `npm start` builds, then serves. In a checkout where a server already runs (a second instance,
 * a restart beside a running worker, a test run) the build must not take that server's files
 * away. Run in a copy of the project (node_modules linked), so its dist/ is this test's alone.
 */
describe('npm start beside a running server', () => {
  let checkout: string;
  const servers: RunningServer[] = [];

  beforeAll(() => {
    checkout = mkdtempSync(path.join(tmpdir(), 'footfall-checkout-'));
    for (const entry of [
      'src',
      'content',
      'public',
      'emails',
      'db',
      'scripts',
      'astro.config.mjs',
      'tsconfig.json',
      'package.json',
      'package-lock.json',
    ]) {
      cpSync(path.join(projectRoot, entry), path.join(checkout, entry), { recursive: true });
    }
    symlinkSync(path.join(projectRoot, 'node_modules'), path.join(checkout, 'node_modules'));
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
  });

  const build = async () =>
    (await run('npm', ['run', '-s', 'build'], { cwd: checkout, env: { ...process.env, NODE_ENV: 'production' } }))
      .stdout;
  const currentId = () =>
    (JSON.parse(readFileSync(path.join(checkout, 'dist', 'current.json'), 'utf8')) as { id: string }).id;
  const builds = () =>
    readdirSync(path.join(checkout, 'dist'))
      .filter((name) => /^\d{8}T/.test(name))
      .sort();
  const get = async (server: RunningServer, pathname: string) => {
    const answer = await fetch(server.url + pathname, { redirect: 'manual' });
    return { status: answer.status, text: await answer.text() };
  };

  it('a fresh clone builds on its first start; the next start finds the sources unchanged and builds nothing', async () => {
    expect(existsSync(path.join(checkout, 'dist'))).toBe(false);
    expect(await build()).toMatch(/\[build\] dist\/\S+ is current/);
    const first = currentId();
    expect(await build()).toContain(`[build] dist/${first} is up to date (sources unchanged)`);
    expect(currentId()).toBe(first);
    expect(builds()).toEqual([first]);
  }, 120_000);

  it('a build after the sources changed leaves the running server its files: it answers every page and asset; a second server runs the new build; unused builds go', async () => {
    const oldBuild = currentId();
    const a = await startServer({ root: checkout });
    servers.push(a);
    expect(a.output()).toContain(`build ${oldBuild}`);
    const home = await get(a, '/');
    expect(home.status).toBe(200);
    const assets = [...new Set([...home.text.matchAll(/(?:href|src)="(\/_astro\/[^"]+)"/g)].map((m) => m[1]!))];
    expect(assets.length).toBeGreaterThan(0);

    // The sources change (a `git pull`), and `npm start` is run again in the same checkout.
    const article = readdirSync(path.join(checkout, 'content', 'articles')).find((f) => f.endsWith('.md'))!;
    const slug = article.replace(/\.md$/, '');
    const articleFile = path.join(checkout, 'content', 'articles', article);
    writeFileSync(articleFile, readFileSync(articleFile, 'utf8') + '\n\nA paragraph added after the first build.\n');
    expect(await build()).toMatch(/is current/);
    const newBuild = currentId();
    expect(newBuild).not.toBe(oldBuild);
    expect(builds()).toEqual([oldBuild, newBuild].sort()); // the running server's folder is kept

    // The first server answers pages it had not loaded yet (Astro loads page modules lazily) and its assets.
    for (const pathname of [
      '/subscribe',
      '/admin/login',
      '/admin/forgot',
      '/newsletter/',
      '/tags/',
      '/rss.xml',
      '/healthz',
      `/articles/${slug}/`,
      ...assets,
    ]) {
      const answer = await get(a, pathname);
      expect(answer.status, `${pathname} from the running server`).toBeLessThan(400);
    }
    expect((await get(a, `/articles/${slug}/`)).text).not.toContain('A paragraph added after the first build.');
    expect(a.output()).not.toMatch(/Could not render|Cannot find module|ENOENT|failed/);

    // A second server from the same checkout runs the new build, beside the first.
    const b = await startServer({ root: checkout });
    servers.push(b);
    expect(b.output()).toContain(`build ${newBuild}`);
    expect((await get(b, `/articles/${slug}/`)).text).toContain('A paragraph added after the first build.');
    expect((await get(a, '/subscribe')).status).toBe(200);

    // Once the first server is gone, the next build removes its folder; the second server's stays.
    await a.stop();
    writeFileSync(articleFile, readFileSync(articleFile, 'utf8') + '\nAnd another.\n');
    expect(await build()).toMatch(/is current/);
    const newest = currentId();
    expect(builds()).toEqual([newBuild, newest].sort());
    for (const pathname of ['/admin/setup', '/newsletter/rss.xml', `/articles/${slug}/`]) {
      expect((await get(b, pathname)).status, `${pathname} from the second server`).toBeLessThan(500);
    }
  }, 180_000);
});
