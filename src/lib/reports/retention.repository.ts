import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

/** Raw event tables and the column that dates a row. */
export const RAW_EVENT_TABLES = {
  opens: 'at',
  clicks: 'at',
  link_checks: 'at',
  page_views: 'at',
  visits: 'last_seen',
  offline_events: 'at',
  door_counts: 'to_at',
} as const;
export type RawEventTable = keyof typeof RAW_EVENT_TABLES;

/** Deletes up to `limit` rows of `table` dated before `cutoff`; answers how many went. */
export async function deleteRawEventsBefore(
  db: Db,
  table: RawEventTable,
  cutoff: number,
  limit: number,
): Promise<number> {
  const column = RAW_EVENT_TABLES[table];
  const result = await db
    .deleteFrom(table)
    .where('id', 'in', (eb) => eb.selectFrom(table).select('id').where(column, '<', cutoff).limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * A subscriber's own raw events, before the person goes: opens, clicks and link checks of their
 * deliveries (also those stored without the person, with per-person tracking off: the delivery
 * names them), attributed page views and visits, and page views their clicks led to.
 */
export async function deletePersonEvents(db: Db, subscriberId: number): Promise<void> {
  const deliveries = db.selectFrom('deliveries').select('id').where('subscriber_id', '=', subscriberId);
  for (const table of ['opens', 'clicks', 'link_checks'] as const)
    await db.deleteFrom(table).where('delivery_id', 'in', deliveries).execute();
  await db.deleteFrom('page_views').where('click_delivery_id', 'in', deliveries).execute();
  for (const table of ['page_views', 'visits'] as const)
    await db.deleteFrom(table).where('subscriber_id', '=', subscriberId).execute();
  // Visits the reader cookie named them on stay as anonymous site visits.
  await db
    .updateTable('visits')
    .set({ reader_subscriber_id: null })
    .where('reader_subscriber_id', '=', subscriberId)
    .execute();
}
