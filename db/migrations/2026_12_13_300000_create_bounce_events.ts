import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Bounces and complaints a mail relay reports after it accepted a message (its webhook, its
 * bounce mailbox, or our own SMTP session): one row per report, from every source, written by
 * src/lib/bounces/bounces.service.ts. `kind` is hard, soft or complaint; `event_key` is the
 * source's own id of the event (SNS MessageId, Postmark ID, Mailgun event id, SendGrid
 * sg_event_id, a DSN's Message-ID), UNIQUE so a provider's retry stores nothing new (NULL when a
 * source names none). No address is stored: the delivery and the subscriber say who; the
 * subscriber goes to NULL when the person is erased, and the row (and its counts) stay.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = postgres ? 'bigserial' : 'integer';
  await db.schema
    .createTable('bounce_events')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    // The delivery's issue, 0 when the report names no delivery we know (like report_counts' site row).
    .addColumn('issue_id', 'bigint', (c) => c.notNull())
    .addColumn('delivery_id', 'bigint')
    .addColumn('subscriber_id', 'bigint')
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('hard', 'soft', 'complaint')`))
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`length(reason) <= 300`))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`length(source) <= 20`))
    .addColumn('event_key', 'text', (c) => c.unique().check(sql`length(event_key) <= 300`))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('bounce_events_subscriber')
    .on('bounce_events')
    .columns(['subscriber_id', 'at'])
    .execute();
  await db.schema.createIndex('bounce_events_delivery').on('bounce_events').column('delivery_id').execute();
  await db.schema.createIndex('bounce_events_issue').on('bounce_events').columns(['issue_id', 'kind']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bounce_events').execute();
}
