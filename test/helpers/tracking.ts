import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { makeClickToken, makeOpenToken, makeTestClickToken } from '../../src/lib/tracking/tokens.ts';
import type { IssueLinkKind } from '../../src/lib/db/schema.ts';
import { markIssueSent } from './sending.ts';

export const TEST_SECRET = 'tracking-test-secret-'.padEnd(48, 'x');

export interface SeededIssue {
  issueId: number;
  slug: string;
  links: Record<IssueLinkKind, { id: number; url: string }>;
}

let seq = 0;

/** An issue with one registered link of each kind, straight in the database. */
export async function seedIssue(db: DB, siteUrl: string, now = Date.now()): Promise<SeededIssue> {
  const slug = `tracked-${++seq}-${Math.random().toString(36).slice(2, 7)}`;
  const issue = await db
    .insertInto('issues')
    .values({
      slug,
      subject: 'Tracked',
      preheader: '',
      body_markdown: 'x',
      featured_articles: '[]',
      status: 'sent',
      created_by: null,
      created_at: now,
      updated_at: now,
      sent_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const issueId = Number(issue.id);
  const utm = `utm_source=newsletter&utm_medium=email&utm_campaign=${slug}`;
  const targets: [IssueLinkKind, string][] = [
    ['site', `${siteUrl}/articles/widget-batteries-explained/?${utm}`],
    ['external', `https://flathead-society.example/winter?ref=frobozz&${utm}`],
    ['tel', 'tel:5550142'],
    ['mailto', 'mailto:repairs@frobozz.example'],
    ['honeypot', `${siteUrl}/?${utm}&utm_content=hp`],
  ];
  const links = {} as SeededIssue['links'];
  let position = 0;
  for (const [kind, url] of targets) {
    const row = await db
      .insertInto('issue_links')
      .values({
        issue_id: issueId,
        position: ++position,
        url,
        label: kind,
        kind,
        fingerprint: `${kind}-${position}`,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    links[kind] = { id: Number(row.id), url };
  }
  await markIssueSent(db, issueId, now, { startedAt: null });
  return { issueId, slug, links };
}

/** A subscriber and a `sent` delivery of the issue to them, sent at `sentAt`. */
export async function seedDelivery(
  db: DB,
  issueId: number,
  sentAt: number,
  email = `r${++seq}-${Math.random().toString(36).slice(2, 7)}@example.com`,
): Promise<{ deliveryId: number; subscriberId: number }> {
  const now = Date.now();
  const sub = await db
    .insertInto('subscribers')
    .values({
      email,
      name: null,
      status: 'active',
      created_at: now,
      updated_at: now,
      confirmed_at: now,
      source_form: 'test',
      consent_at: now,
      consent_note: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const d = await db
    .insertInto('deliveries')
    .values({
      issue_id: issueId,
      subscriber_id: Number(sub.id),
      status: 'sent',
      next_attempt_at: sentAt,
      sent_at: sentAt,
      created_at: sentAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { deliveryId: Number(d.id), subscriberId: Number(sub.id) };
}

export const openUrl = (base: string, deliveryId: number, test = false) =>
  `${base}/t/o/${makeOpenToken(TEST_SECRET, deliveryId, { test })}`;
export const clickUrl = (base: string, deliveryId: number, linkId: number) =>
  `${base}/t/c/${makeClickToken(TEST_SECRET, deliveryId, linkId)}`;
/** A click in a test send or preview of the link to `url`, made at `now`. */
export const testClickUrl = (base: string, linkId: number, url: string, now = Date.now()) =>
  `${base}/t/c/${makeTestClickToken(TEST_SECRET, linkId, { now, url })}`;

/** Runs `fn` with a short-lived connection to a server's database. */
export async function withDb<T>(url: string, fn: (db: DB) => Promise<T>): Promise<T> {
  const db = createDatabase(url, { poolSize: 1 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}
