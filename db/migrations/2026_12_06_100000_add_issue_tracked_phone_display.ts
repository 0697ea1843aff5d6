import type { Kysely } from 'kysely';

/**
 * An issue's tracked phone number as the marketer typed it ("+44 1632 960001"), shown in the
 * footer, the archive and the admin; `tracked_phone` keeps the normalised number calls are
 * matched on. Issues from before show their normalised number until edited.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('issues').addColumn('tracked_phone_display', 'text').execute();
  await db
    .updateTable('issues')
    .set((eb) => ({ tracked_phone_display: eb.ref('tracked_phone') }))
    .where('tracked_phone', 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('issues').dropColumn('tracked_phone_display').execute();
}
