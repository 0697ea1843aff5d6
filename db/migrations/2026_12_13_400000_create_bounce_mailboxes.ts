import type { Kysely } from 'kysely';

/**
 * The bounce mailbox's state, one row per mailbox read over IMAP (src/lib/bounces/mailbox):
 * the lease that lets one worker at a time read it, whoever's process that is (`lease_holder`
 * until `lease_until`), and what the admin's Settings page shows: when it was last read, how
 * many messages it has processed in all, and the last error (with its time; cleared by the
 * next good read). `mailbox` names the mailbox without its password: user@host:port/folder.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bounce_mailboxes')
    .addColumn('mailbox', 'text', (c) => c.primaryKey())
    .addColumn('lease_holder', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('last_poll_at', 'bigint')
    .addColumn('last_success_at', 'bigint')
    .addColumn('reports', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('others', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bounce_mailboxes').execute();
}
