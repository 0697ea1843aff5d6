// npm run bench:subscribers — the admin subscriber table over HTTP at 100,000 subscribers, as a
// ratio against the same requests at 1,000 (measured in the same run): the first page, a deep
// page (keyset), a search, a topic filter and a status filter. SQLite always; PostgreSQL too
// when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server whose user may create databases.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { projectRoot, startServer, type RunningServer } from '../helpers/server.ts';
import { currentBuild } from '../../src/lib/build/site-builds.ts';
import { createTestDatabaseUrl, type TestDialect } from '../helpers/databases.ts';
import { addAccount, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { conditions, median } from './run-load.ts';

const SIZES = [1_000, 100_000];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);
const TOPICS = ['guides', 'offers', 'store-news'];
const STATUSES = [
  'active',
  'active',
  'active',
  'active',
  'active',
  'active',
  'pending',
  'unsubscribed',
  'unsubscribed',
  'bounced',
] as const;

if (!currentBuild(projectRoot)) {
  console.error('Build first: npm run build');
  process.exit(1);
}

/** `count` subscribers, the newest last; names "Reader n", every status, one to three topics each. */
async function seed(databaseUrl: string, count: number): Promise<void> {
  const t0 = Date.UTC(2024, 0, 1);
  await withDatabase(databaseUrl, async (db) => {
    for (let start = 0; start < count; start += 1000) {
      const rows = Array.from({ length: Math.min(1000, count - start) }, (_, i) => start + i + 1).map((n) => ({
        email: `reader${n}@example${n % 97}.com`,
        name: `Reader ${n}`,
        status: STATUSES[n % STATUSES.length]!,
        created_at: t0 + n * 60_000,
        updated_at: t0 + n * 60_000,
        source_form: n % 3 ? 'home' : 'article:/articles/choosing-your-first-widget/',
      }));
      await db.transaction().execute(async (trx) => {
        const ids = await trx.insertInto('subscribers').values(rows).returning('id').execute();
        const topics = ids.flatMap(({ id }, i) =>
          TOPICS.filter((_, t) => (start + i + t) % (t + 2) === 0).map((topic) => ({
            subscriber_id: Number(id),
            topic,
          })),
        );
        if (topics.length) await trx.insertInto('subscriber_topics').values(topics).execute();
      });
    }
  });
}

async function time(server: RunningServer, cookie: string, path: string): Promise<{ ms: number; rows: number }> {
  const runs: number[] = [];
  let rows = 0;
  for (let i = 0; i < REPEATS + 2; i++) {
    const started = performance.now();
    const res = await fetch(server.url + path, { headers: { cookie } });
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    if (i >= 2) runs.push(performance.now() - started); // two warm-up requests
    rows = (html.match(/<td><a href="\/admin\/subscribers\/\d+">/g) ?? []).length;
  }
  return { ms: median(runs), rows };
}

async function measure(dialect: TestDialect, size: number): Promise<Record<string, { ms: number; rows: number }>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-subs-'));
  const db = await createTestDatabaseUrl(dialect, dir);
  const server = await startServer({ dataDir: dir, databaseUrl: db.url });
  try {
    const seeding = performance.now();
    await seed(server.databaseUrl, size);
    // After a bulk load: statistics, as autovacuum would gather them; the WAL folded into the database file, as SQLite's automatic checkpoints would.
    await withDatabase(server.databaseUrl, (d) =>
      (dialect === 'postgres' ? sql`ANALYZE` : sql`PRAGMA wal_checkpoint(TRUNCATE)`).execute(d),
    );
    console.error(
      `  [${dialect}] seeded ${size.toLocaleString('en')} in ${Math.round(performance.now() - seeding)} ms`,
    );
    const cookie = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'bench@example.com', 'marketer'),
    );
    const deep = Math.ceil(size * 0.02); // a page near the oldest subscribers
    return {
      'first page': await time(server, cookie, '/admin/subscribers'),
      'deep page (keyset)': await time(server, cookie, `/admin/subscribers?before=${deep}`),
      'search "reader4242"': await time(server, cookie, '/admin/subscribers?q=reader4242'),
      'search, no match': await time(server, cookie, '/admin/subscribers?q=nobody-at-all'),
      'topic filter': await time(server, cookie, '/admin/subscribers?topic=store-news'),
      'topic + status, deep': await time(
        server,
        cookie,
        `/admin/subscribers?topic=offers&status=unsubscribed&before=${deep}`,
      ),
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}

const dialects: TestDialect[] = ['sqlite'];
if (process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL) {
  process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL;
  dialects.push('postgres');
}

console.log(
  `conditions: ${conditions()}; one request at a time, median of ${REPEATS} after 2 warm-ups; page size 50; times include the session check, counts by status and the filter's count`,
);
for (const dialect of dialects) {
  const results: Record<number, Record<string, { ms: number; rows: number }>> = {};
  for (const size of SIZES) results[size] = await measure(dialect, size);
  console.log(`\n${dialect}`);
  console.log(`| request | ${SIZES.map((s) => `${s.toLocaleString('en')} ms`).join(' | ')} | ratio |`);
  console.log(`|---|${SIZES.map(() => '---:').join('|')}|---:|`);
  for (const name of Object.keys(results[SIZES[0]!]!)) {
    const [small, large] = SIZES.map((s) => results[s]![name]!);
    console.log(
      `| ${name} (${large!.rows} rows) | ${small!.ms.toFixed(1)} | ${large!.ms.toFixed(1)} | ${(large!.ms / small!.ms).toFixed(1)} |`,
    );
  }
}
