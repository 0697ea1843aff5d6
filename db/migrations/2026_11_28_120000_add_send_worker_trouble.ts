import type { Kysely } from 'kysely';

/**
 * A send worker that cannot record outcomes says so on its heartbeat: since when, how many
 * attempts, the last error. The progress page and /healthz of every process read it (the
 * worker's own process also knows it without the database, which may be what is failing).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('send_workers').addColumn('failing_since', 'bigint').execute();
  await db.schema
    .alterTable('send_workers')
    .addColumn('failing_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('send_workers').addColumn('last_error', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('send_workers').dropColumn('last_error').execute();
  await db.schema.alterTable('send_workers').dropColumn('failing_attempts').execute();
  await db.schema.alterTable('send_workers').dropColumn('failing_since').execute();
}
