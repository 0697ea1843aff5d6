import type { Kysely } from 'kysely';

/**
 * An issue's tracked phone number (normalised: "+441632960001"), shown in its footer. A call the
 * webhook reports to that number is credited to the issue; the index serves that look-up.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('issues').addColumn('tracked_phone', 'text').execute();
  await db.schema.createIndex('issues_tracked_phone').on('issues').column('tracked_phone').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('issues_tracked_phone').execute();
  await db.schema.alterTable('issues').dropColumn('tracked_phone').execute();
}
