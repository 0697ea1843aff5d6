import { CompiledQuery, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { deferrableWrite, withValuesWritten } from '../db/pipelined-postgres.ts';

/**
 * Follow-up work of a batch (first-event times, re-labelling, unique clickers) written once
 * as a generator of SQL statements with `?` placeholders, and run either synchronously on
 * SQLite inside the writer's raw transaction (prepared statements cached per connection) or
 * asynchronously on PostgreSQL inside the writer's Kysely transaction. Each step receives the
 * statement's rows (`all`), its first row or undefined (`get`) or its number of changed rows
 * (`run`). A `write` is a statement whose outcome the plan does not need (an INSERT or UPDATE of
 * one table): on PostgreSQL consecutive writes of different tables go as one statement (each a
 * data-modifying WITH clause), sent before the next step that reads and at the plan's end — a
 * round trip each saved. Keep the SQL portable.
 */
export type Step =
  | { all: string; params: unknown[] }
  | { get: string; params: unknown[] }
  | { run: string; params: unknown[] }
  | { write: string; params: unknown[] };
export type StatementPlan = Generator<Step, void, unknown>;

const prepared = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

function statement(sqlite: BetterSqlite3.Database, text: string): BetterSqlite3.Statement {
  let byText = prepared.get(sqlite);
  if (!byText) prepared.set(sqlite, (byText = new Map<string, BetterSqlite3.Statement>()));
  let found = byText.get(text);
  if (!found) byText.set(text, (found = sqlite.prepare(text)));
  return found;
}

export function runPlanSqlite(sqlite: BetterSqlite3.Database, plan: StatementPlan): void {
  let answer: unknown;
  for (;;) {
    const next = plan.next(answer);
    if (next.done) return;
    const step = next.value;
    if ('get' in step) answer = statement(sqlite, step.get).get(...step.params);
    else if ('all' in step) answer = statement(sqlite, step.all).all(...step.params);
    else if ('run' in step) answer = statement(sqlite, step.run).run(...step.params).changes;
    else {
      statement(sqlite, step.write).run(...step.params);
      answer = undefined;
    }
  }
}

/** A statement's text split at its `?`s (the plans never put a question mark inside a literal). */
const textParts = new Map<string, string[]>();

function partsOf(text: string): string[] {
  let parts = textParts.get(text);
  if (parts === undefined) {
    parts = text.split('?');
    if (textParts.size > 1000) textParts.clear();
    textParts.set(text, parts);
  }
  return parts;
}

/** `?` → `$n, $n+1, …` from `first`. */
function numbered(text: string, first: number): string {
  const parts = partsOf(text);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i++) out += `$${first + i - 1}${parts[i]}`;
  return out;
}

/** PostgreSQL's limit on one statement's parameters. */
const MAX_PARAMETERS = 65_535;
const WRITTEN_TABLE = /^\s*(?:insert\s+into|update)\s+"([^"]+)"/i;

/** Writes waiting to go as one statement: each table at most once (a statement must not change a row twice). */
class PendingWrites {
  /** The writes' texts (`?` placeholders), numbered in turn when sent. */
  texts: string[] = [];
  params: unknown[] = [];
  tables = new Set<string>();

  /** False when the write cannot join these (same table, too many parameters, not a plain INSERT/UPDATE). */
  add(text: string, params: unknown[]): boolean {
    const table = WRITTEN_TABLE.exec(text)?.[1];
    if (table === undefined) return false;
    if (this.texts.length > 0 && (this.tables.has(table) || this.params.length + params.length > MAX_PARAMETERS))
      return false;
    this.texts.push(text);
    for (const p of params) this.params.push(p);
    this.tables.add(table);
    return true;
  }

  /**
   * As one statement, each write but the last a data-modifying WITH clause. Deferrable: the
   * plan never reads a write's outcome, so in a transaction it may travel with the next statement
   * or the COMMIT (src/lib/db/pipelined-postgres.ts).
   */
  async send(trx: Transaction<any>): Promise<void> {
    const n = this.texts.length;
    if (n === 0) return;
    const text =
      n === 1
        ? this.texts[0]!
        : `with ${this.texts
            .slice(0, -1)
            .map((t, i) => `"w${i}" as (${t})`)
            .join(', ')} ${this.texts[n - 1]}`;
    const params = this.params;
    this.texts = [];
    this.params = [];
    this.tables.clear();
    await trx.executeQuery(deferrableWrite(compiled(text, params)));
  }
}

/** A plan's statement for PostgreSQL: numbered placeholders, and its text with the values written in for the pipelined driver. */
function compiled(text: string, params: unknown[]): CompiledQuery {
  return withValuesWritten(CompiledQuery.raw(numbered(text, 1), params), partsOf(text), params);
}

export async function runPlan(trx: Transaction<any>, plan: StatementPlan): Promise<void> {
  const writes = new PendingWrites();
  let answer: unknown;
  for (;;) {
    const next = plan.next(answer);
    if (next.done) return writes.send(trx);
    const step = next.value;
    if ('write' in step) {
      answer = undefined;
      if (writes.add(step.write, step.params)) continue;
      await writes.send(trx);
      if (writes.add(step.write, step.params)) continue;
      await trx.executeQuery(deferrableWrite(compiled(step.write, step.params)));
      continue;
    }
    await writes.send(trx);
    const text = 'get' in step ? step.get : 'all' in step ? step.all : step.run;
    const result = await trx.executeQuery(compiled(text, step.params));
    answer = 'get' in step ? result.rows[0] : 'all' in step ? result.rows : Number(result.numAffectedRows ?? 0n);
  }
}
