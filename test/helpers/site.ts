import { readdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './server.ts';
import { currentBuild } from '../../src/lib/build/site-builds.ts';

/** The current build's client folder (test/helpers/global-setup.ts built it). */
export function builtClientDir(): string {
  const build = currentBuild(projectRoot);
  if (!build) throw new Error('no build under dist/: run npm run build');
  return build.clientDir;
}

/** Paths of the built (prerendered) article pages, e.g. "/articles/choosing-a-widget/". */
export function builtArticlePaths(): string[] {
  const dir = path.join(builtClientDir(), 'articles');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `/articles/${d.name}/`);
}
