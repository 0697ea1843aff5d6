import { CompiledQuery, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * Follow-up work of a batch (first-event times, re-labelling, unique clickers) written once
 * as a generator of SQL statements with `?` placeholders, and run either synchronously on
 * SQLite inside the writer's raw transaction (prepared statements cached per connection) or
 * asynchronously on PostgreSQL inside the writer's Kysely transaction. Each step receives the
 * statement's rows (`all`), its first row or undefined (`get`) or its number of changed rows
 * (`run`). Keep the SQL portable.
 */
export type Step = { all: string; params: unknown[] } | { get: string; params: unknown[] } | { run: string; params: unknown[] };
export type StatementPlan = Generator<Step, void, unknown>;

const prepared = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

function statement(sqlite: BetterSqlite3.Database, text: string): BetterSqlite3.Statement {
  let byText = prepared.get(sqlite);
  if (!byText) prepared.set(sqlite, (byText = new Map()));
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
    else answer = statement(sqlite, step.run).run(...step.params).changes;
  }
}

const dollarText = new Map<string, string>();

/** `?` → `$1, $2, …` (the plans never put a question mark inside a literal). */
function forPostgres(text: string): string {
  let converted = dollarText.get(text);
  if (converted === undefined) {
    let i = 0;
    converted = text.replace(/\?/g, () => `$${++i}`);
    if (dollarText.size > 500) dollarText.clear();
    dollarText.set(text, converted);
  }
  return converted;
}

export async function runPlan(trx: Transaction<any>, plan: StatementPlan): Promise<void> {
  let answer: unknown;
  for (;;) {
    const next = plan.next(answer);
    if (next.done) return;
    const step = next.value;
    const text = 'get' in step ? step.get : 'all' in step ? step.all : step.run;
    const result = await trx.executeQuery(CompiledQuery.raw(forPostgres(text), step.params));
    answer = 'get' in step ? result.rows[0] : 'all' in step ? result.rows : Number(result.numAffectedRows ?? 0n);
  }
}
