import { type Kysely, sql } from 'kysely';

/**
 * SQLite cannot alter a column or drop a constraint: the table is rebuilt from its own stored
 * definition as `change` rewrites it, rows (ids included) and indexes as they are. Only for
 * tables that nothing references (dropping the old one must fire no foreign-key action).
 * Kept beside the migrations (the migrator skips files without `up`) so they stay independent of src/.
 */
export async function rebuildSqliteTable(
  db: Kysely<any>,
  table: string,
  change: (ddl: string) => string,
): Promise<void> {
  const { rows } = await sql<{
    type: string;
    name: string;
    sql: string | null;
  }>`select type, name, sql from sqlite_master where tbl_name = ${table}`.execute(db);
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
