import type { Transaction } from 'kysely';
import { dialectOf, type DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

export interface DoorCounterRow {
  id: number;
  key: string;
  name: string;
  staff_per_day: number;
  opening_hours: string | null;
  time_zone: string;
  created_at: number;
}

export interface DoorCountRow {
  id: number;
  counter_id: number;
  from_at: number;
  to_at: number;
  count_in: number;
  count_out: number | null;
  recorded_at: number;
  source: 'webhook' | 'csv';
}

const counterRow = (r: DoorCounterRow): DoorCounterRow => ({
  ...r,
  id: Number(r.id),
  staff_per_day: Number(r.staff_per_day),
  created_at: Number(r.created_at),
});
const countRow = (r: DoorCountRow): DoorCountRow => ({
  ...r,
  id: Number(r.id),
  counter_id: Number(r.counter_id),
  from_at: Number(r.from_at),
  to_at: Number(r.to_at),
  count_in: Number(r.count_in),
  count_out: r.count_out === null ? null : Number(r.count_out),
  recorded_at: Number(r.recorded_at),
});

export async function listDoorCounters(db: Db): Promise<DoorCounterRow[]> {
  const rows = await db.selectFrom('door_counters').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map(counterRow);
}

export async function findDoorCounterByKey(db: Db, key: string): Promise<DoorCounterRow | undefined> {
  const row = await db.selectFrom('door_counters').selectAll().where('key', '=', key).executeTakeFirst();
  return row && counterRow(row);
}

export async function findDoorCounterById(db: Db, id: number): Promise<DoorCounterRow | undefined> {
  const row = await db.selectFrom('door_counters').selectAll().where('id', '=', id).executeTakeFirst();
  return row && counterRow(row);
}

/** PostgreSQL: holds the counter's row until the transaction ends, so two writers of one counter take turns (SQLite has one writer anyway). */
export async function lockDoorCounter(trx: Transaction<Database>, id: number): Promise<void> {
  if (dialectOf(trx) !== 'postgres') return;
  await trx.selectFrom('door_counters').select('id').where('id', '=', id).forUpdate().execute();
}

export async function insertDoorCounter(db: Db, row: Omit<DoorCounterRow, 'id'>): Promise<DoorCounterRow | undefined> {
  const inserted = await db
    .insertInto('door_counters')
    .values(row)
    .onConflict((oc) => oc.column('key').doNothing())
    .returningAll()
    .executeTakeFirst();
  return inserted && counterRow(inserted);
}

export async function updateDoorCounter(
  db: Db,
  id: number,
  change: Pick<DoorCounterRow, 'name' | 'staff_per_day' | 'opening_hours' | 'time_zone'>,
): Promise<void> {
  await db.updateTable('door_counters').set(change).where('id', '=', id).execute();
}

export async function deleteDoorCounter(db: Db, id: number): Promise<void> {
  await db.deleteFrom('door_counts').where('counter_id', '=', id).execute();
  await db.deleteFrom('door_counters').where('id', '=', id).execute();
}

/** The counter's intervals that overlap [from, to), oldest first. */
export async function findDoorCountsOverlapping(
  db: Db,
  counterId: number,
  from: number,
  to: number,
): Promise<DoorCountRow[]> {
  const rows = await db
    .selectFrom('door_counts')
    .selectAll()
    .where('counter_id', '=', counterId)
    .where('from_at', '<', to)
    .where('to_at', '>', from)
    .orderBy('from_at')
    .execute();
  return rows.map(countRow);
}

/** Every interval of a counter (a rule change recounts them), oldest first. */
export async function findDoorCountsOfCounter(db: Db, counterId: number): Promise<DoorCountRow[]> {
  const rows = await db
    .selectFrom('door_counts')
    .selectAll()
    .where('counter_id', '=', counterId)
    .orderBy('from_at')
    .execute();
  return rows.map(countRow);
}

/** Several intervals in one statement a chunk (each (counter, from, to) at most once): stored, or their counts replaced. */
export async function upsertDoorCounts(db: Db, rows: readonly Omit<DoorCountRow, 'id'>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('door_counts')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(['counter_id', 'from_at', 'to_at']).doUpdateSet((eb) => ({
          count_in: eb.ref('excluded.count_in'),
          count_out: eb.ref('excluded.count_out'),
          recorded_at: eb.ref('excluded.recorded_at'),
          source: eb.ref('excluded.source'),
        })),
      )
      .execute();
  }
}
