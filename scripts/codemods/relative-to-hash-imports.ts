/**
 * Rewrites deep relative imports (three or more `../`) to the package's own import aliases
 * (`package.json#imports`, e.g. `#lib/*` → `./src/lib/*`), so a file's imports do not change
 * when the file moves and nobody counts dots. Shallow imports (`./x.ts`, `../x.ts`, `../../x.ts`)
 * stay: they name a neighbour. Safe to re-run after merges: it touches only what still climbs.
 *
 *   npm run codemod:hash-imports            rewrite in place, print a count per alias
 *   npm run codemod:hash-imports -- --check list what would change, exit 1 if anything would
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MIN_CLIMB = 3;
const root = path.resolve(import.meta.dirname, '../..');
const check = process.argv.includes('--check');

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { imports?: Record<string, string> };
/** `#lib/` with the folder it stands for (`/abs/src/lib/`), longest folder first so nested aliases win. */
const aliases = Object.entries(pkg.imports ?? {})
  .filter(([alias, target]) => alias.endsWith('/*') && target.endsWith('/*'))
  .map(([alias, target]) => ({ prefix: alias.slice(0, -1), dir: path.resolve(root, target.slice(0, -1)) + path.sep }))
  .sort((a, b) => b.dir.length - a.dir.length);

/** A module specifier in `from '…'`, `import '…'`, `import('…')` or `export … from '…'`. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])((?:\.\.\/){3,}[^'"]*)\2/g;

function aliasFor(file: string, specifier: string): string | undefined {
  const climb = /^(?:\.\.\/)+/.exec(specifier)?.[0].length ?? 0;
  if (climb / 3 < MIN_CLIMB) return undefined;
  const target = path.resolve(path.dirname(file), specifier);
  const alias = aliases.find((a) => target.startsWith(a.dir));
  return alias && alias.prefix + target.slice(alias.dir.length).split(path.sep).join('/');
}

const files = execFileSync(
  'git',
  ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mts', '*.js', '*.mjs', '*.astro'],
  {
    cwd: root,
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => f !== '' && !f.startsWith('db/migrations/'))
  .map((f) => path.join(root, f));

const perAlias = new Map<string, number>();
let changedFiles = 0;
for (const file of files) {
  const before = readFileSync(file, 'utf8');
  const after = before.replace(SPECIFIER, (whole, lead: string, quote: string, specifier: string) => {
    const rewritten = aliasFor(file, specifier);
    if (rewritten === undefined) return whole;
    const prefix = rewritten.slice(0, rewritten.indexOf('/') + 1);
    perAlias.set(prefix, (perAlias.get(prefix) ?? 0) + 1);
    if (check) console.log(`${path.relative(root, file)}: ${specifier} -> ${rewritten}`);
    return `${lead}${quote}${rewritten}${quote}`;
  });
  if (after === before) continue;
  changedFiles += 1;
  if (!check) writeFileSync(file, after);
}

const total = [...perAlias.values()].reduce((a, b) => a + b, 0);
console.log(
  `${check ? 'would rewrite' : 'rewrote'} ${total} imports in ${changedFiles} files` +
    (total ? ` (${[...perAlias].map(([a, n]) => `${a}* ${n}`).join(', ')})` : ''),
);
if (check && total > 0) process.exitCode = 1;
