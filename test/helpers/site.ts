import { readdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './server.ts';

/** Paths of the built (prerendered) article pages, e.g. "/articles/choosing-a-widget/". */
export function builtArticlePaths(): string[] {
  const dir = path.join(projectRoot, 'dist/client/articles');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `/articles/${d.name}/`);
}
