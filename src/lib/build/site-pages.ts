import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The paths of a build's prerendered pages, read from its client folder, so a process without
 * Astro (the server entry, the send worker) knows which pages the site has:
 * client/index.html → /, client/articles/x/index.html → /articles/x, client/404.html → /404.
 */
export function builtPagePaths(clientDir: string): Set<string> {
  const paths = new Set<string>();
  for (const entry of readdirSync(clientDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.html')) continue;
    const relative = path.relative(clientDir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    const page = relative === 'index.html' ? '' : relative.replace(/\/index\.html$/, '').replace(/\.html$/, '');
    paths.add(`/${page}`);
  }
  return paths;
}
