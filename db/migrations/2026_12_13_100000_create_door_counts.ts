import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Door counters (the shop's doors, named in Settings, each with its staff rule and the time zone
 * its rule's days and hours are read in: the site's when the rule was last set) and the interval
 * counts they report: one row per counter and interval [from_at, to_at), replaced when the
 * counter sends a corrected count for the same interval.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = postgres ? 'bigserial' : 'integer';

  await db.schema
    .createTable('door_counters')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('key', 'text', (c) =>
      c
        .notNull()
        .unique()
        .check(sql`length(key) <= 40`),
    )
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(name) <= 80`))
    .addColumn('staff_per_day', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`staff_per_day >= 0`),
    )
    .addColumn('opening_hours', 'text')
    .addColumn('time_zone', 'text', (c) => c.notNull().check(sql`length(time_zone) <= 64`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('door_counts')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('counter_id', 'bigint', (c) => c.notNull().references('door_counters.id').onDelete('cascade'))
    .addColumn('from_at', 'bigint', (c) => c.notNull())
    .addColumn('to_at', 'bigint', (c) => c.notNull())
    .addColumn('count_in', 'integer', (c) => c.notNull().check(sql`count_in >= 0`))
    .addColumn('count_out', 'integer', (c) => c.check(sql`count_out >= 0`))
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('webhook', 'csv')`))
    .addUniqueConstraint('door_counts_interval', ['counter_id', 'from_at', 'to_at'])
    .addCheckConstraint('door_counts_order', sql`to_at > from_at`)
    .execute();
  await db.schema.createIndex('door_counts_to_at').on('door_counts').column('to_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('report_counts').where('metric', 'like', 'door.%').execute();
  await db.schema.dropTable('door_counts').execute();
  await db.schema.dropTable('door_counters').execute();
}
