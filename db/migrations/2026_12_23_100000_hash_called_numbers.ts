import { type Kysely, sql } from 'kysely';

/**
 * Called numbers kept only as keyed hashes, like callers (issue 20):
 *
 * - `offline_events.to_hash`: the called number's keyed hash (src/lib/phone/phone-hash.ts, the
 *   caller's function) in place of the plain `to_number`.
 * - `issue_snapshots.tracked_phone_hash`: the same hash of the tracked number, stored when
 *   the issue starts going out; a call is credited by comparing the two. Indexed for that look-up.
 *
 * The hash needs the server secret, which a migration does not have: the rows stored before this
 * (plain `to_number`, snapshots without a hash) are hashed by the server's start-up
 * (src/lib/offline/called-numbers.ts), which then drops `to_number`. Here the column stays.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('offline_events').addColumn('to_hash', 'text').execute();
  await db.schema.alterTable('issue_snapshots').addColumn('tracked_phone_hash', 'text').execute();
  await db.schema
    .createIndex('issue_snapshots_tracked_phone_hash')
    .on('issue_snapshots')
    .columns(['tracked_phone_hash', 'created_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('issue_snapshots_tracked_phone_hash').execute();
  await db.schema.alterTable('issue_snapshots').dropColumn('tracked_phone_hash').execute();
  await db.schema.alterTable('offline_events').dropColumn('to_hash').execute();
  // The start-up dropped the plain column once it had hashed it: back it comes, empty (the numbers are gone).
  const columns = (await db.introspection.getTables()).find((t) => t.name === 'offline_events')?.columns ?? [];
  if (!columns.some((c) => c.name === 'to_number'))
    await db.schema
      .alterTable('offline_events')
      .addColumn('to_number', 'text', (c) => c.check(sql`length(to_number) <= 32`))
      .execute();
}
