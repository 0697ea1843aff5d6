import type { Kysely } from 'kysely';

/**
 * The reader cookie (issue 19, the holdout result): a long-lived first-party cookie set on a
 * reader's newsletter click that names the subscriber, so later visits from that browser can be
 * told per person — for the held out as well as for recipients.
 *
 * - `subscribers.reader_known_at`: when the reader cookie was first set for this subscriber (their
 *   first likely-human click with per-person tracking on). "Known before the send" is decided on
 *   it, for recipients and held out alike. Goes with the subscriber on erasure.
 * - `visits.reader_subscriber_id`: the subscriber the reader cookie named on the visit's first
 *   view; null without one. Erasure unlinks it; retention prunes it with the visit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subscribers').addColumn('reader_known_at', 'bigint').execute();
  await db.schema.alterTable('visits').addColumn('reader_subscriber_id', 'bigint').execute();
  await db.schema
    .createIndex('visits_reader_subscriber_id')
    .on('visits')
    .columns(['reader_subscriber_id', 'started_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('visits_reader_subscriber_id').execute();
  await db.schema.alterTable('visits').dropColumn('reader_subscriber_id').execute();
  await db.schema.alterTable('subscribers').dropColumn('reader_known_at').execute();
}
