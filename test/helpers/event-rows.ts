import type { Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { ClickClass, Database, OpenClass } from '../../src/lib/db/schema.ts';
import { runPlan, runPlanSqlite, type StatementPlan } from '../../src/lib/events/statement-plan.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas } from '../../src/lib/counts/ledger.ts';
import { sqliteMultiInsert } from '../../src/lib/events/sqlite-multi-row.ts';
import {
  countClick,
  countOpen,
  moveClickFirsts,
  moveOpenFirsts,
  readFirsts,
  SET_CLICKED,
  SET_FIRST_OPENS,
} from '../../src/lib/tracking/delivery-firsts.ts';

/**
 * Opens and clicks written as they are (already classified), with their counts and their
 * deliveries' first times: hand-countable report data for tests and the reports benchmark. Live
 * hits go through the hit writer (src/lib/tracking/hit-writer.ts), which classifies them against
 * their delivery's history.
 */
export interface NewOpen {
  issue_id: number;
  delivery_id: number | null;
  subscriber_id: number | null;
  at: number;
  class: OpenClass;
  reason: string;
  /** The mail program's family and the device class (classify-agent.ts), when the agent was known. */
  client?: string | null;
  device?: string | null;
}

export interface NewClick {
  issue_id: number;
  link_id: number;
  delivery_id: number | null;
  subscriber_id: number | null;
  at: number;
  class: ClickClass;
  reason: string;
  client?: string | null;
  device?: string | null;
}

/** One stored open's follow-ups: its counts and its delivery's first open times. */
function* openFollowUp(r: NewOpen, deltas: CountDeltas): StatementPlan {
  countOpen(r.issue_id, r.at, r.class, deltas, r);
  if (r.delivery_id === null) return;
  const firsts = yield* readFirsts(r.delivery_id);
  if (firsts && moveOpenFirsts(r.issue_id, r.at, r.class, firsts, deltas))
    yield { run: SET_FIRST_OPENS, params: [firsts.first_any_open_at, firsts.first_opened_at, r.delivery_id] };
}

/** One stored click's follow-ups: its counts and, for a human click, its delivery's first click and clicked links. */
function* clickFollowUp(r: NewClick, deltas: CountDeltas): StatementPlan {
  countClick(r.issue_id, r.link_id, r.at, r.class, deltas, r);
  if (r.delivery_id === null || r.class !== 'human') return;
  const firsts = yield* readFirsts(r.delivery_id);
  if (firsts && moveClickFirsts(r.issue_id, r.link_id, r.at, firsts, deltas))
    yield { run: SET_CLICKED, params: [firsts.first_clicked_at, firsts.clicked_links, r.delivery_id] };
}

function* followUps<R>(
  rows: R[],
  one: (r: R, deltas: CountDeltas) => StatementPlan,
  deltas: CountDeltas,
): StatementPlan {
  for (const r of rows) yield* one(r, deltas);
}

const openRows = sqliteMultiInsert('opens', [
  'issue_id',
  'delivery_id',
  'subscriber_id',
  'at',
  'class',
  'reason',
  'client',
  'device',
]);
const clickRows = sqliteMultiInsert('clicks', [
  'issue_id',
  'link_id',
  'delivery_id',
  'subscriber_id',
  'at',
  'class',
  'reason',
  'client',
  'device',
]);

function insertOpensSqlite(sqlite: BetterSqlite3.Database, rows: NewOpen[]): void {
  const values: unknown[] = [];
  for (const r of rows)
    values.push(
      r.issue_id,
      r.delivery_id,
      r.subscriber_id,
      r.at,
      r.class,
      r.reason,
      r.client ?? null,
      r.device ?? null,
    );
  openRows(sqlite).run(values);
  const deltas = new CountDeltas();
  runPlanSqlite(sqlite, followUps(rows, openFollowUp, deltas));
  addReportCountsSqlite(sqlite, deltas);
}

function insertClicksSqlite(sqlite: BetterSqlite3.Database, rows: NewClick[]): void {
  const values: unknown[] = [];
  for (const r of rows)
    values.push(
      r.issue_id,
      r.link_id,
      r.delivery_id,
      r.subscriber_id,
      r.at,
      r.class,
      r.reason,
      r.client ?? null,
      r.device ?? null,
    );
  clickRows(sqlite).run(values);
  const deltas = new CountDeltas();
  runPlanSqlite(sqlite, followUps(rows, clickFollowUp, deltas));
  addReportCountsSqlite(sqlite, deltas);
}

async function insertOpens(trx: Transaction<Database>, rows: NewOpen[]): Promise<void> {
  await trx.insertInto('opens').values(rows).execute();
  const deltas = new CountDeltas();
  await runPlan(trx, followUps(rows, openFollowUp, deltas));
  await addReportCounts(trx, deltas);
}

async function insertClicks(trx: Transaction<Database>, rows: NewClick[]): Promise<void> {
  await trx.insertInto('clicks').values(rows).execute();
  const deltas = new CountDeltas();
  await runPlan(trx, followUps(rows, clickFollowUp, deltas));
  await addReportCounts(trx, deltas);
}

export const openInserter = { kysely: insertOpens, sqlite: insertOpensSqlite };
export const clickInserter = { kysely: insertClicks, sqlite: insertClicksSqlite };
