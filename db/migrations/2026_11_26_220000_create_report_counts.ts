import { type Kysely, sql } from 'kysely';

/**
 * Reports (issue 8) read maintained counts, not raw events, so their cost does not grow with
 * the events and raw rows can be pruned without changing a figure:
 * - `report_counts`: event counts per (issue or 0 for the whole site, metric, dimension,
 *   time bucket). Time buckets are 15 minutes for plain metrics (every real time zone offset is
 *   a multiple of 15 minutes, so weekday × hour in the site's zone is exact), one hour for
 *   per-page and per-source metrics, and 0 for per-link totals; plus coarser grains (metric
 *   names ending ~h hour, ~d UTC day, ~t total) so a report reads few rows whatever its range.
 *   Kept up to date in the same transaction as the raw row.
 * - `link_clickers`: one row per link and delivery with a human click (unique clickers).
 * - `deliveries.first_any_open_at`: unique opens of any class (beside first_opened_at, human);
 *   unique opens, clickers and visitors are also counted in report_counts ("first.*") in the
 *   bucket of each delivery's first time, moved when that time moves.
 * Existing raw rows are counted in here once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('report_counts')
    .addColumn('issue_id', 'bigint', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('dim', 'text', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('report_counts_pk', ['issue_id', 'metric', 'dim', 'bucket'])
    .execute();
  await db.schema
    .createTable('link_clickers')
    .addColumn('link_id', 'bigint', (c) => c.notNull().references('issue_links.id').onDelete('cascade'))
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('link_clickers_pk', ['link_id', 'delivery_id'])
    .execute();
  await db.schema.createIndex('link_clickers_delivery').on('link_clickers').column('delivery_id').execute();
  await db.schema.alterTable('deliveries').addColumn('first_any_open_at', 'bigint').execute();
  // Complaints per issue for the reports, without reading every delivery.
  await db.schema
    .createIndex('deliveries_issue_complained')
    .on('deliveries')
    .column('issue_id')
    .where(sql.ref('complained_at'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_issue_first_any_open')
    .on('deliveries')
    .columns(['issue_id', 'first_any_open_at'])
    .where('first_any_open_at', 'is not', null)
    .execute();

  await sql`update deliveries set first_any_open_at = (select min(o.at) from opens o where o.delivery_id = deliveries.id)`.execute(
    db,
  );
  await sql`insert into link_clickers (link_id, delivery_id) select distinct link_id, delivery_id from clicks where class = 'human' and delivery_id is not null`.execute(
    db,
  );

  const q = sql.raw('900000');
  const hour = sql.raw('3600000');
  const backfills = [
    sql`select issue_id, 'open.' || class, '', (at / ${q}) * ${q}, count(*) from opens group by issue_id, class, (at / ${q}) * ${q}`,
    sql`select issue_id, 'click.' || class, '', (at / ${q}) * ${q}, count(*) from clicks group by issue_id, class, (at / ${q}) * ${q}`,
    sql`select issue_id, 'link.' || class, cast(link_id as text), 0, count(*) from clicks group by issue_id, class, link_id`,
    sql`select l.issue_id, 'link.clickers', cast(lc.link_id as text), 0, count(*) from link_clickers lc join issue_links l on l.id = lc.link_id group by l.issue_id, lc.link_id`,
    sql`select issue_id, 'first.open', '', (first_any_open_at / ${q}) * ${q}, count(*) from deliveries where first_any_open_at is not null group by issue_id, (first_any_open_at / ${q}) * ${q}`,
    sql`select issue_id, 'first.open_human', '', (first_opened_at / ${q}) * ${q}, count(*) from deliveries where first_opened_at is not null group by issue_id, (first_opened_at / ${q}) * ${q}`,
    sql`select issue_id, 'first.click', '', (first_clicked_at / ${q}) * ${q}, count(*) from deliveries where first_clicked_at is not null group by issue_id, (first_clicked_at / ${q}) * ${q}`,
    sql`select issue_id, 'first.visit', '', (first_visit_at / ${q}) * ${q}, count(*) from deliveries where first_visit_at is not null group by issue_id, (first_visit_at / ${q}) * ${q}`,
    sql`select issue_id, 'visit', '', (started_at / ${q}) * ${q}, count(*) from visits where issue_id is not null group by issue_id, (started_at / ${q}) * ${q}`,
    sql`select issue_id, 'visit.later', '', (started_at / ${q}) * ${q}, count(*) from visits where issue_id is not null and is_later = 1 group by issue_id, (started_at / ${q}) * ${q}`,
    sql`select 0, 'visit', '', (started_at / ${q}) * ${q}, count(*) from visits group by (started_at / ${q}) * ${q}`,
    sql`select 0, 'pageview', '', (at / ${q}) * ${q}, count(*) from page_views where is_bot = 0 group by (at / ${q}) * ${q}`,
    sql`select 0, 'path.views', path, (at / ${hour}) * ${hour}, count(*) from page_views where is_bot = 0 group by path, (at / ${hour}) * ${hour}`,
    sql`select 0, 'path.newsletter', path, (at / ${hour}) * ${hour}, count(*) from page_views where is_bot = 0 and issue_id is not null group by path, (at / ${hour}) * ${hour}`,
    sql`select 0, 'source.campaign', utm_campaign, (at / ${hour}) * ${hour}, count(*) from page_views where is_bot = 0 and utm_campaign is not null group by utm_campaign, (at / ${hour}) * ${hour}`,
    sql`select 0, 'source.referrer', referrer_host, (at / ${hour}) * ${hour}, count(*) from page_views where is_bot = 0 and referrer_host is not null group by referrer_host, (at / ${hour}) * ${hour}`,
    sql`select 0, kind, '', (at / ${q}) * ${q}, count(*) from offline_events where undone_at is null group by kind, (at / ${q}) * ${q}`,
    sql`select 0, kind || '.mentioned', '', (at / ${q}) * ${q}, count(*) from offline_events where undone_at is null and mentioned_newsletter = 1 group by kind, (at / ${q}) * ${q}`,
    sql`select issue_id, kind, '', (at / ${q}) * ${q}, count(*) from offline_events where undone_at is null and issue_id is not null group by issue_id, kind, (at / ${q}) * ${q}`,
    sql`select 0, 'signup', '', (confirmed_at / ${q}) * ${q}, count(*) from subscribers where confirmed_at is not null group by (confirmed_at / ${q}) * ${q}`,
    sql`select source_issue_id, 'signup', '', (confirmed_at / ${q}) * ${q}, count(*) from subscribers where confirmed_at is not null and source_issue_id is not null group by source_issue_id, (confirmed_at / ${q}) * ${q}`,
  ];
  for (const select of backfills)
    await sql`insert into report_counts (issue_id, metric, dim, bucket, n) ${select}`.execute(db);
  // The coarser grains, from the rows just counted: plain metrics per hour, UTC day and in total; per-page and per-source ones per UTC day.
  const day = sql.raw('86400000');
  const rollups = [
    sql`select issue_id, metric || '~h', dim, (bucket / ${hour}) * ${hour}, sum(n) from report_counts where dim = '' and metric not like '%~%' group by issue_id, metric, dim, (bucket / ${hour}) * ${hour}`,
    sql`select issue_id, metric || '~d', dim, (bucket / ${day}) * ${day}, sum(n) from report_counts where dim = '' and metric not like '%~%' group by issue_id, metric, dim, (bucket / ${day}) * ${day}`,
    sql`select issue_id, metric || '~t', dim, 0, sum(n) from report_counts where dim = '' and metric not like '%~%' group by issue_id, metric, dim`,
    sql`select issue_id, metric || '~d', dim, (bucket / ${day}) * ${day}, sum(n) from report_counts where (metric like 'path.%' or metric like 'source.%') and metric not like '%~%' group by issue_id, metric, dim, (bucket / ${day}) * ${day}`,
  ];
  for (const select of rollups)
    await sql`insert into report_counts (issue_id, metric, dim, bucket, n) ${select}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('deliveries_issue_first_any_open').execute();
  await db.schema.dropIndex('deliveries_issue_complained').execute();
  await db.schema.alterTable('deliveries').dropColumn('first_any_open_at').execute();
  await db.schema.dropTable('link_clickers').execute();
  await db.schema.dropTable('report_counts').execute();
}
