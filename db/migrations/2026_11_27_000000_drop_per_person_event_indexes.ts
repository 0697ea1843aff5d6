import type { Kysely } from 'kysely';

/**
 * Lighter pixel and click writes. Every open and click inserted into an index keyed by
 * subscriber (a random page each time), and every first open, click or visit into a partial
 * index on the delivery's first time; nothing reads the latter since the reports read
 * maintained counts. A person's opens and clicks are found through their deliveries instead
 * (`deliveries_subscriber`, then `opens_delivery_at` / `clicks_delivery_at`): the subscriber
 * timeline and erasure. Erasing someone now scans opens and clicks once for the foreign key's
 * SET NULL — a rare admin action, against a cost on every tracked hit.
 */
const FIRST_TIME_INDEXES = [
  ['deliveries_issue_first_opened', 'first_opened_at'],
  ['deliveries_issue_first_clicked', 'first_clicked_at'],
  ['deliveries_issue_first_visit', 'first_visit_at'],
  ['deliveries_issue_first_any_open', 'first_any_open_at'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('opens_subscriber').execute();
  await db.schema.dropIndex('clicks_subscriber').execute();
  for (const [name] of FIRST_TIME_INDEXES) await db.schema.dropIndex(name).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('opens_subscriber').on('opens').column('subscriber_id').execute();
  await db.schema.createIndex('clicks_subscriber').on('clicks').column('subscriber_id').execute();
  for (const [name, column] of FIRST_TIME_INDEXES)
    await db.schema
      .createIndex(name)
      .on('deliveries')
      .columns(['issue_id', column])
      .where(column, 'is not', null)
      .execute();
}
