import { sql, type Insertable, type Selectable, type Transaction } from 'kysely';
import { dialectOf, type DB } from '../db/database.ts';
import type { Database, OfflineEventKind, OfflineEventSource, OfflineEventTable } from '../db/schema.ts';

/** Queries of offline events: one query a function, `db` first. Rules live in offline-events.service.ts. */
type Db = DB | Transaction<Database>;

export type OfflineEventRow = Selectable<OfflineEventTable>;
export type NewOfflineEvent = Insertable<OfflineEventTable>;

/** Inserts one event; with a `client_id` already stored, inserts nothing and answers undefined. */
export async function insertOfflineEventIfNew(db: Db, row: NewOfflineEvent): Promise<OfflineEventRow | undefined> {
  return db
    .insertInto('offline_events')
    .values(row)
    .onConflict((oc) => oc.column('client_id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Many rows in one statement; rows whose `client_id` is already stored are skipped. Answers the rows that went in. */
export async function insertOfflineEventsIfNew(
  db: Db,
  rows: readonly NewOfflineEvent[],
): Promise<Pick<OfflineEventRow, 'kind' | 'at' | 'mentioned_newsletter' | 'issue_id'>[]> {
  if (rows.length === 0) return [];
  return db
    .insertInto('offline_events')
    .values(rows as NewOfflineEvent[])
    .onConflict((oc) => oc.column('client_id').doNothing())
    .returning(['kind', 'at', 'mentioned_newsletter', 'issue_id'])
    .execute();
}

/** Many rows in one statement, each answered in full; rows whose `client_id` is already stored are skipped. */
export async function insertNewOfflineEvents(db: Db, rows: readonly NewOfflineEvent[]): Promise<OfflineEventRow[]> {
  if (rows.length === 0) return [];
  return db
    .insertInto('offline_events')
    .values(rows)
    .onConflict((oc) => oc.column('client_id').doNothing())
    .returningAll()
    .execute();
}

/** The stored events with these client ids. */
export async function findOfflineEventsByClientIds(db: Db, clientIds: readonly string[]): Promise<OfflineEventRow[]> {
  if (clientIds.length === 0) return [];
  return db.selectFrom('offline_events').selectAll().where('client_id', 'in', clientIds).execute();
}

export async function findOfflineEventById(db: Db, id: number): Promise<OfflineEventRow | undefined> {
  return db.selectFrom('offline_events').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOfflineEventByClientId(db: Db, clientId: string): Promise<OfflineEventRow | undefined> {
  return db.selectFrom('offline_events').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

/** Which of these client ids are stored already (a chunk of a CSV import). */
export async function findExistingClientIds(db: Db, clientIds: readonly string[]): Promise<string[]> {
  if (clientIds.length === 0) return [];
  const rows = await db.selectFrom('offline_events').select('client_id').where('client_id', 'in', clientIds).execute();
  return rows.map((r) => r.client_id!);
}

/**
 * Marks a tally tap undone — only when it is `userId`'s own, from the tally page, not undone
 * yet and stored at or after `recordedSince`. Answers the row when it changed.
 */
export async function markTapUndone(
  db: Db,
  where: { id: number; userId: number; recordedSince: number },
  now: number,
): Promise<OfflineEventRow | undefined> {
  return db
    .updateTable('offline_events')
    .set({ undone_at: now, undone_by: where.userId })
    .where('id', '=', where.id)
    .where('recorded_by', '=', where.userId)
    .where('source', '=', 'tally')
    .where('undone_at', 'is', null)
    .where('recorded_at', '>=', where.recordedSince)
    .returningAll()
    .executeTakeFirst();
}

/** Removes (`undoneAt` a time) or restores (null) any event; answers the row when it changed. */
export async function setUndone(
  db: Db,
  id: number,
  undone: { at: number; by: number | null } | null,
): Promise<OfflineEventRow | undefined> {
  return db
    .updateTable('offline_events')
    .set({ undone_at: undone?.at ?? null, undone_by: undone?.by ?? null })
    .where('id', '=', id)
    .where('undone_at', undone ? 'is' : 'is not', null)
    .returningAll()
    .executeTakeFirst();
}

/** `userId`'s most recent tally tap stored at or after `since` and not undone (the one Undo applies to). */
export async function findLastTap(db: Db, userId: number, since: number): Promise<OfflineEventRow | undefined> {
  return db
    .selectFrom('offline_events')
    .selectAll()
    .where('recorded_by', '=', userId)
    .where('recorded_at', '>=', since)
    .where('source', '=', 'tally')
    .where('undone_at', 'is', null)
    .orderBy('recorded_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export interface CountFilter {
  kind: OfflineEventKind;
  /** Inclusive, epoch ms. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
  issueId?: number;
}

/** Events of one kind in [from, to), undone ones not counted; only those credited to `issueId` when given. */
export async function countOfflineEvents(db: Db, filter: CountFilter): Promise<number> {
  let query = db
    .selectFrom('offline_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', filter.kind)
    .where('at', '>=', filter.from)
    .where('at', '<', filter.to)
    .where('undone_at', 'is', null);
  if (filter.issueId !== undefined) query = query.where('issue_id', '=', filter.issueId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The times (epoch ms, ascending) of every event of one kind in [from, to), undone ones left out. */
export async function offlineEventTimes(
  db: Db,
  filter: { kind: OfflineEventKind; from: number; to: number },
): Promise<number[]> {
  const rows = await db
    .selectFrom('offline_events')
    .select('at')
    .where('kind', '=', filter.kind)
    .where('at', '>=', filter.from)
    .where('at', '<', filter.to)
    .where('undone_at', 'is', null)
    .orderBy('at')
    .execute();
  return rows.map((r) => Number(r.at));
}

export interface ListFilter {
  from: number;
  to: number;
  kind?: OfflineEventKind;
  source?: OfflineEventSource;
}

export interface ListedOfflineEvent extends OfflineEventRow {
  recorded_by_name: string | null;
  issue_slug: string | null;
}

/**
 * One page of events in [from, to), newest first, by keyset: rows strictly before `before`
 * (an `at`, `id` pair), so a deep page costs what the first does. Undone rows included.
 */
export async function listOfflineEvents(
  db: Db,
  filter: ListFilter,
  page: { before?: { at: number; id: number }; limit: number },
): Promise<ListedOfflineEvent[]> {
  let query = db
    .selectFrom('offline_events')
    .leftJoin('users', 'users.id', 'offline_events.recorded_by')
    .leftJoin('issues', 'issues.id', 'offline_events.issue_id')
    .selectAll('offline_events')
    .select(['users.name as recorded_by_name', 'issues.slug as issue_slug'])
    .where('offline_events.at', '>=', filter.from)
    .where('offline_events.at', '<', filter.to);
  if (filter.kind) query = query.where('offline_events.kind', '=', filter.kind);
  if (filter.source) query = query.where('offline_events.source', '=', filter.source);
  const before = page.before;
  if (before) {
    query = query.where((eb) =>
      eb.or([
        eb('offline_events.at', '<', before.at),
        eb.and([eb('offline_events.at', '=', before.at), eb('offline_events.id', '<', before.id)]),
      ]),
    );
  }
  return query.orderBy('offline_events.at', 'desc').orderBy('offline_events.id', 'desc').limit(page.limit).execute();
}

/** Time, kind and mention of every counted event in [from, to) matching the filter: what the daily table adds up. */
export async function findEventsForCounting(
  db: Db,
  filter: ListFilter,
): Promise<{ at: number; kind: OfflineEventKind; mentioned_newsletter: number | null }[]> {
  let query = db
    .selectFrom('offline_events')
    .select(['at', 'kind', 'mentioned_newsletter'])
    .where('at', '>=', filter.from)
    .where('at', '<', filter.to)
    .where('undone_at', 'is', null);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.source) query = query.where('source', '=', filter.source);
  const rows = await query.execute();
  return rows.map((r) => ({
    at: Number(r.at),
    kind: r.kind,
    mentioned_newsletter: r.mentioned_newsletter === null ? null : Number(r.mentioned_newsletter),
  }));
}

/** Erasure: the calls linked to a subscriber lose the person (the calls stay, and stay counted). */
export async function unlinkSubscriberCalls(db: Db, subscriberId: number): Promise<void> {
  await db
    .updateTable('offline_events')
    .set({ subscriber_id: null })
    .where('subscriber_id', '=', subscriberId)
    .execute();
}

/**
 * Retention: deletes up to `limit` events dated before `cutoff`; answers what the callers' rows
 * need of each (retention.repository.ts's deleteRawEventsBefore, for this table).
 */
export async function deleteOfflineEventsBefore(
  db: Db,
  cutoff: number,
  limit: number,
): Promise<Pick<OfflineEventRow, 'kind' | 'from_hash' | 'undone_at'>[]> {
  return db
    .deleteFrom('offline_events')
    .where('id', 'in', (eb) => eb.selectFrom('offline_events').select('id').where('at', '<', cutoff).limit(limit))
    .returning(['kind', 'from_hash', 'undone_at'])
    .execute();
}

// The plain called numbers stored before they were hashed (called-numbers.ts). `to_number` is no
// longer in the schema's types: nothing may write it, and the start-up drops it once hashed.

/** Whether `offline_events` still has its plain `to_number` column. */
export async function hasPlainCalledNumbers(db: Db): Promise<boolean> {
  const { rows } =
    dialectOf(db) === 'postgres'
      ? await sql<{
          n: number;
        }>`select 1 as n from information_schema.columns where table_schema = current_schema() and table_name = 'offline_events' and column_name = 'to_number'`.execute(
          db,
        )
      : await sql<{
          n: number;
        }>`select 1 as n from pragma_table_info('offline_events') where name = 'to_number'`.execute(db);
  return rows.length > 0;
}

/**
 * Takes the write lock on `offline_events` for the rest of the transaction, so a second process
 * starting at the same moment waits, then finds the work done. SQLite: an update of no row takes
 * the database's write lock all the same.
 */
export async function lockOfflineEvents(db: Transaction<Database>): Promise<void> {
  if (dialectOf(db) === 'postgres') await sql`lock table "offline_events" in access exclusive mode`.execute(db);
  else await sql`update "offline_events" set "id" = "id" where 0 = 1`.execute(db);
}

/** The distinct plain called numbers still stored. */
export async function findPlainCalledNumbers(db: Db): Promise<string[]> {
  const { rows } = await sql<{
    to_number: string;
  }>`select distinct "to_number" from "offline_events" where "to_number" is not null`.execute(db);
  return rows.map((r) => r.to_number);
}

/** Stores `toHash` on the rows that called `toNumber` and blanks the number; answers how many rows. */
export async function hashPlainCalledNumber(db: Db, toNumber: string, toHash: string): Promise<number> {
  const result =
    await sql`update "offline_events" set "to_hash" = ${toHash}, "to_number" = null where "to_number" = ${toNumber}`.execute(
      db,
    );
  return Number(result.numAffectedRows ?? 0);
}

/** Drops the plain `to_number` column (every row hashed and blanked first). */
export async function dropPlainCalledNumbers(db: Db): Promise<void> {
  await db.schema.alterTable('offline_events').dropColumn('to_number').execute();
}
