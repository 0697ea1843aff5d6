import type { DB } from '../../src/lib/db/database.ts';
import { createDatabase } from '../../src/lib/db/database.ts';
import type { DeliveryStatus } from '../../src/lib/db/schema.ts';
import { createIssue } from '../../src/lib/issues/issues.service.ts';
import { useTestShop } from './shop.ts';

let issueCounter = 0;

/**
 * A draft issue made by the issues domain (so it renders, passes its checks, freezes and
 * personalises for real): a short body with one link to the site, no featured articles. The
 * shop's postal address is stored first where none is (useTestShop), so it can be sent.
 */
export async function createDraftIssue(db: DB, subject = 'Widget news', now = Date.now()): Promise<number> {
  await useTestShop(db);
  const slug = `widget-news-${Date.now().toString(36)}-${++issueCounter}`;
  const created = await createIssue(
    db,
    {
      subject,
      slug,
      preheader: 'Short and to the point',
      body_markdown: 'New springs are in. [Opening hours](/) as usual.',
      featured_articles: [],
    },
    { articles: new Map(), createdBy: null },
    now,
  );
  if (!created.ok) throw new Error(`${created.message} ${JSON.stringify(created.fields ?? {})}`);
  return created.value.id;
}

export interface SeedOptions {
  /** Address of the i-th subscriber (0-based). */
  email?: (i: number) => string;
  topics?: (i: number) => string[];
  status?: (i: number) => 'active' | 'pending' | 'unsubscribed';
  paused?: (i: number) => boolean;
  chunk?: number;
}

/** `count` subscribers, inserted in multi-row chunks; returns their ids in order. */
export async function seedSubscribers(db: DB, count: number, options: SeedOptions = {}): Promise<number[]> {
  const now = Date.now();
  const email = options.email ?? ((i: number) => `reader${i}@example.com`);
  const chunk = options.chunk ?? 500;
  const ids: number[] = [];
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < count; start += chunk) {
      const rows = [];
      for (let i = start; i < Math.min(count, start + chunk); i++) {
        rows.push({
          email: email(i),
          name: null,
          status: options.status?.(i) ?? 'active',
          paused: options.paused?.(i) ? 1 : 0,
          created_at: now,
          updated_at: now,
          confirmed_at: now,
          source_form: 'test',
          consent_at: now,
          consent_note: 'test fixture',
        });
      }
      const inserted = await trx.insertInto('subscribers').values(rows).returning(['id', 'email']).execute();
      const byEmail = new Map(inserted.map((r) => [r.email, Number(r.id)]));
      const topicRows: { subscriber_id: number; topic: string }[] = [];
      for (let i = start; i < Math.min(count, start + chunk); i++) {
        const id = byEmail.get(email(i))!;
        ids.push(id);
        for (const topic of options.topics?.(i) ?? []) topicRows.push({ subscriber_id: id, topic });
      }
      if (topicRows.length > 0) await trx.insertInto('subscriber_topics').values(topicRows).execute();
    }
  });
  return ids;
}

export interface LedgerRow {
  id: number;
  subscriber_id: number | null;
  status: DeliveryStatus;
  reason: string | null;
  attempts: number;
  message_id: string | null;
  sent_at: number | null;
}

export async function ledgerOf(db: DB, issueId: number): Promise<LedgerRow[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['id', 'subscriber_id', 'status', 'reason', 'attempts', 'message_id', 'sent_at'])
    .where('issue_id', '=', issueId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    subscriber_id: r.subscriber_id === null ? null : Number(r.subscriber_id),
    attempts: Number(r.attempts),
    sent_at: r.sent_at === null ? null : Number(r.sent_at),
  }));
}

/**
 * That issue `issueId` went out at `at`, without sending it: a finished send (scheduled and
 * started at `at`) and the issue marked sent, which is what reports and panels read.
 * `startedAt: null` leaves the send's start empty; `finishedAt` records its end.
 */
export async function markIssueSent(
  db: DB,
  issueId: number,
  at: number,
  options: { startedAt?: number | null; finishedAt?: number } = {},
): Promise<void> {
  await db
    .insertInto('sends')
    .values({
      issue_id: issueId,
      audience: '{}',
      state: 'finished',
      scheduled_at: at,
      started_at: options.startedAt === undefined ? at : options.startedAt,
      finished_at: options.finishedAt ?? null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  await db.updateTable('issues').set({ status: 'sent', sent_at: at }).where('id', '=', issueId).execute();
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Opens a database by URL for one piece of work. */
export async function withDb<T>(url: string, fn: (db: DB) => Promise<T>): Promise<T> {
  const db = createDatabase(url, { poolSize: 2 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/** Polls `check` until it answers true, or fails after `timeoutMs` with `what`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
