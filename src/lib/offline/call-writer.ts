import type { Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../db/schema.ts';
import type { BatchInserter } from '../events/event-writer.ts';
import { sqliteMultiInsert } from '../events/sqlite-multi-row.ts';
import { addReportCounts, addReportCountsSqlite } from '../counts/ledger.ts';
import { creditedIssue } from './issue-credit.ts';
import { dialectOf, type DB } from '../db/database.ts';
import { findIssuesByTrackedPhoneHash } from '../issues/issues.repository.ts';
import { findSubscribersByPhoneHashes } from '../subscribers/subscribers.repository.ts';
import { findOfflineEventsByClientIds, insertNewOfflineEvents } from './offline-events.repository.ts';
import type { OfflineEventRow } from './offline-events.repository.ts';
import { offlineEventDeltas } from './offline-counts.ts';
import { lockAdvisoryKeys } from '../db/advisory-locks.ts';
import { addCallers, findCallersOnRecord } from './callers.repository.ts';
import { callerLockKey, callIdLockKey } from './call-locks.ts';

/**
 * The event writer's inserter for calls a phone provider reported (the webhooks): many calls in
 * one transaction, each answered only after it committed (src/lib/events/event-writer.ts). Per
 * call, in arrival order, inside the batch's transaction:
 *
 *   1. credited to the issue whose tracked number was called (the latest that had started going
 *      out by the time of the call: creditedIssue's rule);
 *   2. linked to the one subscriber whose phone hash is the caller's;
 *   3. a repeat caller's when a counted call from the same caller hash is on record (a row in
 *      `callers`) — a call earlier in this batch included;
 *   4. inserted once per client id (`twilio:<CallSid>`, …): a client id already stored, by an
 *      earlier batch, another process or a call earlier in this batch, inserts nothing and
 *      answers the stored row as a duplicate.
 *
 * The batch's look-ups are made once for all its calls (issues by called number, subscribers
 * and callers by hash; on PostgreSQL the stored client ids too), then its calls are judged in
 * order in JavaScript: nothing else writes what was read until the transaction ends (SQLite's
 * one writer; PostgreSQL's advisory locks, lockCalls). The maintained counts of the batch's new
 * calls go in with one upsert, and its first-time callers into `callers` with one insert (a
 * repeat caller's call writes nothing there), in the same transaction. PostgreSQL
 * inserts the new calls with one statement; SQLite with a statement a call prepared once per
 * connection, synchronously (docs/performance.md, "Calls").
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
    if (call.from_hash) keys.add(callerLockKey(call.from_hash));
    if (call.client_id) keys.add(callIdLockKey(call.client_id));
  }
  await lockAdvisoryKeys(trx, keys);
}

/** What a batch's look-ups found, and how its calls are judged against them in order. */
class CallJudge {
  /** Caller hashes with a counted call on record, this batch's new calls included as they are judged. */
  readonly called: Set<string>;
  /** Subscriber by phone hash; null for a hash two share (a shared line links nobody). */
  readonly #subscriberOf = new Map<string, number | null>();
  readonly #issuesOf: (toHash: string) => readonly { id: number; created_at: number }[];

  constructor(
    called: Iterable<string>,
    subscribers: Iterable<{ phone_hash: string; id: number }>,
    issuesOf: (toHash: string) => readonly { id: number; created_at: number }[],
  ) {
    this.called = new Set(called);
    for (const { phone_hash, id } of subscribers)
      this.#subscriberOf.set(phone_hash, this.#subscriberOf.has(phone_hash) ? null : id);
    this.#issuesOf = issuesOf;
  }

  /** The call as a new event row: its issue, subscriber and first-time or repeat. */
  judge(call: CallRow) {
    const issueId = call.to_hash ? creditedIssue(this.#issuesOf(call.to_hash), call.at) : null;
    const fromHash = call.from_hash;
    const subscriberId = fromHash ? (this.#subscriberOf.get(fromHash) ?? null) : null;
    const repeat = fromHash ? (this.called.has(fromHash) ? 1 : 0) : null;
    return newEvent(call, issueId, subscriberId, repeat);
  }

  /**
   * The call went in: counted from now on, so the batch's next call from this caller is a repeat
   * caller's. A caller not on record until now goes to `firstTime` (their row in `callers` to add).
   */
  stored(call: CallRow, firstTime: string[]): void {
    if (!call.from_hash || this.called.has(call.from_hash)) return;
    this.called.add(call.from_hash);
    firstTime.push(call.from_hash);
  }
}

const distinct = (values: readonly (string | null)[]) => [...new Set(values)].filter((v): v is string => v !== null);

/** PostgreSQL rows a statement (15 columns: under its 65,535 parameters). */
const PG_CHUNK = 4000;

async function writeCallsKysely(trx: Transaction<Database>, calls: CallRow[]): Promise<CallResult[]> {
  if (dialectOf(trx) === 'postgres') await lockCalls(trx, calls);
  const hashes = distinct(calls.map((c) => c.from_hash));
  const clientIds = distinct(calls.map((c) => c.client_id));
  const issues = new Map<string, { id: number; created_at: number }[]>();
  for (const hash of distinct(calls.map((c) => c.to_hash)))
    issues.set(hash, await findIssuesByTrackedPhoneHash(trx, hash));
  const judge = new CallJudge(
    await findCallersOnRecord(trx, hashes),
    await findSubscribersByPhoneHashes(trx, hashes),
    (hash) => issues.get(hash) ?? [],
  );
  const stored = new Map<string, OfflineEventRow | null>();
  for (const row of await findOfflineEventsByClientIds(trx, clientIds)) stored.set(row.client_id!, row);

  // In order: a client id stored (before, or by a call earlier in the batch) is a duplicate.
  const fresh: ReturnType<CallJudge['judge']>[] = [];
  const isFresh: boolean[] = [];
  const firstTime: string[] = [];
  for (const call of calls) {
    const duplicate = call.client_id !== null && stored.has(call.client_id);
    isFresh.push(!duplicate);
    if (duplicate) continue;
    if (call.client_id !== null) stored.set(call.client_id, null);
    fresh.push(judge.judge(call));
    judge.stored(call, firstTime);
  }
  const inserted: OfflineEventRow[] = [];
  for (let at = 0; at < fresh.length; at += PG_CHUNK)
    inserted.push(...(await insertNewOfflineEvents(trx, fresh.slice(at, at + PG_CHUNK))));
  // The locks (SQLite: its one writer) leave nobody else to insert these client ids meanwhile.
  if (inserted.length !== fresh.length)
    throw new Error(`calls: ${fresh.length - inserted.length} neither inserted nor found`);
  for (const row of inserted) if (row.client_id !== null) stored.set(row.client_id, row);
  // Rows without a client id come back in the order they were sent (one VALUES list).
  const anonymous = inserted.filter((row) => row.client_id === null);
  const results: CallResult[] = calls.map((call, i) =>
    call.client_id === null
      ? { row: anonymous.shift()!, duplicate: false }
      : { row: stored.get(call.client_id)!, duplicate: !isFresh[i] },
  );
  if (inserted.length > 0) {
    await addReportCounts(trx, offlineEventDeltas(inserted, 1));
    await addCallers(trx, firstTime);
  }
  return results;
}

// SQLite: the same queries as statements prepared once per connection (each better-sqlite3 call
// has a fixed cost; docs/performance.md, "Calls"), run synchronously inside the writer's
// transaction, where nothing else writes.
const SQL = {
  /** Every issue whose tracked number has this hash and that started going out, latest first (findIssuesByTrackedPhoneHash). */
  issues:
    'select "issue_id", "created_at" from "issue_snapshots" where "tracked_phone_hash" = ? order by "created_at" desc, "issue_id" desc',
  insert:
    'insert into "offline_events" ("kind", "at", "recorded_at", "source", "recorded_by", "mentioned_newsletter", "note", "issue_id", "client_id", "from_hash", "to_hash", "duration_s", "answered", "subscriber_id", "repeat_caller") values (\'call\', ?, ?, \'webhook\', null, null, null, ?, ?, ?, ?, ?, ?, ?, ?) on conflict ("client_id") do nothing',
  byClientId: 'select * from "offline_events" where "client_id" = ?',
};
/** Up to 32 hashes a statement (a statement prepared per count). */
const IN_CHUNK = 32;
const inList = (n: number) => new Array(n).fill('?').join(', ');
/** Subscribers by phone hash (findSubscribersByPhoneHashes). */
const subscribersText = (n: number) =>
  `select "phone_hash", "id" from "subscribers" where "phone_hash" in (${inList(n)})`;
/** Caller hashes with a counted call on record (findCallersOnRecord). */
const calledText = (n: number) => `select "from_hash" from "callers" where "from_hash" in (${inList(n)})`;
/** The batch's first-time callers (addCallers). */
const addCallersSqlite = sqliteMultiInsert('callers', ['from_hash'], 'on conflict ("from_hash") do nothing');

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
      insert: sqlite.prepare(SQL.insert),
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
    for (const row of statement.all(...keys.slice(at, at + n)) as unknown[][]) each(row);
  }
}

function writeCallsSqlite(sqlite: BetterSqlite3.Database, calls: CallRow[]): CallResult[] {
  const s = statementsOf(sqlite);
  const hashes = distinct(calls.map((c) => c.from_hash));
  const subscribers: { phone_hash: string; id: number }[] = [];
  eachIn(sqlite, s.subscribers, subscribersText, hashes, ([hash, id]) =>
    subscribers.push({ phone_hash: hash as string, id: Number(id) }),
  );
  const called: string[] = [];
  eachIn(sqlite, s.called, calledText, hashes, ([hash]) => called.push(hash as string));
  const issues = new Map<string, { id: number; created_at: number }[]>();
  const judge = new CallJudge(called, subscribers, (toHash) => {
    let found = issues.get(toHash);
    if (!found)
      issues.set(
        toHash,
        (found = (s.issues.all(toHash) as unknown[][]).map(([id, createdAt]) => ({
          id: Number(id),
          created_at: Number(createdAt),
        }))),
      );
    return found;
  });

  const results: CallResult[] = [];
  const inserted: OfflineEventRow[] = [];
  const firstTime: string[] = [];
  for (const call of calls) {
    const event = judge.judge(call);
    // run(), not RETURNING: SQLite buffers a RETURNING statement's rows before the first comes
    // back; the new id is the connection's last rowid (none when the client id was stored).
    const { changes, lastInsertRowid } = s.insert.run(
      call.at,
      call.recorded_at,
      event.issue_id,
      call.client_id,
      call.from_hash,
      call.to_hash,
      call.duration_s,
      call.answered,
      event.subscriber_id,
      event.repeat_caller,
    );
    if (changes === 1) {
      const id = Number(lastInsertRowid);
      judge.stored(call, firstTime);
      const row = { ...event, id, undone_at: null, undone_by: null };
      inserted.push(row);
      results.push({ row, duplicate: false });
      continue;
    }
    const existing = call.client_id ? (s.byClientId.get(call.client_id) as OfflineEventRow | undefined) : undefined;
    if (!existing) throw new Error(`call ${call.client_id} neither inserted nor found`);
    results.push({ row: existing, duplicate: true });
  }
  if (inserted.length > 0) addReportCountsSqlite(sqlite, offlineEventDeltas(inserted, 1));
  if (firstTime.length > 0) addCallersSqlite(sqlite).run(firstTime);
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
