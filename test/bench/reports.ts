// npm run bench:reports — report latency at 1,000,000 stored events against the same reports at
// 10,000 events (same eight issues, same 5,000 recipients each), measured in one run, on SQLite
// and, when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a PostgreSQL server whose user may
// create databases, on PostgreSQL (BENCH_DIALECTS=sqlite|postgres for one). Events go through the event writer's real inserters, so the
// maintained counts are built the way the server builds them. Target: ratio ≤ 2.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { EventWriter } from '../../src/lib/events/event-writer.ts';
import { VisitTracker, type PageViewEvent } from '../../src/lib/analytics/visits.ts';
import { clickInserter, openInserter, type NewClick, type NewOpen } from '../helpers/event-rows.ts';
import { markIssueSent } from '../helpers/sending.ts';
import { storeOfflineEvent } from '../../src/lib/offline/offline-counts.ts';
import { compareIssues, issueReport } from '../../src/lib/reports/issue-report.service.ts';
import { experimentReport } from '../../src/lib/reports/experiment-report.service.ts';
import { lastDays, siteReport } from '../../src/lib/reports/site-report.service.ts';
import { getSettings } from '../../src/lib/settings/settings.service.ts';
import type { OpenClass } from '../../src/lib/db/schema.ts';
import { createTestDatabaseUrl, type TestDialect } from '../helpers/databases.ts';
import { Random } from '../../src/demo/random.ts';
import { conditions, median } from './run-load.ts';
import { countRows } from '../helpers/rows.ts';

const SIZES = [10_000, Number(process.env.BENCH_EVENTS ?? 1_000_000)];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);
const ISSUES = 8;
const RECIPIENTS = 5_000;
const DAY = 86_400_000;
const H = 3_600_000;
const END = Date.UTC(2026, 10, 20, 12);
const START = END - 84 * DAY;
const PATHS = [
  '/',
  '/articles/',
  '/articles/choosing-your-first-widget/',
  '/articles/widget-batteries-explained/',
  '/articles/winter-widget-care/',
  '/articles/repairing-a-widget/',
  '/subscribe/',
  '/newsletter/',
  '/tags/guides/',
  '/articles/widget-safety/',
  '/about/',
  '/articles/widget-history/',
];
const OPEN_CLASSES: OpenClass[] = [
  'human',
  'human',
  'human',
  'human',
  'human',
  'human',
  'apple_mpp',
  'apple_mpp',
  'proxy',
  'scanner',
];

interface Seeded {
  issues: { id: number; slug: string; sentAt: number; firstDelivery: number; links: number[] }[];
}

/** Issues, links, sends, subscribers and deliveries: the same for every size. */
async function seedLedger(db: DB): Promise<Seeded> {
  const issues: Seeded['issues'] = [];
  const subscriberIds: number[] = [];
  for (let start = 0; start < RECIPIENTS; start += 1000) {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      email: `reader${start + i}@example.com`,
      name: null,
      status: 'active' as const,
      created_at: START,
      updated_at: START,
      confirmed_at: START,
      source_form: 'bench',
    }));
    subscriberIds.push(
      ...(await db.insertInto('subscribers').values(rows).returning('id').execute()).map((r) => Number(r.id)),
    );
  }
  for (let i = 0; i < ISSUES; i++) {
    const sentAt = START + 7 * DAY + i * 10 * DAY + 9 * H;
    const slug = `issue-${i + 1}`;
    const issue = await db
      .insertInto('issues')
      .values({
        slug,
        subject: `Widget news ${i + 1}`,
        preheader: '',
        body_markdown: 'x',
        featured_articles: '[]',
        status: 'sent',
        created_by: null,
        created_at: sentAt,
        updated_at: sentAt,
        sent_at: sentAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(issue.id);
    const links: number[] = [];
    for (let p = 1; p <= 5; p++) {
      const row = await db
        .insertInto('issue_links')
        .values({
          issue_id: id,
          position: p,
          url: `https://frobozz.example${PATHS[p]}?utm_campaign=${slug}`,
          label: `link ${p}`,
          kind: 'site',
          fingerprint: `f${p}`,
          created_at: sentAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      links.push(Number(row.id));
    }
    await markIssueSent(db, id, sentAt, { finishedAt: sentAt + H });
    let firstDelivery = 0;
    for (let s = 0; s < RECIPIENTS; s += 1000) {
      const rows = subscriberIds.slice(s, s + 1000).map((subscriberId) => ({
        issue_id: id,
        subscriber_id: subscriberId,
        status: 'sent' as const,
        next_attempt_at: sentAt,
        sent_at: sentAt,
        created_at: sentAt,
      }));
      const ids = await db.insertInto('deliveries').values(rows).returning('id').execute();
      if (s === 0) firstDelivery = Number(ids[0]!.id);
    }
    issues.push({ id, slug, sentAt, firstDelivery, links });
  }
  return { issues };
}

/**
 * The latest issue ran an A/B test with a holdout (issue 19): its first 500 recipients got variant A,
 * the next 500 variant B, 500 were held out (never sent), the rest got the winner; the arms'
 * later visits are maintained counts, the rest read from the deliveries ledger.
 */
async function seedExperiment(db: DB, issue: Seeded['issues'][number]): Promise<void> {
  await db
    .insertInto('experiments')
    .values({
      issue_id: issue.id,
      seed: 'bench',
      test_share: 0.2,
      holdout_share: 0.1,
      wait_ms: 4 * H,
      measure: 'human_clickers',
      state: 'finished',
      winner_arm: 'B',
      decided_at: issue.sentAt + 4 * H,
      decided_how: 'auto',
      created_at: issue.sentAt,
    })
    .execute();
  const arms = ['A', 'B', 'holdout', 'rest'] as const;
  await db
    .insertInto('experiment_arms')
    .values(arms.map((arm) => ({ issue_id: issue.id, arm, subject: arm.length === 1 ? `Variant ${arm}` : null })))
    .execute();
  for (const [i, arm] of arms.entries()) {
    const from = issue.firstDelivery + i * 500;
    const to = arm === 'rest' ? Number.MAX_SAFE_INTEGER : from + 500;
    await db
      .updateTable('deliveries')
      .set(arm === 'holdout' ? { arm, status: 'held_out', sent_at: null } : { arm })
      .where('issue_id', '=', issue.id)
      .where('id', '>=', from)
      .where('id', '<', to)
      .execute();
  }
}

/** `count` events: 30% opens, 5% clicks, 64% page views, 1% calls and walk-ins, through the writer. */
async function seedEvents(db: DB, seeded: Seeded, count: number): Promise<void> {
  const stream = new Random(7);
  const random = () => stream.next();
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const afterSend = (sentAt: number) => sentAt + Math.min(7 * DAY - 1, Math.floor(-Math.log(1 - random()) * 14 * H));
  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(
    db,
    { pageViews, opens: openInserter, clicks: clickInserter },
    { maxWaitMs: 0, maxBatch: 1000 },
  );
  const opens: NewOpen[] = [];
  const clicks: NewClick[] = [];
  const views: PageViewEvent[] = [];
  let offline = 0;
  for (let i = 0; i < count; i++) {
    const r = random();
    const issue = pick(seeded.issues);
    const deliveryId = issue.firstDelivery + Math.floor(random() * RECIPIENTS);
    if (r < 0.3)
      opens.push({
        issue_id: issue.id,
        delivery_id: deliveryId,
        subscriber_id: null,
        at: afterSend(issue.sentAt),
        class: pick(OPEN_CLASSES),
        reason: 'bench',
      });
    else if (r < 0.35)
      clicks.push({
        issue_id: issue.id,
        link_id: pick(issue.links),
        delivery_id: deliveryId,
        subscriber_id: null,
        at: afterSend(issue.sentAt),
        class: random() < 0.9 ? 'human' : 'bot',
        reason: 'bench',
      });
    else if (r < 0.99) {
      const at = START + Math.floor(random() * 84 * DAY);
      const v = random();
      views.push({
        at,
        path: pick(PATHS),
        referrer_host: v < 0.15 ? pick(['www.google.com', 'duckduckgo.com', 'forum.example']) : null,
        utm_source: null,
        utm_medium: null,
        utm_campaign: v > 0.9 ? issue.slug : null,
        utm_content: null,
        utm_term: null,
        visitor_hash: `v${Math.floor(random() * 20_000)}`,
        device: 'desktop',
        is_bot: v > 0.97 ? 1 : 0,
        attribution:
          v > 0.85 && v <= 0.9 && at > issue.sentAt
            ? { issueId: issue.id, deliveryId, subscriberId: null, at: issue.sentAt + H }
            : null,
        windowMs: 7 * DAY,
      });
    } else offline++;
  }
  const inOrder = <T extends { at: number }>(rows: T[]) => rows.sort((a, b) => a.at - b.at);
  const writeAll = async <I extends typeof openInserter | typeof clickInserter | typeof pageViews>(
    inserter: I,
    rows: Parameters<I['sqlite']>[1],
  ) => {
    for (let i = 0; i < rows.length; i += 5000)
      await Promise.all(rows.slice(i, i + 5000).map((row) => writer.write(inserter, row)));
  };
  await writeAll(openInserter, inOrder(opens));
  await writeAll(clickInserter, inOrder(clicks));
  await writeAll(pageViews, inOrder(views));
  await writer.close();
  for (let i = 0; i < offline; i++) {
    const at = START + Math.floor(random() * 84 * DAY);
    await storeOfflineEvent(db, {
      kind: random() < 0.6 ? 'call' : 'walk_in',
      at,
      recorded_at: at,
      source: 'manual',
      recorded_by: null,
      mentioned_newsletter: random() < 0.2 ? 1 : 0,
      note: null,
      client_id: `bench-${i}`,
    });
  }
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < REPEATS + 2; i++) {
    const started = performance.now();
    await fn();
    if (i >= 2) runs.push(performance.now() - started);
  }
  return median(runs);
}

async function measure(
  dialect: TestDialect,
  size: number,
): Promise<{ rows: Record<string, number>; times: Record<string, number> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-reports-'));
  const created = await createTestDatabaseUrl(dialect, dir);
  const db = createDatabase(created.url);
  try {
    await migrateToLatest(db);
    const seeding = performance.now();
    const seeded = await seedLedger(db);
    await seedExperiment(db, seeded.issues.at(-1)!);
    await seedEvents(db, seeded, size);
    await (dialect === 'postgres' ? sql`ANALYZE` : sql`PRAGMA wal_checkpoint(TRUNCATE)`).execute(db);
    const rows: Record<string, number> = {};
    for (const table of ['opens', 'clicks', 'page_views', 'visits', 'offline_events', 'report_counts'] as const) {
      rows[table] = await countRows(db, table);
    }
    console.error(
      `  [${dialect}] ${size.toLocaleString('en')} events seeded in ${Math.round(performance.now() - seeding)} ms: ${JSON.stringify(rows)}`,
    );
    const settings = await getSettings(db, { now: END });
    const latest = seeded.issues.at(-1)!.id;
    const times = {
      'comparison (8 issues)': await timeIt(() => compareIssues(db, { now: END })),
      'issue report (latest)': await timeIt(() => issueReport(db, latest, { now: END })),
      'issue report (first)': await timeIt(() => issueReport(db, seeded.issues[0]!.id, { now: END })),
      'experiment report (latest)': await timeIt(() => experimentReport(db, latest, { now: END })),
      'site dashboard (30 days)': await timeIt(() =>
        siteReport(db, lastDays(30, settings.timeZone, END), { now: END }),
      ),
    };
    return { rows, times };
  } finally {
    await db.destroy();
    await created.drop();
  }
}

let dialects: TestDialect[] = ['sqlite'];
if (process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL) {
  process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL;
  dialects.push('postgres');
}
// BENCH_DIALECTS=postgres (or sqlite) measures one of them only.
if (process.env.BENCH_DIALECTS) dialects = dialects.filter((d) => process.env.BENCH_DIALECTS!.split(',').includes(d));

console.log(
  `conditions: ${conditions()}; ${ISSUES} sent issues × ${RECIPIENTS.toLocaleString('en')} deliveries; events over 12 weeks (30% opens, 5% clicks, 64% page views, 1% calls/walk-ins) written through the event writer's inserters; in-process service calls, one at a time, median of ${REPEATS} after 2 warm-ups`,
);
for (const dialect of dialects) {
  const [small, large] = [await measure(dialect, SIZES[0]!), await measure(dialect, SIZES[1]!)];
  console.log(
    `\n${dialect}: report_counts rows ${small.rows.report_counts!.toLocaleString('en')} at ${SIZES[0]!.toLocaleString('en')} events, ${large.rows.report_counts!.toLocaleString('en')} at ${SIZES[1]!.toLocaleString('en')}`,
  );
  let smallTotal = 0;
  let largeTotal = 0;
  for (const name of Object.keys(small.times)) {
    const a = small.times[name]!;
    const b = large.times[name]!;
    smallTotal += a;
    largeTotal += b;
    console.log(
      `${dialect} ${name}: ${a.toFixed(1)} ms at ${SIZES[0]!.toLocaleString('en')} events, ${b.toFixed(1)} ms at ${SIZES[1]!.toLocaleString('en')} → ratio ${(b / a).toFixed(2)}`,
    );
  }
  console.log(
    `${dialect} report latency ratio: ${(largeTotal / smallTotal).toFixed(2)} (target <= 2) — all ${Object.keys(small.times).length} together, ${smallTotal.toFixed(1)} ms → ${largeTotal.toFixed(1)} ms`,
  );
}
