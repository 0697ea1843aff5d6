import { type Kysely, sql } from 'kysely';

/**
 * `subscribers.phone_set_at` (issue 19, the holdout result on calls): when the phone number on
 * file (`phone_hash`) was last set or changed; null with no number. A subscriber counts as
 * identifiable by calls only when the number was on file before the send started, so the rule
 * is decided before the send for recipients and held out alike: a number added afterwards —
 * perhaps because the person called — cannot make someone identifiable after the fact.
 *
 * Numbers already on file take the row's `updated_at`: every change of the number touched it, so
 * it is never earlier than the real time (other changes may make it later). Later is the safe
 * side: someone may be left out of a past comparison, nobody is let in after their send.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subscribers').addColumn('phone_set_at', 'bigint').execute();
  await db
    .updateTable('subscribers')
    .set({ phone_set_at: sql`updated_at` })
    .where('phone_hash', 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subscribers').dropColumn('phone_set_at').execute();
}
