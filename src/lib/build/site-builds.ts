import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Built sites under dist/, one folder each, never changed once built, so a running server never
 * loses its files: `npm start` in the same checkout (a second instance, a restart beside a
 * running worker, a test run) builds into a fresh folder and then switches dist/current.json to
 * it, one atomic rename. A server reads that pointer once at start and loads everything from its
 * folder (page modules load lazily, so the folder must stay); it marks the folder in use while it
 * runs, and a build removes only folders that are neither current, the one before, nor in use.
 *
 *   dist/current.json           {"id": "...", "previous": "..."}
 *   dist/<id>/build.json        what it was built from (the sources' fingerprint) and when
 *   dist/<id>/server, client    Astro's output (`astro build --outDir dist/<id>`)
 *   dist/<id>/_headers.json     prerendered pages' Content-Security-Policy
 *   dist/<id>/in-use/<pid>      a server running from it
 *
 * A build is skipped when the current one was built from the same sources (same fingerprint);
 * one build at a time per checkout (dist/.build-lock).
 */

export interface SiteBuild {
  id: string;
  dir: string;
  serverEntry: string;
  clientDir: string;
  headersFile: string;
}

interface BuildRecord {
  fingerprint: string;
  builtAt: string;
}

interface CurrentPointer {
  id: string;
  previous?: string;
}

/** What the site is built from: its sources, configuration, dependencies, and SITE_URL (read by astro.config.mjs). */
const BUILD_INPUTS = [
  'src',
  'content',
  'public',
  'astro.config.mjs',
  'tsconfig.json',
  'package.json',
  'package-lock.json',
];
const BUILD_ID = /^\d{8}T\d{6}Z-[0-9a-f]{8}(-\d+)?$/;
const LOCK_WAIT_MS = 10 * 60_000;

const distDir = (root: string) => path.join(root, 'dist');

function siteBuild(root: string, id: string): SiteBuild {
  const dir = path.join(distDir(root), id);
  return {
    id,
    dir,
    serverEntry: path.join(dir, 'server', 'entry.mjs'),
    clientDir: path.join(dir, 'client'),
    headersFile: path.join(dir, '_headers.json'),
  };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function isComplete(root: string, id: string): boolean {
  return BUILD_ID.test(id) && readJson<BuildRecord>(path.join(distDir(root), id, 'build.json')) !== undefined;
}

/** The build dist/current.json names, when it is there and complete. */
export function currentBuild(root: string): SiteBuild | undefined {
  const pointer = readJson<CurrentPointer>(path.join(distDir(root), 'current.json'));
  return pointer && isComplete(root, pointer.id) ? siteBuild(root, pointer.id) : undefined;
}

/** A fingerprint of everything the build reads (file names and contents), so an unchanged checkout is not built again. */
export function sourceFingerprint(root: string, siteUrl = process.env.SITE_URL ?? ''): string {
  const hash = createHash('sha256').update(`SITE_URL=${siteUrl}\n`);
  const add = (relative: string) => {
    const full = path.join(root, relative);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(full).sort()) add(path.join(relative, name));
    } else {
      hash.update(`${relative}\0${stat.size}\0`).update(readFileSync(full));
    }
  };
  for (const input of BUILD_INPUTS) add(input);
  return hash.digest('hex');
}

// ---- the server's side

/**
 * Marks the current build in use by this process until it exits, and returns it. Undefined when
 * there is no build. The mark is made before the pointer is read again, so a build switching and
 * cleaning up meanwhile either sees the mark or is already the one returned.
 */
export function claimCurrentBuild(root: string, pid = process.pid): SiteBuild | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    const build = currentBuild(root);
    if (!build) return undefined;
    const mark = path.join(build.dir, 'in-use', String(pid));
    try {
      mkdirSync(path.dirname(mark), { recursive: true });
      writeFileSync(mark, `${pid}\n`);
    } catch {
      continue; // removed meanwhile: read the pointer again
    }
    if (isComplete(root, build.id)) {
      process.once('exit', () => rmSync(mark, { force: true }));
      return build;
    }
  }
  return undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(build: SiteBuild): boolean {
  let marks: string[];
  try {
    marks = readdirSync(path.join(build.dir, 'in-use'));
  } catch {
    return false;
  }
  return marks.some((mark) => /^\d+$/.test(mark) && isRunning(Number(mark)));
}

// ---- building

export interface BuildOptions {
  /** Build even when the sources are unchanged. */
  force?: boolean;
  /** Astro's --silent, and fewer words from here. */
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface BuildOutcome {
  build: SiteBuild;
  built: boolean;
}

/**
 * Builds the site into a fresh folder and switches dist/current.json to it, unless the current
 * build is of the same sources. Then removes builds nobody uses. Throws when Astro fails (the
 * current build stays as it was).
 */
export async function buildSite(root: string, options: BuildOptions = {}): Promise<BuildOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const release = await takeBuildLock(root, log);
  try {
    const fingerprint = sourceFingerprint(root);
    const current = currentBuild(root);
    if (
      !options.force &&
      current &&
      readJson<BuildRecord>(path.join(current.dir, 'build.json'))?.fingerprint === fingerprint
    ) {
      if (!options.quiet) log(`[build] dist/${current.id} is up to date (sources unchanged)`);
      removeUnusedBuilds(root);
      return { build: current, built: false };
    }
    const id = freshBuildId(root, fingerprint);
    const build = siteBuild(root, id);
    if (!options.quiet) log(`[build] building into dist/${id}`);
    const astro = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules/astro/bin/astro.mjs'),
        'build',
        '--outDir',
        build.dir,
        ...(options.quiet ? ['--silent'] : []),
      ],
      {
        cwd: root,
        stdio: options.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
        // NODE_ENV=test (set by Vitest) would make Vite build in development mode, and drafts would be published.
        env: { ...process.env, NODE_ENV: 'production', ASTRO_TELEMETRY_DISABLED: '1' },
      },
    );
    if (astro.status !== 0) {
      rmSync(build.dir, { recursive: true, force: true });
      throw new Error(
        `astro build failed (${astro.error?.message ?? `exit ${astro.status ?? astro.signal}`}); dist/${current?.id ?? '(none)'} stays current`,
      );
    }
    writeFileSync(
      path.join(build.dir, 'build.json'),
      JSON.stringify({ fingerprint, builtAt: new Date().toISOString() } satisfies BuildRecord) + '\n',
    );
    switchCurrent(root, { id, ...(current ? { previous: current.id } : {}) });
    if (!options.quiet) log(`[build] dist/${id} is current`);
    removeUnusedBuilds(root);
    return { build, built: true };
  } finally {
    release();
  }
}

function freshBuildId(root: string, fingerprint: string): string {
  const base = `${new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')}-${fingerprint.slice(0, 8)}`;
  let id = base;
  for (let n = 2; existsSync(path.join(distDir(root), id)); n++) id = `${base}-${n}`;
  return id;
}

/** One rename: a reader sees the old pointer or the new one, never a half-written file. */
function switchCurrent(root: string, pointer: CurrentPointer): void {
  const file = path.join(distDir(root), 'current.json');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(pointer) + '\n');
  renameSync(temporary, file);
}

/** Removes builds that are not current, not the one before it, and not in use by a running server; and leftovers of failed builds. */
export function removeUnusedBuilds(root: string): string[] {
  const pointer = readJson<CurrentPointer>(path.join(distDir(root), 'current.json'));
  const keep = new Set([pointer?.id, pointer?.previous].filter((id): id is string => Boolean(id)));
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(distDir(root));
  } catch {
    return removed;
  }
  for (const id of entries) {
    if (!BUILD_ID.test(id) || keep.has(id)) continue;
    const build = siteBuild(root, id);
    if (isComplete(root, id) && inUse(build)) continue;
    rmSync(build.dir, { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}

/**
 * dist/.build-lock: a folder (mkdir is atomic) naming its owner; one left by a process that is
 * gone (or without an owner for 30 s: its taker died at once) is taken over.
 */
async function takeBuildLock(root: string, log: (line: string) => void): Promise<() => void> {
  mkdirSync(distDir(root), { recursive: true });
  const lock = path.join(distDir(root), '.build-lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'owner'), `${process.pid}\n`);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readJson<number>(path.join(lock, 'owner')) ?? NaN);
    if (Number.isInteger(owner) ? !isRunning(owner) : lockAge(lock) > 30_000) {
      // Taken over by renaming it away first, so two waiters cannot both remove it.
      const stale = `${lock}.stale-${process.pid}`;
      try {
        renameSync(lock, stale);
        rmSync(stale, { recursive: true, force: true });
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `another build has held ${lock} for ${LOCK_WAIT_MS / 60_000} minutes; remove it if no build is running`,
      );
    if (!said)
      log(
        `[build] waiting for the build already running in this checkout (process ${Number.isInteger(owner) ? owner : '?'})`,
      );
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How long ago the lock was taken; 0 when it is gone. */
function lockAge(lock: string): number {
  try {
    return Date.now() - statSync(lock).mtimeMs;
  } catch {
    return 0;
  }
}
