import type { Insertable, Selectable } from 'kysely';
import type { SendWorkerTable } from '../db/schema.ts';
import type { Db } from './sending.ts';

export type WorkerRow = Selectable<SendWorkerTable>;

/** Takes a slot; false when it is held (on SQLite every worker asks for the one slot "sqlite"). */
export async function insertWorker(db: Db, row: Insertable<SendWorkerTable>): Promise<boolean> {
  const inserted = await db
    .insertInto('send_workers')
    .values(row)
    .onConflict((oc) => oc.column('slot').doNothing())
    .returning('slot')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function findWorkers(db: Db): Promise<WorkerRow[]> {
  return db.selectFrom('send_workers').selectAll().orderBy('started_at').execute();
}

export async function deleteWorkers(db: Db, workerIds: readonly string[]): Promise<void> {
  if (workerIds.length === 0) return;
  await db.deleteFrom('send_workers').where('worker_id', 'in', workerIds).execute();
}

/** The worker's sign of life, with the outcomes it cannot record (null: none); false when its row is gone (others took it for dead). */
export async function touchWorker(
  db: Db,
  workerId: string,
  now: number,
  trouble: { since: number; attempts: number; lastError: string } | null = null,
): Promise<boolean> {
  const result = await db
    .updateTable('send_workers')
    .set({
      heartbeat_at: now,
      failing_since: trouble?.since ?? null,
      failing_attempts: trouble?.attempts ?? 0,
      last_error: trouble?.lastError ?? null,
    })
    .where('worker_id', '=', workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Workers alive (heartbeat since `since`) that reported outcomes they cannot record. */
export async function findTroubledWorkers(db: Db, since: number): Promise<WorkerRow[]> {
  return db
    .selectFrom('send_workers')
    .selectAll()
    .where('heartbeat_at', '>=', since)
    .where('failing_since', 'is not', null)
    .orderBy('failing_since')
    .execute();
}
