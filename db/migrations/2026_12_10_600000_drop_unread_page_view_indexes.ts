import type { Kysely } from 'kysely';

/**
 * Two page-view indexes nothing reads any more: reports read the maintained counts, a visit is
 * kept in `visits`, and the raw rows are only read by time (pruning), by the click that led to
 * them (re-labelling, erasure) or in full. Each cost every page view an index insert in the
 * writer's commit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('page_views_campaign_at').execute();
  await db.schema.dropIndex('page_views_visitor_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('page_views_campaign_at').on('page_views').columns(['utm_campaign', 'at']).execute();
  await db.schema.createIndex('page_views_visitor_at').on('page_views').columns(['visitor_hash', 'at']).execute();
}
