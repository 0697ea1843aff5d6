import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * Tracking (issue 7): `opens` and `clicks` (every pixel load and redirect, classified with its
 * reason), `visits` (runs of page views maintained as the views arrive) and the attribution
 * columns on `page_views`. Events keep their issue when a subscriber is deleted (set null).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = postgres ? 'bigserial' : 'integer';
  const pk = (c: any) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement());

  await db.schema
    .createTable('opens')
    .addColumn('id', id, pk)
    .addColumn('issue_id', 'bigint', (c) => c.notNull().references('issues.id').onDelete('cascade'))
    .addColumn('delivery_id', 'bigint', (c) => c.references('deliveries.id').onDelete('set null'))
    .addColumn('subscriber_id', 'bigint', (c) => c.references('subscribers.id').onDelete('set null'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('class', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('opens_issue_at').on('opens').columns(['issue_id', 'at']).execute();
  await db.schema.createIndex('opens_delivery_at').on('opens').columns(['delivery_id', 'at']).execute();
  await db.schema.createIndex('opens_subscriber').on('opens').column('subscriber_id').execute();

  await db.schema
    .createTable('clicks')
    .addColumn('id', id, pk)
    .addColumn('issue_id', 'bigint', (c) => c.notNull().references('issues.id').onDelete('cascade'))
    .addColumn('link_id', 'bigint', (c) => c.notNull().references('issue_links.id').onDelete('cascade'))
    .addColumn('delivery_id', 'bigint', (c) => c.references('deliveries.id').onDelete('set null'))
    .addColumn('subscriber_id', 'bigint', (c) => c.references('subscribers.id').onDelete('set null'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('class', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('clicks_issue_at').on('clicks').columns(['issue_id', 'at']).execute();
  await db.schema.createIndex('clicks_delivery_at').on('clicks').columns(['delivery_id', 'at']).execute();
  await db.schema.createIndex('clicks_link').on('clicks').column('link_id').execute();
  await db.schema.createIndex('clicks_subscriber').on('clicks').column('subscriber_id').execute();

  await db.schema
    .createTable('visits')
    .addColumn('id', id, pk)
    .addColumn('visitor_key', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('views', 'integer', (c) => c.notNull())
    .addColumn('landing_path', 'text', (c) => c.notNull())
    .addColumn('issue_id', 'bigint', (c) => c.references('issues.id').onDelete('set null'))
    .addColumn('delivery_id', 'bigint', (c) => c.references('deliveries.id').onDelete('set null'))
    .addColumn('subscriber_id', 'bigint', (c) => c.references('subscribers.id').onDelete('set null'))
    .addColumn('attributed_by', 'text')
    .addColumn('is_later', 'integer', (c) => c.notNull().defaultTo(0))
    .addUniqueConstraint('visits_visitor_started', ['visitor_key', 'started_at'])
    .execute();
  await db.schema.createIndex('visits_issue_started').on('visits').columns(['issue_id', 'started_at']).execute();
  await db.schema.createIndex('visits_started').on('visits').column('started_at').execute();
  await db.schema.createIndex('visits_last_seen').on('visits').column('last_seen').execute();
  await db.schema.createIndex('visits_subscriber').on('visits').column('subscriber_id').execute();

  await db.schema.alterTable('page_views').addColumn('issue_id', 'bigint').execute();
  await db.schema.alterTable('page_views').addColumn('subscriber_id', 'bigint').execute();
  await db.schema.createIndex('page_views_issue_at').on('page_views').columns(['issue_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('page_views_issue_at').execute();
  await db.schema.alterTable('page_views').dropColumn('subscriber_id').execute();
  await db.schema.alterTable('page_views').dropColumn('issue_id').execute();
  await db.schema.dropTable('visits').execute();
  await db.schema.dropTable('clicks').execute();
  await db.schema.dropTable('opens').execute();
}
