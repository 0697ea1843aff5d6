import { type Kysely, PostgresAdapter } from 'kysely';
import { rebuildSqliteTable } from './lib/rebuild-sqlite-table.ts';

/**
 * SQLite: `opens` and `clicks` without AUTOINCREMENT. With it, every pixel and click also reads
 * and rewrites the table's row in `sqlite_sequence` (~1.8 µs of the writer's ~20 per hit,
 * measured in-process); without it a new row still takes the largest id + 1, so ids keep
 * growing (one could only come back after the newest row was deleted, and nothing keeps event
 * ids elsewhere). SQLite cannot alter a column, so each table is rebuilt from its own stored
 * definition with the keyword removed, rows and indexes as they are. Nothing references these
 * tables, so dropping the old one fires no foreign-key action. PostgreSQL: nothing to do
 * (bigserial).
 */
const TABLES = ['opens', 'clicks'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  for (const table of TABLES) await rebuildSqliteTable(db, table, (ddl) => ddl.replace(/\s+autoincrement\b/i, ''));
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  for (const table of TABLES)
    await rebuildSqliteTable(db, table, (ddl) =>
      ddl.replace(/("id" integer primary key)(?!\s+autoincrement)/i, '$1 autoincrement'),
    );
}
