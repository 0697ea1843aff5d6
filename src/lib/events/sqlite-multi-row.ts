import type BetterSqlite3 from 'better-sqlite3';

/** Rows a statement at most (7 columns × 32 rows stays far below SQLite's limit on parameters). */
const MAX_ROWS = 32;

export interface MultiRow {
  /** Writes rows given as one flat list of values, a row's values in order, up to 32 rows a statement. */
  run(values: readonly unknown[]): void;
}

/**
 * SQLite statements over many rows at once: each better-sqlite3 call has a fixed cost whatever
 * it does, which the rows of one statement share (figures in docs/performance.md). Answers the
 * writer of a connection: a prepared statement per row count, made once.
 */
function sqliteMultiRow(
  width: number,
  what: string,
  sqlFor: (rows: number) => string,
): (sqlite: BetterSqlite3.Database) => MultiRow {
  const byConnection = new WeakMap<BetterSqlite3.Database, MultiRow>();
  return (sqlite) => {
    let found = byConnection.get(sqlite);
    if (found) return found;
    const statements: BetterSqlite3.Statement[] = [];
    const statementFor = (rows: number) => (statements[rows] ??= sqlite.prepare(sqlFor(rows)));
    found = {
      run(values) {
        if (values.length % width !== 0) throw new RangeError(`${values.length} values are not whole rows of ${what}`);
        const rows = values.length / width;
        for (let at = 0; at < rows; at += MAX_ROWS) {
          const count = Math.min(MAX_ROWS, rows - at);
          // Spread, not an array: better-sqlite3 reads an array argument element by element through
          // the engine's generic property lookup (docs/performance.md).
          statementFor(count).run(...(count === rows ? values : values.slice(at * width, (at + count) * width)));
        }
      },
    };
    byConnection.set(sqlite, found);
    return found;
  };
}

const placeholders = (count: number) => `(${new Array(count).fill('?').join(', ')})`;
const repeated = (row: string, rows: number) => new Array(rows).fill(row).join(', ');

/** Many rows per INSERT (an upsert with `onConflict`, e.g. `on conflict (…) do update …`). */
export function sqliteMultiInsert(
  table: string,
  columns: readonly string[],
  onConflict = '',
): (sqlite: BetterSqlite3.Database) => MultiRow {
  const head = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values `;
  const tail = onConflict ? ` ${onConflict}` : '';
  return sqliteMultiRow(
    columns.length,
    `${columns.length} columns`,
    (rows) => `${head}${repeated(placeholders(columns.length), rows)}${tail}`,
  );
}

/**
 * Many rows' `columns` set by `key` in one UPDATE … FROM (VALUES …): a row's values are its key,
 * then the columns' new values. Name each key once a call (a key listed twice is set from
 * either of its rows).
 */
export function sqliteMultiUpdate(
  table: string,
  key: string,
  columns: readonly string[],
): (sqlite: BetterSqlite3.Database) => MultiRow {
  const set = columns.map((c, i) => `"${c}" = "v"."column${i + 2}"`).join(', ');
  return sqliteMultiRow(
    columns.length + 1,
    `a key and ${columns.length} columns`,
    (rows) =>
      `update "${table}" set ${set} from (values ${repeated(placeholders(columns.length + 1), rows)}) as "v" where "${table}"."${key}" = "v"."column1"`,
  );
}
