import { CompiledQuery, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/schema.ts';
import type { BatchInserter } from '../events/event-writer.ts';
import { addReportCounts, addReportCountsSqlite, CountDeltas } from '../counts/ledger.ts';
import { creditIssueByCalledHash } from './issue-credit.ts';
import { dialectOf, type DB } from '../db/database.ts';
import { findSubscriberIdByPhoneHash } from '../subscribers/subscribers.repository.ts';
import { findOfflineEventByClientId, hasCallFrom, insertOfflineEventIfNew } from './offline-events.repository.ts';
import type { OfflineEventRow } from './offline-events.repository.ts';
import { offlineEventDeltas } from './offline-counts.ts';

/**
 * The event writer's inserter for calls a phone provider reported (the webhooks): many calls in
 * one transaction, each answered only after it committed (src/lib/events/event-writer.ts). Per
 * call, in arrival order, inside the batch's transaction:
 *
 *   1. credited to the issue whose tracked number was called (the latest that had started going
 *      out by the time of the call: creditIssueByNumber's rule);
 *   2. linked to the one subscriber whose phone hash is the caller's;
 *   3. a repeat caller's when a counted call from the same caller hash is on record — a call
 *      earlier in this batch included, since it was inserted before this one is judged;
 *   4. inserted once per client id (`twilio:<CallSid>`, …): a client id already stored, by an
 *      earlier batch, another process or a call earlier in this batch, inserts nothing and
 *      answers the stored row as a duplicate.
 *
 * The maintained counts of the batch's new calls go in with one upsert, in the same transaction.
 * PostgreSQL runs the repository's queries (the unique client id makes a second process's insert
 * wait for the first's commit, then insert nothing); SQLite runs the same queries as statements
 * prepared once per connection, synchronously (docs/performance.md, "Calls").
 */
export interface CallRow {
  at: number;
  recorded_at: number;
  client_id: string | null;
  /** The caller's number as a keyed hash; null when the provider did not say. */
  from_hash: string | null;
  /** The called number as the same keyed hash (credited by it); null when the provider did not say. */
  to_hash: string | null;
  duration_s: number | null;
  /** 1 answered, 0 missed, null not said. */
  answered: number | null;
}

/** What a call came to: the stored row (the earlier one for a duplicate). */
export interface CallResult {
  row: OfflineEventRow;
  duplicate: boolean;
}

const newEvent = (call: CallRow, issueId: number | null, subscriberId: number | null, repeat: number | null) => ({
  kind: 'call' as const,
  at: call.at,
  recorded_at: call.recorded_at,
  source: 'webhook' as const,
  recorded_by: null,
  mentioned_newsletter: null,
  note: null,
  issue_id: issueId,
  client_id: call.client_id,
  from_hash: call.from_hash,
  to_hash: call.to_hash,
  duration_s: call.duration_s,
  answered: call.answered,
  subscriber_id: subscriberId,
  repeat_caller: repeat,
});

/** Advisory lock keys of calls, apart from the tracking writer's (batch-locks.ts: deliveries' rows, visitors at 2^40 + …). */
const CALL_LOCK_SPACE = 2 ** 41;

/** FNV-1a, 32 bits: two keys sharing a lock only serialise them. */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * PostgreSQL: before anything is read, the batch's callers (their hashes) and call ids are locked
 * (transaction-scoped advisory locks, in key order, after the tracking locks every batch takes
 * first). Another process's batch — or this one's next, several commit at once — with the same
 * caller or call id waits for this one's commit, then reads the call it stored: one first-time
 * call a caller, and a replay never waits on the unique index in an order that could deadlock.
 */
async function lockCalls(trx: Transaction<Database>, calls: readonly CallRow[]): Promise<void> {
  const keys = new Set<number>();
  for (const call of calls) {
    if (call.from_hash) keys.add(CALL_LOCK_SPACE + keyHash(`from:${call.from_hash}`));
    if (call.client_id) keys.add(CALL_LOCK_SPACE + keyHash(`id:${call.client_id}`));
  }
  if (keys.size === 0) return;
  const sorted = [...keys].sort((a, b) => a - b);
  await trx.executeQuery(CompiledQuery.raw('select pg_advisory_xact_lock(k) from unnest($1::bigint[]) as k', [sorted]));
}

async function writeCallsKysely(trx: Transaction<Database>, calls: CallRow[]): Promise<CallResult[]> {
  if (dialectOf(trx) === 'postgres') await lockCalls(trx, calls);
  const results: CallResult[] = [];
  const stored: OfflineEventRow[] = [];
  for (const call of calls) {
    const issueId = await creditIssueByCalledHash(trx, call.to_hash, call.at);
    const fromHash = call.from_hash;
    const subscriberId = fromHash ? ((await findSubscriberIdByPhoneHash(trx, fromHash)) ?? null) : null;
    const repeat = fromHash ? ((await hasCallFrom(trx, fromHash)) ? 1 : 0) : null;
    const inserted = await insertOfflineEventIfNew(trx, newEvent(call, issueId, subscriberId, repeat));
    if (inserted) {
      stored.push(inserted);
      results.push({ row: inserted, duplicate: false });
      continue;
    }
    const existing = call.client_id ? await findOfflineEventByClientId(trx, call.client_id) : undefined;
    if (!existing) throw new Error(`call ${call.client_id} neither inserted nor found`);
    results.push({ row: existing, duplicate: true });
  }
  if (stored.length > 0) await addReportCounts(trx, offlineEventDeltas(stored, 1));
  return results;
}

// SQLite: the same rules, with the batch's look-ups made once for all its calls (each
// better-sqlite3 call has a fixed cost, and most of a call's time went to four look-ups of its
// own; docs/performance.md, "Calls"). Inside the synchronous transaction nothing else writes, so
// what is read at its start stays true but for this batch's own calls, which are applied in order.
const SQL = {
  /** Every issue whose tracked number has this hash and that started going out, latest first (creditIssueByCalledHash's order). */
  issues:
    'select "issue_id", "created_at" from "issue_snapshots" where "tracked_phone_hash" = ? order by "created_at" desc, "issue_id" desc',
  insert:
    'insert into "offline_events" ("kind", "at", "recorded_at", "source", "recorded_by", "mentioned_newsletter", "note", "issue_id", "client_id", "from_hash", "to_hash", "duration_s", "answered", "subscriber_id", "repeat_caller") values (\'call\', ?, ?, \'webhook\', null, null, null, ?, ?, ?, ?, ?, ?, ?, ?) on conflict ("client_id") do nothing returning "id"',
  byClientId: 'select * from "offline_events" where "client_id" = ?',
};
/** Up to 32 hashes a statement (a statement prepared per count). */
const IN_CHUNK = 32;
const inList = (n: number) => new Array(n).fill('?').join(', ');
/** Subscribers by phone hash (findSubscriberIdByPhoneHash: a hash that two share links nobody). */
const subscribersText = (n: number) =>
  `select "phone_hash", "id" from "subscribers" where "phone_hash" in (${inList(n)})`;
/**
 * Caller hashes with a counted call on record (hasCallFrom): EXISTS stops at a hash's first call,
 * where `from_hash in (…)` would read every call a regular caller ever made.
 */
const calledText = (n: number) =>
  `with "h"("x") as (values ${new Array(n).fill('(?)').join(', ')}) select "x" from "h" where exists (select 1 from "offline_events" where "from_hash" = "h"."x" and "kind" = 'call' and "undone_at" is null)`;

interface Statements {
  issues: BetterSqlite3.Statement;
  insert: BetterSqlite3.Statement;
  byClientId: BetterSqlite3.Statement;
  subscribers: BetterSqlite3.Statement[];
  called: BetterSqlite3.Statement[];
}
const prepared = new WeakMap<BetterSqlite3.Database, Statements>();

function statementsOf(sqlite: BetterSqlite3.Database): Statements {
  let s = prepared.get(sqlite);
  if (!s) {
    s = {
      issues: sqlite.prepare(SQL.issues).raw(),
      insert: sqlite.prepare(SQL.insert).pluck(),
      byClientId: sqlite.prepare(SQL.byClientId),
      subscribers: [],
      called: [],
    };
    prepared.set(sqlite, s);
  }
  return s;
}

/** Runs `text(n)` over `keys`, up to IN_CHUNK a statement, and hands each row to `each`. */
function eachIn(
  sqlite: BetterSqlite3.Database,
  cache: BetterSqlite3.Statement[],
  text: (n: number) => string,
  keys: readonly string[],
  each: (row: unknown[]) => void,
): void {
  for (let at = 0; at < keys.length; at += IN_CHUNK) {
    const n = Math.min(IN_CHUNK, keys.length - at);
    const statement = (cache[n] ??= sqlite.prepare(text(n)).raw());
    for (const row of statement.iterate(...keys.slice(at, at + n))) each(row as unknown[]);
  }
}

function writeCallsSqlite(sqlite: BetterSqlite3.Database, calls: CallRow[]): CallResult[] {
  const s = statementsOf(sqlite);
  const hashes = [...new Set(calls.map((c) => c.from_hash).filter((h): h is string => h !== null))];
  // A hash two subscribers share links nobody (null).
  const subscriberOf = new Map<string, number | null>();
  eachIn(sqlite, s.subscribers, subscribersText, hashes, ([hash, id]) => {
    const key = hash as string;
    subscriberOf.set(key, subscriberOf.has(key) ? null : Number(id));
  });
  const called = new Set<string>();
  eachIn(sqlite, s.called, calledText, hashes, ([hash]) => called.add(hash as string));
  const issuesOf = new Map<string, unknown[][]>();

  const results: CallResult[] = [];
  const deltas = new CountDeltas();
  let counted = false;
  for (const call of calls) {
    let issueId: number | null = null;
    if (call.to_hash) {
      let issues = issuesOf.get(call.to_hash);
      if (!issues) issuesOf.set(call.to_hash, (issues = s.issues.all(call.to_hash) as unknown[][]));
      const credited = issues.find(([, createdAt]) => Number(createdAt) <= call.at);
      issueId = credited ? Number(credited[0]) : null;
    }
    const fromHash = call.from_hash;
    const subscriberId = fromHash ? (subscriberOf.get(fromHash) ?? null) : null;
    const repeat = fromHash ? (called.has(fromHash) ? 1 : 0) : null;
    const id = s.insert.get(
      call.at,
      call.recorded_at,
      issueId,
      call.client_id,
      fromHash,
      call.to_hash,
      call.duration_s,
      call.answered,
      subscriberId,
      repeat,
    ) as number | undefined;
    if (id !== undefined) {
      // Counted from now on: the batch's next call from this caller is a repeat caller's.
      if (fromHash) called.add(fromHash);
      const row = { ...newEvent(call, issueId, subscriberId, repeat), id, undone_at: null, undone_by: null };
      offlineEventDeltas([row], 1, deltas);
      counted = true;
      results.push({ row, duplicate: false });
      continue;
    }
    const existing = call.client_id ? (s.byClientId.get(call.client_id) as OfflineEventRow | undefined) : undefined;
    if (!existing) throw new Error(`call ${call.client_id} neither inserted nor found`);
    results.push({ row: existing, duplicate: true });
  }
  if (counted) addReportCountsSqlite(sqlite, deltas);
  return results;
}

export const callInserter: BatchInserter<Database, CallRow> & {
  kysely: (trx: Transaction<Database>, rows: CallRow[]) => Promise<CallResult[]>;
  sqlite: (sqlite: BetterSqlite3.Database, rows: CallRow[]) => CallResult[];
} = {
  kysely: writeCallsKysely,
  sqlite: writeCallsSqlite,
};

/** Where a call is written: the event writer's handle for callInserter, or one transaction of its own (storeCall). */
export interface CallStore {
  write(row: CallRow): Promise<CallResult>;
}

/** One call in a transaction of its own, outside the server (the demo generator): the inserter's rules all the same. */
export async function storeCall(db: DB, row: CallRow): Promise<CallResult> {
  return db.transaction().execute(async (trx) => (await writeCallsKysely(trx, [row]))[0]!);
}
