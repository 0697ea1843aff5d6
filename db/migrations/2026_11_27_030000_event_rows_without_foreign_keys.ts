import { type Kysely, PostgresAdapter, sql } from 'kysely';
import { rebuildSqliteTable } from './lib/rebuild-sqlite-table.ts';

/**
 * `opens` and `clicks` without foreign keys, like `page_views`. Each pixel checked three parent
 * rows and each click four on insert (~1.5 µs of a click's ~16 in the writer, measured
 * in-process with the checks switched off; on PostgreSQL a check is a locking read of the
 * parent row). Their ON DELETE actions had nothing left to do, and cost full scans:
 * - a subscriber's opens and clicks are deleted with them (`deletePersonEvents`, through their
 *   deliveries) before the subscriber row goes, so SET NULL found nothing, after scanning both
 *   tables (there is no index by subscriber);
 * - links are deleted only when an issue is frozen for sending, before it has any delivery,
 *   so no click can name them, yet the CASCADE scanned `clicks` for each one (no index by link);
 * - issues and deliveries are never deleted.
 * SQLite cannot drop a constraint: each table is rebuilt from its stored definition without its
 * REFERENCES clauses, rows, ids and indexes as they are.
 */
const REFERENCES: Record<'opens' | 'clicks', [column: string, parent: string, onDelete: string][]> = {
  opens: [
    ['issue_id', 'issues', 'cascade'],
    ['delivery_id', 'deliveries', 'set null'],
    ['subscriber_id', 'subscribers', 'set null'],
  ],
  clicks: [
    ['issue_id', 'issues', 'cascade'],
    ['link_id', 'issue_links', 'cascade'],
    ['delivery_id', 'deliveries', 'set null'],
    ['subscriber_id', 'subscribers', 'set null'],
  ],
};
const TABLES = ['opens', 'clicks'] as const;
const REFERENCE_CLAUSE = /\s+references\s+"\w+"\s*\("id"\)(\s+on delete (cascade|set null))?/gi;

const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    if (!isPostgres(db)) {
      await rebuildSqliteTable(db, table, (ddl) => ddl.replace(REFERENCE_CLAUSE, ''));
      continue;
    }
    const { rows } = await sql<{
      name: string;
    }>`select conname as name from pg_constraint where conrelid = ${table}::regclass and contype = 'f'`.execute(db);
    for (const { name } of rows) await sql`alter table ${sql.table(table)} drop constraint ${sql.id(name)}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    if (!isPostgres(db)) {
      await rebuildSqliteTable(db, table, (ddl) =>
        REFERENCES[table].reduce(
          (changed, [column, parent, onDelete]) =>
            changed.replace(
              new RegExp(`("${column}" bigint( not null)?)`),
              `$1 references "${parent}" ("id") on delete ${onDelete}`,
            ),
          ddl,
        ),
      );
      continue;
    }
    for (const [column, parent, onDelete] of REFERENCES[table]) {
      await sql`alter table ${sql.table(table)} add constraint ${sql.id(`${table}_${column}_fkey`)} foreign key (${sql.ref(column)}) references ${sql.table(parent)} ("id") on delete ${sql.raw(onDelete)}`.execute(
        db,
      );
    }
  }
}
