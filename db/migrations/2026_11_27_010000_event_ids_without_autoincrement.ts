import { type Kysely, PostgresAdapter, sql } from 'kysely';

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
  for (const table of TABLES) await rebuild(db, table, (ddl) => ddl.replace(/\s+autoincrement\b/i, ''));
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  for (const table of TABLES) await rebuild(db, table, (ddl) => ddl.replace(/("id" integer primary key)(?!\s+autoincrement)/i, '$1 autoincrement'));
}

async function rebuild(db: Kysely<any>, table: string, change: (ddl: string) => string): Promise<void> {
  const { rows } = await sql<{ type: string; name: string; sql: string | null }>`select type, name, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const definition = rows.find((r) => r.type === 'table')?.sql;
  if (!definition) throw new Error(`table ${table} not found`);
  const changed = change(definition);
  if (changed === definition) return;
  const temporary = `${table}_rebuilt`;
  const create = changed.replace(/^CREATE TABLE (IF NOT EXISTS )?"?\w+"?/i, `CREATE TABLE "${temporary}"`);
  if (create === changed) throw new Error(`unexpected definition of ${table}: ${definition.slice(0, 80)}`);
  await sql.raw(create).execute(db);
  await sql.raw(`insert into "${temporary}" select * from "${table}"`).execute(db);
  await sql.raw(`drop table "${table}"`).execute(db);
  await sql.raw(`alter table "${temporary}" rename to "${table}"`).execute(db);
  for (const index of rows) if (index.type === 'index' && index.sql) await sql.raw(index.sql).execute(db);
}
