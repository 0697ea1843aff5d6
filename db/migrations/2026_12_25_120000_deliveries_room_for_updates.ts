import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * PostgreSQL: a delivery's row is updated after it is written — sent, then its first open, first
 * click, first visit, a verdict — and an update that finds no room on the row's page is not a
 * heap-only (HOT) update: it adds an entry to each of the table's eight indexes, none of which
 * holds a column a hit changes. With a tenth of each page kept free, the new version goes on
 * the same page and no index is touched. Applies to pages written from now on (a table
 * rewritten by VACUUM FULL or CLUSTER takes it too). SQLite has no such setting.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`alter table "deliveries" set (fillfactor = 90)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`alter table "deliveries" reset (fillfactor)`.execute(db);
}
