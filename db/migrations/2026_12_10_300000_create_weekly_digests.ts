import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * The weekly digest (issue 17, item 22): who asked for it (off by default), and one row per
 * user and week claimed before the mail goes out, so restarts and a second worker send it once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const ref = postgres ? 'bigint' : 'integer';
  await db.schema
    .alterTable('users')
    .addColumn('weekly_digest', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('digest_sends')
    .addColumn('user_id', ref, (c) => c.notNull().references('users.id').onDelete('cascade'))
    // The Monday ("YYYY-MM-DD", the site's time zone) of the week the digest went out; it covers the week before.
    .addColumn('week', 'text', (c) => c.notNull())
    .addColumn('claimed_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('failure', 'text')
    .addPrimaryKeyConstraint('digest_sends_pk', ['user_id', 'week'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('digest_sends').execute();
  await db.schema.alterTable('users').dropColumn('weekly_digest').execute();
}
