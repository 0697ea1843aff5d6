import { CompiledQuery, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { deferrableWrite, keptPrepared } from '../db/pipelined-postgres.ts';

/**
 * Follow-up work of a batch (first-event times, re-labelling, unique clickers) written once
 * as a generator of SQL statements with `?` placeholders, and run either synchronously on
 * SQLite inside the writer's raw transaction (prepared statements cached per connection) or
 * asynchronously on PostgreSQL inside the writer's Kysely transaction. Each step receives the
 * statement's rows (`all`), its first row or undefined (`get`) or its number of changed rows
 * (`run`). A `write` is a statement whose outcome the plan does not need (an INSERT or UPDATE):
 * on PostgreSQL it is held back and sent with the next step that reads, or with COMMIT, in one
 * round trip (src/lib/db/pipelined-postgres.ts). `prepared`: the text is one of a fixed few (no
 * variant per row count), which PostgreSQL then keeps prepared on each connection. Keep the SQL
 * portable, or give PostgreSQL its own text.
 */
export type Step = (
  | { all: string; params: unknown[] }
  | { get: string; params: unknown[] }
  | { run: string; params: unknown[] }
  | { write: string; params: unknown[] }
) & { prepared?: boolean };
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

/** Texts with `?` → `$1, $2, …` (the plans never put a question mark inside a literal), made once a text. */
const numberedTexts = new Map<string, string>();

function numbered(text: string): string {
  let out = numberedTexts.get(text);
  if (out === undefined) {
    const parts = text.split('?');
    out = parts[0]!;
    for (let i = 1; i < parts.length; i++) out += `$${i}${parts[i]}`;
    if (numberedTexts.size > 1000) numberedTexts.clear();
    numberedTexts.set(text, out);
  }
  return out;
}

/** A plan's statement for PostgreSQL: numbered placeholders; kept prepared when its text is one of a fixed few. */
function compiled(step: Step, text: string): CompiledQuery {
  const query = CompiledQuery.raw(numbered(text), step.params);
  return step.prepared ? keptPrepared(query) : query;
}

export async function runPlan(trx: Transaction<any>, plan: StatementPlan): Promise<void> {
  let answer: unknown;
  for (;;) {
    const next = plan.next(answer);
    if (next.done) return;
    const step = next.value;
    if ('write' in step) {
      answer = undefined;
      await trx.executeQuery(deferrableWrite(compiled(step, step.write)));
      continue;
    }
    const text = 'get' in step ? step.get : 'all' in step ? step.all : step.run;
    const result = await trx.executeQuery(compiled(step, text));
    answer = 'get' in step ? result.rows[0] : 'all' in step ? result.rows : Number(result.numAffectedRows ?? 0n);
  }
}
