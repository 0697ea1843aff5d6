import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { copyMigratedTemplate } from './database-templates.ts';
import { EventWriter } from '../../src/lib/events/event-writer.ts';
import { VisitTracker, type PageViewEvent } from '../../src/lib/analytics/visits.ts';
import { clickInserter, openInserter, type NewClick, type NewOpen } from './event-rows.ts';
import { defaultSettings, saveSettings } from '../../src/lib/settings/settings.service.ts';
import { storeOfflineEvent } from '../../src/lib/offline/offline-counts.ts';
import {
  confirmSubscription,
  subscribe,
  unsubscribe,
  type SubscriberDeps,
} from '../../src/lib/subscribers/subscribers.service.ts';
import { quarterOf } from '../../src/lib/counts/buckets.ts';
import { seedDelivery, seedIssue } from './tracking.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A human desktop page view as the event writer takes it, with a 7-day attribution window. */
export function pageViewEvent(
  at: number,
  path: string,
  visitorHash: string,
  extra: Partial<PageViewEvent> = {},
): PageViewEvent {
  return {
    at,
    path,
    referrer_host: null,
    utm_source: null,
    utm_medium: null,
    utm_campaign: null,
    utm_content: null,
    utm_term: null,
    visitor_hash: visitorHash,
    device: 'desktop',
    is_bot: 0,
    windowMs: 7 * DAY,
    ...extra,
  };
}

export const REPORT_TIME_ZONE = 'Europe/London';

/**
 * A small, hand-countable history for the report pages, written through the project's own
 * services and its event writer (the same code the server runs), with times relative to `now`:
 *
 * Issue A “Winter widgets & <batteries>”, sent 4 days ago to 12: 10 delivered, 2 bounced.
 *   Opens: d0 Apple MPP, d7 a scanner, d6 through an image proxy, d1–d5 people (d1 twice)
 *     → 8 unique (80%), 6 likely human (60%).
 *   Clicks: d1 (two links), d2, d3 human; d4 follows the hidden link (bot) → 3 unique (30%), click-to-open 50%.
 *   Visits: d1 and d2 land from their clicks, d1 comes back the next day → 3 attributed, 1 later.
 *   A friend signs up from the issue and confirms (1 signup); d5 unsubscribes from its footer (1).
 *   Calls in its 7 days: 3 (1 credited to it); walk-ins: 1.
 * Issue B “Autumn tune-up”, sent 17 days ago to 4: 2 open (50%), 1 clicks (25%); 1 walk-in in its window.
 * The site besides: 4 visitors from www.google.com on “choosing your first widget”, 2 direct on
 * “widget batteries explained”, and a call 6 days ago (outside both windows).
 */
export interface ReportSeed {
  a: { issueId: number; slug: string; subject: string; sentAt: number };
  b: { issueId: number; slug: string; subject: string; sentAt: number };
  draftId: number;
  now: number;
}

export const SUBJECT_A = 'Winter widgets & <batteries>';
export const SUBJECT_B = 'Autumn tune-up';

/** A fresh migrated database at `url`, filled with the data set above. */
export async function seedReportDatabase(url: string, siteUrl: string, now = Date.now()): Promise<ReportSeed> {
  copyMigratedTemplate(url);
  const db = createDatabase(url, { poolSize: 1 });
  try {
    await migrateToLatest(db);
    return await seedReportData(db, siteUrl, now);
  } finally {
    await db.destroy();
  }
}

export async function seedReportData(db: DB, siteUrl: string, now = Date.now()): Promise<ReportSeed> {
  const sentA = quarterOf(now - 4 * DAY) + 7 * MINUTE;
  const sentB = quarterOf(now - 17 * DAY) + 7 * MINUTE;
  const saved = await saveSettings(
    db,
    {
      ...defaultSettings({ siteUrl, mail: { from: 'news@frobozz.example' } }),
      postalAddress: '12 Flathead Row, Port Foozle',
      timeZone: REPORT_TIME_ZONE,
      attributionWindowDays: 7,
    },
    null,
    now - 90 * DAY,
  );
  if (!saved.ok) throw new Error(`settings refused: ${JSON.stringify(saved.errors)}`);
  const user = await db
    .insertInto('users')
    .values({
      email: 'counter@frobozz.example',
      name: 'Counter',
      role: 'writer',
      status: 'active',
      password_hash: 'x',
      created_at: now - 90 * DAY,
      updated_at: now - 90 * DAY,
      last_login_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const staff = Number(user.id);

  const issues = [];
  for (const [sentAt, subject] of [
    [sentB, SUBJECT_B],
    [sentA, SUBJECT_A],
  ] as const) {
    const issue = await seedIssue(db, siteUrl, sentAt);
    await db.updateTable('issues').set({ subject }).where('id', '=', issue.issueId).execute();
    await db.updateTable('sends').set({ started_at: sentAt }).where('issue_id', '=', issue.issueId).execute();
    issues.push({ ...issue, subject, sentAt });
  }
  const [b, a] = issues as [(typeof issues)[0], (typeof issues)[0]];
  const draft = await db
    .insertInto('issues')
    .values({
      slug: 'not-yet',
      subject: 'Not sent yet',
      preheader: '',
      body_markdown: 'x',
      featured_articles: '[]',
      status: 'draft',
      created_by: null,
      created_at: now,
      updated_at: now,
      sent_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();

  const da = [];
  for (let i = 0; i < 12; i++) da.push(await seedDelivery(db, a.issueId, sentA));
  await db
    .updateTable('deliveries')
    .set({ status: 'bounced' })
    .where('id', 'in', [da[10]!.deliveryId, da[11]!.deliveryId])
    .execute();
  const dbs = [];
  for (let i = 0; i < 4; i++) dbs.push(await seedDelivery(db, b.issueId, sentB));

  const of = (issue: typeof a, d: { deliveryId: number; subscriberId: number }) => ({
    issue_id: issue.issueId,
    delivery_id: d.deliveryId,
    subscriber_id: d.subscriberId,
  });
  const opens: NewOpen[] = [
    { ...of(a, da[0]!), at: sentA + MINUTE, class: 'apple_mpp', reason: 'Apple Mail Privacy Protection' },
    { ...of(a, da[7]!), at: sentA + 10_000, class: 'scanner', reason: 'security scanner' },
    { ...of(a, da[6]!), at: sentA + 2 * HOUR, class: 'proxy', reason: 'Gmail image proxy' },
    { ...of(a, da[1]!), at: sentA + HOUR, class: 'human', reason: 'reader' },
    { ...of(a, da[1]!), at: sentA + 26 * HOUR, class: 'human', reason: 'reader' },
    { ...of(a, da[2]!), at: sentA + 2 * HOUR, class: 'human', reason: 'reader' },
    { ...of(a, da[3]!), at: sentA + 3 * HOUR, class: 'human', reason: 'reader' },
    { ...of(a, da[4]!), at: sentA + 4 * HOUR, class: 'human', reason: 'reader' },
    { ...of(a, da[5]!), at: sentA + 4 * HOUR + 30 * MINUTE, class: 'human', reason: 'reader' },
    { ...of(b, dbs[0]!), at: sentB + HOUR, class: 'human', reason: 'reader' },
    { ...of(b, dbs[1]!), at: sentB + 2 * HOUR, class: 'human', reason: 'reader' },
  ];
  const clicked = { d1: sentA + HOUR + 2 * MINUTE, d2: sentA + 2 * HOUR + 5 * MINUTE };
  const clicks: NewClick[] = [
    { ...of(a, da[1]!), link_id: a.links.site.id, at: clicked.d1, class: 'human', reason: 'reader' },
    {
      ...of(a, da[1]!),
      link_id: a.links.external.id,
      at: sentA + HOUR + 10 * MINUTE,
      class: 'human',
      reason: 'reader',
    },
    { ...of(a, da[2]!), link_id: a.links.site.id, at: clicked.d2, class: 'human', reason: 'reader' },
    {
      ...of(a, da[3]!),
      link_id: a.links.external.id,
      at: sentA + 3 * HOUR + 5 * MINUTE,
      class: 'human',
      reason: 'reader',
    },
    {
      ...of(a, da[4]!),
      link_id: a.links.honeypot.id,
      at: sentA + 4 * HOUR + MINUTE,
      class: 'bot',
      reason: 'the hidden link',
    },
    { ...of(b, dbs[0]!), link_id: b.links.site.id, at: sentB + HOUR + MINUTE, class: 'human', reason: 'reader' },
  ];

  let visitor = 0;
  const view = (at: number, path: string, extra: Partial<PageViewEvent> = {}): PageViewEvent =>
    pageViewEvent(at, path, `visitor-${visitor}`, extra);
  const fromIssue = (d: { deliveryId: number; subscriberId: number }, at: number) => ({
    issueId: a.issueId,
    deliveryId: d.deliveryId,
    subscriberId: d.subscriberId,
    at,
  });
  const utm = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: a.slug };
  const views: PageViewEvent[] = [];
  visitor++;
  views.push(
    view(clicked.d1 + 3_000, '/articles/widget-batteries-explained/', {
      ...utm,
      attribution: fromIssue(da[1]!, clicked.d1),
    }),
  );
  views.push(view(clicked.d1 + 90_000, '/articles/', { attribution: fromIssue(da[1]!, clicked.d1) }));
  views.push(view(sentA + 26 * HOUR, '/', { attribution: fromIssue(da[1]!, clicked.d1) }));
  visitor++;
  views.push(
    view(clicked.d2 + 3_000, '/articles/widget-batteries-explained/', {
      ...utm,
      attribution: fromIssue(da[2]!, clicked.d2),
    }),
  );
  for (let k = 1; k <= 4; k++) {
    visitor++;
    views.push(view(sentA - k * DAY, '/articles/choosing-your-first-widget/', { referrer_host: 'www.google.com' }));
  }
  for (let k = 1; k <= 2; k++) {
    visitor++;
    views.push(view(sentB + k * DAY, '/articles/widget-batteries-explained/'));
  }

  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(
    db,
    { pageViews, opens: openInserter, clicks: clickInserter },
    { maxWaitMs: 0, maxBatch: 200 },
  );
  await Promise.all(opens.sort((x, y) => x.at - y.at).map((o) => writer.write(openInserter, o)));
  for (const c of clicks.sort((x, y) => x.at - y.at)) await writer.write(clickInserter, c);
  for (const v of views.sort((x, y) => x.at - y.at)) await writer.write(pageViews, v);
  await writer.close();

  // A friend signs up from the issue's link and confirms; d5 leaves through the issue's footer.
  let confirmLink = '';
  const deps: SubscriberDeps = {
    db,
    secret: 'seed-secret-'.padEnd(43, 'x'),
    siteUrl,
    sendConfirmation: async (_to, data) => void (confirmLink = data.confirmUrl),
  };
  await subscribe(
    deps,
    {
      email: 'friend@example.com',
      form: 'article:/articles/widget-batteries-explained/',
      campaign: a.slug,
      issueId: a.issueId,
    },
    sentA + 5 * HOUR,
  );
  const confirmed = await confirmSubscription(
    deps,
    new URL(confirmLink).searchParams.get('token'),
    sentA + 5 * HOUR + 10 * MINUTE,
  );
  if (confirmed.outcome !== 'confirmed') throw new Error(`seed signup: ${confirmed.outcome}`);
  await unsubscribe(db, da[5]!.subscriberId, { method: 'one-click', issueId: a.issueId }, sentA + 5 * HOUR);

  const offline: [kind: 'call' | 'walk_in', at: number, issueId: number | null][] = [
    ['call', sentA + HOUR, a.issueId],
    ['call', sentA + 20 * HOUR, null],
    ['call', sentA + 30 * HOUR, null],
    ['walk_in', sentA + 26 * HOUR, null],
    ['call', sentA - 2 * DAY, null],
    ['walk_in', sentB + 3 * HOUR, null],
  ];
  for (const [i, [kind, at, issueId]] of offline.entries()) {
    await storeOfflineEvent(db, {
      kind,
      at,
      recorded_at: at,
      source: 'manual',
      recorded_by: staff,
      mentioned_newsletter: 0,
      note: null,
      client_id: `seed-${i}`,
      issue_id: issueId,
    });
  }

  return {
    a: { issueId: a.issueId, slug: a.slug, subject: SUBJECT_A, sentAt: sentA },
    b: { issueId: b.issueId, slug: b.slug, subject: SUBJECT_B, sentAt: sentB },
    draftId: Number(draft.id),
    now,
  };
}
