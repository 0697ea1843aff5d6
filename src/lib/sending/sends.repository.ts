import type { Insertable } from 'kysely';
import type { SendState, SendTable } from '../db/schema.ts';
import type { Db, Send } from './sending.ts';

/** Inserts the issue's send unless it has one already (UNIQUE issue_id): the new id, or undefined. */
export async function insertSendIfAbsent(db: Db, row: Insertable<SendTable>): Promise<number | undefined> {
  const inserted = await db
    .insertInto('sends')
    .values(row)
    .onConflict((oc) => oc.column('issue_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? Number(inserted.id) : undefined;
}

export async function findSendByIssue(db: Db, issueId: number): Promise<Send | undefined> {
  return db.selectFrom('sends').selectAll().where('issue_id', '=', issueId).executeTakeFirst();
}

export async function findSendById(db: Db, sendId: number): Promise<Send | undefined> {
  return db.selectFrom('sends').selectAll().where('id', '=', sendId).executeTakeFirst();
}

/** Scheduled sends whose time has come, oldest first. */
export async function findDueSends(db: Db, now: number): Promise<Send[]> {
  return db
    .selectFrom('sends')
    .selectAll()
    .where('state', '=', 'scheduled')
    .where('scheduled_at', '<=', now)
    .orderBy('scheduled_at')
    .orderBy('id')
    .execute();
}

export async function findRunningSends(db: Db): Promise<{ id: number; issue_id: number }[]> {
  return db.selectFrom('sends').select(['id', 'issue_id']).where('state', '=', 'running').orderBy('id').execute();
}

/** scheduled → running; false when another request or worker started it first. */
export async function markSendStarted(db: Db, sendId: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('sends')
    .set({ state: 'running', started_at: now, updated_at: now })
    .where('id', '=', sendId)
    .where('state', '=', 'scheduled')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function setSendRecipients(db: Db, sendId: number, recipients: number): Promise<void> {
  await db.updateTable('sends').set({ recipients }).where('id', '=', sendId).execute();
}

/** Moves a send to `to` when it is in one of `from`; false otherwise (someone else moved it first). */
export async function changeSendState(
  db: Db,
  sendId: number,
  from: readonly SendState[],
  to: SendState,
  changes: Partial<Pick<SendTable, 'paused_reason' | 'cancelled_at' | 'finished_at' | 'scheduled_at'>> & {
    consecutive_failures?: number;
  },
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('sends')
    .set({ ...changes, state: to, updated_at: now })
    .where('id', '=', sendId)
    .where('state', 'in', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** A send that never started (nothing in the ledger), removed when it is cancelled. */
export async function deleteSend(db: Db, sendId: number): Promise<void> {
  await db.deleteFrom('sends').where('id', '=', sendId).where('started_at', 'is', null).execute();
}

/** running → finished, only when no delivery of the send is queued or being sent (one statement: no race). */
export async function finishSendIfDone(db: Db, send: { id: number; issueId: number }, now: number): Promise<boolean> {
  const result = await db
    .updateTable('sends')
    .set({ state: 'finished', finished_at: now, updated_at: now })
    .where('id', '=', send.id)
    .where('state', '=', 'running')
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('deliveries')
            .select('deliveries.id')
            .where('deliveries.issue_id', '=', send.issueId)
            .where('deliveries.status', 'in', ['queued', 'sending']),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Failures in a row: `reset` starts the count again (a message went through) before adding `add`. */
export async function addConsecutiveFailures(
  db: Db,
  sendId: number,
  change: { reset: boolean; add: number },
): Promise<void> {
  await db
    .updateTable('sends')
    .set((eb) => ({ consecutive_failures: change.reset ? change.add : eb('consecutive_failures', '+', change.add) }))
    .where('id', '=', sendId)
    .execute();
}

/** running → paused with the reason, when the failures in a row reached `threshold`. */
export async function pauseSendAfterFailures(
  db: Db,
  sendId: number,
  threshold: number,
  reason: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('sends')
    .set({ state: 'paused', paused_reason: reason, updated_at: now })
    .where('id', '=', sendId)
    .where('state', '=', 'running')
    .where('consecutive_failures', '>=', threshold)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** True once any issue was sent, or scheduled to be (the first-steps list's "first issue"). */
export async function hasAnySend(db: Db): Promise<boolean> {
  return (await db.selectFrom('sends').select('id').limit(1).executeTakeFirst()) !== undefined;
}
