import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The project's layers, read from the source's own imports: routes (src/pages, src/actions)
 * call services, never a repository or the database module; domain code (src/lib) takes plain
 * values and never imports Astro, the HTTP edge (src/web), routes, the site build or the demo.
 */
const root = path.resolve(import.meta.dirname, '../..');

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|astro|mjs|js)$/.test(entry.name))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

/** Every module a file imports (static, dynamic, type-only), as a path from the repository root when relative. */
export function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
    const spec = match[1]!;
    found.push(spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : spec);
  }
  return found;
}

const isRepositoryOrDb = (target: string) => target.endsWith('.repository.ts') || target.startsWith('src/lib/db/');

/**
 * Imports allowed for now, each with the move that removes it. A listed import that is gone
 * fails the test too, so the list only shrinks.
 */
const PENDING: Record<string, string> = {};

function violations(folders: string[], broken: (target: string) => boolean): string[] {
  return folders.flatMap((folder) =>
    sourceFiles(folder).flatMap((file) =>
      importsOf(file)
        .filter(broken)
        .map((target) => `${file} -> ${target}`),
    ),
  );
}

describe('layers', () => {
  it('sees the imports it checks (a service importing a repository is found)', () => {
    expect(importsOf('src/pages/healthz.ts')).toContain('src/lib/app/health.service.ts');
    expect(importsOf('src/lib/sending/send.service.ts').some(isRepositoryOrDb)).toBe(true);
  });

  it('routes under src/pages and src/actions import no repository and not lib/db', () => {
    const found = violations(['src/pages', 'src/actions'], isRepositoryOrDb);
    expect(found.filter((v) => !(v in PENDING))).toEqual([]);
    expect(
      Object.keys(PENDING).filter((v) => !found.includes(v)),
      'a pending exception no longer applies: remove it',
    ).toEqual([]);
  });

  it('domain code under src/lib imports no Astro, HTTP edge, route, site build or demo', () => {
    const outside = (target: string) =>
      target.startsWith('astro') ||
      /^src\/(web|pages|actions|site|demo|admin)\//.test(target) ||
      target === 'src/middleware.ts' ||
      target === 'src/server.ts';
    expect(violations(['src/lib'], outside)).toEqual([]);
  });

  it('config.ts imports nothing of the domain: only text helpers that import nothing themselves', () => {
    const own = importsOf('src/lib/config.ts').filter((target) => target.startsWith('src/'));
    expect(own.filter((target) => !target.startsWith('src/lib/text/'))).toEqual([]);
    for (const helper of own)
      expect(
        importsOf(helper).filter((target) => target.startsWith('src/')),
        helper,
      ).toEqual([]);
  });
});
