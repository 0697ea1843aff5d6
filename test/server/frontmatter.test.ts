import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../helpers/server.ts';

const run = promisify(execFile);

/** A scratch copy of the content setup (config and what it imports, schema), with one article of our choosing. */
function scratchProject(article: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-content-'));
  mkdirSync(path.join(dir, 'src/web'), { recursive: true });
  mkdirSync(path.join(dir, 'content/articles'), { recursive: true });
  symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  for (const f of ['astro.config.mjs', 'package.json', 'tsconfig.json', 'src/content.config.ts'])
    copyFileSync(path.join(projectRoot, f), path.join(dir, f));
  cpSync(path.join(projectRoot, 'src/web/http'), path.join(dir, 'src/web/http'), { recursive: true }); // the body limits and security headers astro.config.mjs reads
  writeFileSync(path.join(dir, 'content/articles/broken-widget.md'), article);
  return dir;
}

async function sync(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(dir, 'node_modules/astro/bin/astro.mjs'), 'sync'],
      { cwd: dir, env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' } },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('article frontmatter', () => {
  it('a broken field fails the build naming the file and the field', async () => {
    const result = await sync(
      scratchProject('---\ntitle: Broken\ndescription: A widget\npubDate: next tuesday\nauthor: Otto\n---\nBody\n'),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('broken-widget');
    expect(result.output).toMatch(/pubDate[\s\S]*must be a date/);
  }, 60_000);

  it('a missing required field is named too', async () => {
    const result = await sync(
      scratchProject('---\ndescription: A widget\npubDate: 2026-05-01\nauthor: Otto\n---\nBody\n'),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('broken-widget');
    expect(result.output).toContain('title');
  }, 60_000);
});
