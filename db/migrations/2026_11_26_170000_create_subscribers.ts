import { type Kysely, PostgresAdapter } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = postgres ? 'bigserial' : 'integer';
  await db.schema
    .createTable('subscribers')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint')
    .addColumn('unsubscribed_at', 'bigint')
    .addColumn('source_form', 'text')
    .addColumn('source_campaign', 'text')
    .addColumn('source_issue_id', 'bigint')
    .addColumn('consent_at', 'bigint')
    .addColumn('consent_text_version', 'text')
    .addColumn('consent_note', 'text')
    .addColumn('confirmation_sent_at', 'bigint')
    .addColumn('confirmations_sent', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('subscribers_status_id').on('subscribers').columns(['status', 'id']).execute();

  await db.schema
    .createTable('subscriber_topics')
    .addColumn('subscriber_id', 'bigint', (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
    .addColumn('topic', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('subscriber_topics_pk', ['subscriber_id', 'topic'])
    .execute();
  await db.schema
    .createIndex('subscriber_topics_topic')
    .on('subscriber_topics')
    .columns(['topic', 'subscriber_id'])
    .execute();

  await db.schema
    .createTable('subscriber_events')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('subscriber_id', 'bigint', (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema
    .createIndex('subscriber_events_subscriber_at')
    .on('subscriber_events')
    .columns(['subscriber_id', 'at'])
    .execute();

  // Addresses that must not be mailed again, kept as a hash so an erased person leaves no address behind.
  await db.schema
    .createTable('suppressions')
    .addColumn('email_hash', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('suppressions').execute();
  await db.schema.dropTable('subscriber_events').execute();
  await db.schema.dropTable('subscriber_topics').execute();
  await db.schema.dropTable('subscribers').execute();
}
