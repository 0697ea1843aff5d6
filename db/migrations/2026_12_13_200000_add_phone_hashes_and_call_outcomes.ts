import { type Kysely, sql } from 'kysely';

/**
 * Calls from the phone provider (issue 20):
 *
 * - `subscribers.phone_hash`: a subscriber's phone number, kept only as the same keyed hash as
 *   a caller's (`offline_events.from_hash`: HMAC-SHA-256 with the server secret of the number
 *   normalised by src/lib/phone), so a call can be matched to the person without the number
 *   ever being stored. Indexed for that match.
 * - `offline_events.subscriber_id`: the subscriber whose phone hash matched the caller's when
 *   the call was recorded (a person-level outcome the holdout comparison can use); cleared when
 *   that subscriber is erased. No foreign key, like the other event rows.
 * - `offline_events.answered`: 1 answered, 0 missed (busy, no answer, failed, cancelled), null
 *   when the source did not say (tally taps, the admin, CSV, the generic webhook without it).
 * - `offline_events.repeat_caller`: 1 when an earlier call from the same caller hash was on
 *   record when this call was stored, 0 when none was (first-time caller), null when the
 *   caller's number is unknown.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subscribers').addColumn('phone_hash', 'text').execute();
  await db.schema.createIndex('subscribers_phone_hash').on('subscribers').column('phone_hash').execute();
  await db.schema.alterTable('offline_events').addColumn('subscriber_id', 'bigint').execute();
  await db.schema
    .alterTable('offline_events')
    .addColumn('answered', 'integer', (c) => c.check(sql`answered in (0, 1)`))
    .execute();
  await db.schema
    .alterTable('offline_events')
    .addColumn('repeat_caller', 'integer', (c) => c.check(sql`repeat_caller in (0, 1)`))
    .execute();
  await db.schema
    .createIndex('offline_events_subscriber_id')
    .on('offline_events')
    .columns(['subscriber_id', 'at'])
    .execute();
  await db.schema.createIndex('offline_events_from_hash').on('offline_events').columns(['from_hash', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('offline_events_from_hash').execute();
  await db.schema.dropIndex('offline_events_subscriber_id').execute();
  await db.schema.alterTable('offline_events').dropColumn('repeat_caller').execute();
  await db.schema.alterTable('offline_events').dropColumn('answered').execute();
  await db.schema.alterTable('offline_events').dropColumn('subscriber_id').execute();
  await db.schema.dropIndex('subscribers_phone_hash').execute();
  await db.schema.alterTable('subscribers').dropColumn('phone_hash').execute();
}
