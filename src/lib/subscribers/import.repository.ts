import type { Insertable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type {
  Database,
  SubscriberEventTable,
  SubscriberStatus,
  SubscriberTable,
  SubscriberTopicTable,
} from '../db/schema.ts';

/** Queries of the CSV import: each takes a whole chunk (a few hundred rows), never one row. */
type Db = DB | Transaction<Database>;

export interface ExistingSubscriber {
  id: number;
  email: string;
  status: SubscriberStatus;
  name: string | null;
}

export async function findSubscribersByEmails(db: Db, emails: readonly string[]): Promise<ExistingSubscriber[]> {
  if (emails.length === 0) return [];
  const rows = await db
    .selectFrom('subscribers')
    .select(['id', 'email', 'status', 'name'])
    .where('email', 'in', emails)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), email: r.email, status: r.status, name: r.name }));
}

/** The hashes among `hashes` that are on the suppression list. */
export async function findSuppressedHashes(db: Db, hashes: readonly string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const rows = await db.selectFrom('suppressions').select('email_hash').where('email_hash', 'in', hashes).execute();
  return rows.map((r) => r.email_hash);
}

/** One multi-row insert; answers each new row's id with its address (RETURNING gives no order). */
export async function insertSubscribers(
  db: Db,
  rows: readonly Insertable<SubscriberTable>[],
): Promise<{ id: number; email: string }[]> {
  if (rows.length === 0) return [];
  const inserted = await db
    .insertInto('subscribers')
    .values(rows as Insertable<SubscriberTable>[])
    .returning(['id', 'email'])
    .execute();
  return inserted.map((r) => ({ id: Number(r.id), email: r.email }));
}

/** Adds topics, leaving the ones a subscriber already has as they are (a union, never a replace). */
export async function insertTopicsIfMissing(db: Db, rows: readonly Insertable<SubscriberTopicTable>[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('subscriber_topics')
    .values(rows)
    .onConflict((oc) => oc.columns(['subscriber_id', 'topic']).doNothing())
    .execute();
}

export async function insertSubscriberEvents(db: Db, rows: readonly Insertable<SubscriberEventTable>[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('subscriber_events').values(rows).execute();
}
