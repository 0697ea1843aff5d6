import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Unique clickers per link move from the `link_clickers` table onto the delivery row:
 * `deliveries.clicked_links` lists the links the delivery's reader clicked (human clicks), as
 * ",12,15,". A click already reads and, when first, rewrites its delivery's row; a separate
 * table cost every first click three more B-tree inserts (table, key, delivery index) and two
 * foreign-key checks, about half of the writer's work for a click. Deliveries are never pruned,
 * so the list stays exact after raw clicks are (a reader clicking a link again a year later is
 * still not a new clicker).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema.alterTable('deliveries').addColumn('clicked_links', 'text').execute();
  const list = postgres
    ? sql`',' || string_agg(cast(lc.link_id as text), ',' order by lc.link_id) || ','`
    : sql`',' || group_concat(lc.link_id, ',') || ','`;
  await sql`update deliveries set clicked_links = (select ${list} from link_clickers lc where lc.delivery_id = deliveries.id) where id in (select delivery_id from link_clickers)`.execute(
    db,
  );
  await db.schema.dropTable('link_clickers').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('link_clickers')
    .addColumn('link_id', 'bigint', (c) => c.notNull().references('issue_links.id').onDelete('cascade'))
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('link_clickers_pk', ['link_id', 'delivery_id'])
    .execute();
  await db.schema.createIndex('link_clickers_delivery').on('link_clickers').column('delivery_id').execute();
  const rows = await db
    .selectFrom('deliveries')
    .select(['id', 'clicked_links'])
    .where('clicked_links', 'is not', null)
    .execute();
  const pairs = rows.flatMap((r) =>
    linkIdsOf(r.clicked_links).map((linkId) => ({ link_id: linkId, delivery_id: Number(r.id) })),
  );
  for (let i = 0; i < pairs.length; i += 500)
    await db
      .insertInto('link_clickers')
      .values(pairs.slice(i, i + 500))
      .execute();
  await db.schema.alterTable('deliveries').dropColumn('clicked_links').execute();
}

function linkIdsOf(list: string | null): number[] {
  return (list ?? '').split(',').filter(Boolean).map(Number);
}
