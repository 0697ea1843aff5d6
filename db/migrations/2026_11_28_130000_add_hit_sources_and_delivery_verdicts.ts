import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Measurement truth (issue 15): what every later verdict needs lives in the database.
 *
 * - `opens`, `clicks`: who sent the hit, never the address or the agent: `asn` (the owner's AS
 *   number), `net` (its role: access, security_gateway, cloud, …) and `agent` (the agent's
 *   family, e.g. "browser:ios").
 * - `deliveries`: the delivery's machine verdict (`machine_at`, `machine_reason` and the source
 *   it names, `machine_source`), the source of its first reader sign (`reader`) — a source as
 *   "<asn>|<role>|<agent family>" — and its latest link hit (`last_link_at`: a sweep reads the
 *   recent ones only when there are some). Few columns: a hit rewrites its delivery's row.
 * - `link_checks`: links fetched without being clicks — a HEAD on a tracked link, the unsubscribe
 *   page opened — kept for sweeps (a scanner follows every link) and counted in no figure.
 * - `page_views`: the owner of the viewer's network, the click that led to the view (from the
 *   redirect's marker cookie) and `machine` (why the view is a machine's, or null).
 * - `visits`: `click_at`, with `delivery_id` the click its landing came through.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (const table of ['opens', 'clicks']) {
    await db.schema.alterTable(table).addColumn('asn', 'bigint').execute();
    await db.schema.alterTable(table).addColumn('net', 'text').execute();
    await db.schema.alterTable(table).addColumn('agent', 'text').execute();
  }
  const deliveryColumns: [string, 'bigint' | 'text'][] = [
    ['machine_at', 'bigint'],
    ['machine_reason', 'text'],
    ['machine_source', 'text'],
    ['reader', 'text'],
    ['last_link_at', 'bigint'],
  ];
  for (const [column, type] of deliveryColumns)
    await db.schema.alterTable('deliveries').addColumn(column, type).execute();

  await db.schema
    .createTable('link_checks')
    .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('issue_id', 'bigint', (c) => c.notNull())
    .addColumn('delivery_id', 'bigint')
    .addColumn('link_id', 'bigint')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('asn', 'bigint')
    .addColumn('net', 'text')
    .addColumn('agent', 'text')
    .execute();
  await db.schema.createIndex('link_checks_delivery_at').on('link_checks').columns(['delivery_id', 'at']).execute();
  await db.schema.createIndex('link_checks_at').on('link_checks').column('at').execute();

  await db.schema.alterTable('page_views').addColumn('asn', 'bigint').execute();
  await db.schema.alterTable('page_views').addColumn('net', 'text').execute();
  await db.schema.alterTable('page_views').addColumn('click_delivery_id', 'bigint').execute();
  await db.schema.alterTable('page_views').addColumn('click_at', 'bigint').execute();
  await db.schema.alterTable('page_views').addColumn('machine', 'text').execute();
  await db.schema
    .createIndex('page_views_click')
    .on('page_views')
    .columns(['click_delivery_id', 'click_at'])
    .where(sql.ref('click_delivery_id'), 'is not', null)
    .execute();

  await db.schema.alterTable('visits').addColumn('click_at', 'bigint').execute();
  await db.schema
    .createIndex('visits_delivery')
    .on('visits')
    .columns(['delivery_id', 'click_at'])
    .where(sql.ref('delivery_id'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('visits_delivery').execute();
  await db.schema.alterTable('visits').dropColumn('click_at').execute();
  await db.schema.dropIndex('page_views_click').execute();
  for (const column of ['machine', 'click_at', 'click_delivery_id', 'net', 'asn'])
    await db.schema.alterTable('page_views').dropColumn(column).execute();
  await db.schema.dropTable('link_checks').execute();
  for (const column of ['last_link_at', 'reader', 'machine_source', 'machine_reason', 'machine_at']) {
    await db.schema.alterTable('deliveries').dropColumn(column).execute();
  }
  for (const table of ['clicks', 'opens']) {
    for (const column of ['agent', 'net', 'asn']) await db.schema.alterTable(table).dropColumn(column).execute();
  }
}
