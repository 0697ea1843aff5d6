import type { Kysely } from 'kysely';

/**
 * Reports read maintained counts (report_counts), not raw events by issue or link, so these
 * indexes only slowed every pixel and click insert down. What still reads raw events: sweeps
 * (by delivery), the subscriber timeline and erasure (by subscriber), pruning (by time, in
 * insertion order).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('opens_issue_at').execute();
  await db.schema.dropIndex('clicks_issue_at').execute();
  await db.schema.dropIndex('clicks_link').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('opens_issue_at').on('opens').columns(['issue_id', 'at']).execute();
  await db.schema.createIndex('clicks_issue_at').on('clicks').columns(['issue_id', 'at']).execute();
  await db.schema.createIndex('clicks_link').on('clicks').column('link_id').execute();
}
