import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * The sending engine: `sends` (one per issue: audience, schedule, state), `deliveries` (the
 * ledger, one row per recipient) and `send_workers` (heartbeats; on SQLite the single-worker lock).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = postgres ? 'bigserial' : 'integer';

  await db.schema
    .createTable('sends')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('issue_id', 'bigint', (c) => c.notNull().unique().references('issues.id').onDelete('cascade'))
    .addColumn('audience', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('scheduled_at', 'bigint', (c) => c.notNull())
    .addColumn('paused_reason', 'text')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('recipients', 'integer')
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_by_key', 'bigint', (c) => c.references('api_keys.id').onDelete('set null'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('cancelled_at', 'bigint')
    .execute();
  await db.schema.createIndex('sends_state_scheduled_at').on('sends').columns(['state', 'scheduled_at']).execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('issue_id', 'bigint', (c) => c.notNull().references('issues.id').onDelete('cascade'))
    .addColumn('subscriber_id', 'bigint', (c) => c.references('subscribers.id').onDelete('set null'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_at', 'bigint')
    .addColumn('sent_at', 'bigint')
    .addColumn('message_id', 'text')
    .addColumn('smtp_response', 'text')
    .addColumn('complained_at', 'bigint')
    .addColumn('first_opened_at', 'bigint')
    .addColumn('first_clicked_at', 'bigint')
    .addColumn('first_visit_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('deliveries_issue_subscriber', ['issue_id', 'subscriber_id'])
    .execute();
  // Claims (the next due rows of an issue being sent, in order), and an issue's counts by status.
  await db.schema
    .createIndex('deliveries_issue_status_due')
    .on('deliveries')
    .columns(['issue_id', 'status', 'next_attempt_at', 'id'])
    .execute();
  // Deleting a subscriber sets their rows' subscriber_id to null.
  await db.schema.createIndex('deliveries_subscriber').on('deliveries').column('subscriber_id').execute();
  // Partial indexes: only rows that have the value, so freezing an audience writes no entries
  // to them. The send rate and sends over time; bounce and complaint webhooks name the message;
  // unique opens, clicks and visits over time are an indexed range scan per issue.
  await db.schema
    .createIndex('deliveries_issue_sent_at')
    .on('deliveries')
    .columns(['issue_id', 'sent_at'])
    .where('sent_at', 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_message_id')
    .on('deliveries')
    .column('message_id')
    .where('message_id', 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_issue_first_opened')
    .on('deliveries')
    .columns(['issue_id', 'first_opened_at'])
    .where('first_opened_at', 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_issue_first_clicked')
    .on('deliveries')
    .columns(['issue_id', 'first_clicked_at'])
    .where('first_clicked_at', 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_issue_first_visit')
    .on('deliveries')
    .columns(['issue_id', 'first_visit_at'])
    .where('first_visit_at', 'is not', null)
    .execute();

  await db.schema
    .createTable('send_workers')
    .addColumn('slot', 'text', (c) => c.primaryKey())
    .addColumn('worker_id', 'text', (c) => c.notNull().unique())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('send_workers').execute();
  await db.schema.dropTable('deliveries').execute();
  await db.schema.dropTable('sends').execute();
}
