import type { Insertable, Selectable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type {
  Database,
  ExperimentArmTable,
  ExperimentDecidedHow,
  ExperimentState,
  ExperimentTable,
} from '../db/schema.ts';

type Db = DB | Transaction<Database>;
export type ExperimentRow = Selectable<ExperimentTable>;
export type ExperimentArmRow = Selectable<ExperimentArmTable>;

export async function insertExperiment(
  db: Db,
  row: Insertable<ExperimentTable>,
  arms: Insertable<ExperimentArmTable>[],
): Promise<void> {
  await db.insertInto('experiments').values(row).execute();
  if (arms.length > 0) await db.insertInto('experiment_arms').values(arms).execute();
}

export async function findExperiment(db: Db, issueId: number): Promise<ExperimentRow | undefined> {
  return db.selectFrom('experiments').selectAll().where('issue_id', '=', issueId).executeTakeFirst();
}

export async function findArms(db: Db, issueId: number): Promise<ExperimentArmRow[]> {
  return db.selectFrom('experiment_arms').selectAll().where('issue_id', '=', issueId).orderBy('arm').execute();
}

export async function findArm(db: Db, issueId: number, arm: string): Promise<ExperimentArmRow | undefined> {
  return db
    .selectFrom('experiment_arms')
    .selectAll()
    .where('issue_id', '=', issueId)
    .where('arm', '=', arm)
    .executeTakeFirst();
}

/** A send removed before it started takes its experiment with it (the issue can be sent anew). */
export async function deleteExperiment(db: Db, issueId: number): Promise<void> {
  await db.deleteFrom('experiment_arms').where('issue_id', '=', issueId).execute();
  await db.deleteFrom('experiments').where('issue_id', '=', issueId).execute();
}

/** A variant's rendering, stored once: a second caller (who rendered the same) changes nothing. */
export async function storeArmRendering(
  db: Db,
  issueId: number,
  arm: string,
  rendering: { html: string; text: string; linkIds: readonly number[] },
): Promise<void> {
  await db
    .updateTable('experiment_arms')
    .set({ html: rendering.html, text: rendering.text, link_ids: JSON.stringify(rendering.linkIds) })
    .where('issue_id', '=', issueId)
    .where('arm', '=', arm)
    .where('html', 'is', null)
    .execute();
}

export async function setArmSize(db: Db, issueId: number, arm: string, size: number): Promise<void> {
  await db
    .updateTable('experiment_arms')
    .set({ size })
    .where('issue_id', '=', issueId)
    .where('arm', '=', arm)
    .execute();
}

/** The ledger rows of a send, just frozen: who is in the audience (assignment reads them in its transaction). */
export async function findLedgerRecipients(db: Db, issueId: number): Promise<{ id: number; subscriberId: number }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['id', 'subscriber_id'])
    .where('issue_id', '=', issueId)
    .where('subscriber_id', 'is not', null)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), subscriberId: Number(r.subscriber_id) }));
}

/** Every ledger row of the issue into the rest: queued, due at `dueAt` (REST_WAITS_UNTIL while a test runs). */
export async function putLedgerInRest(db: Db, issueId: number, dueAt: number): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ arm: 'rest', next_attempt_at: dueAt })
    .where('issue_id', '=', issueId)
    .where('status', '=', 'queued')
    .execute();
}

/** Moves ledger rows into an arm, due at `dueAt` (a holdout's become `held_out`: never claimed). */
export async function moveLedgerRows(
  db: Db,
  issueId: number,
  ids: readonly number[],
  arm: string,
  heldOut: boolean,
  dueAt: number,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await db
      .updateTable('deliveries')
      .set(heldOut ? { arm, status: 'held_out' } : { arm, next_attempt_at: dueAt })
      .where('issue_id', '=', issueId)
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
  }
}

/** Moves an experiment from one of `from` to `to` with the changes; false when it was not in `from` (someone else moved it). */
export async function changeExperimentState(
  db: Db,
  issueId: number,
  from: readonly ExperimentState[],
  to: ExperimentState,
  changes: { winner_arm?: string | null; decided_at?: number; decided_how?: ExperimentDecidedHow } = {},
): Promise<boolean> {
  const result = await db
    .updateTable('experiments')
    .set({ ...changes, state: to })
    .where('issue_id', '=', issueId)
    .where('state', 'in', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The rest released: due now (the winner decided). */
export async function releaseRest(db: Db, issueId: number, now: number): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ next_attempt_at: now })
    .where('issue_id', '=', issueId)
    .where('arm', '=', 'rest')
    .where('status', '=', 'queued')
    .where('next_attempt_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The rest skipped for good (the experiment stopped): nothing more goes out to them. */
export async function skipRest(db: Db, issueId: number, reason: string): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'skipped', reason })
    .where('issue_id', '=', issueId)
    .where('arm', '=', 'rest')
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Experiments whose send runs and which are waiting for a decision, or sending the winner. */
export async function findOpenExperiments(
  db: Db,
): Promise<(ExperimentRow & { started_at: number | null; send_state: string })[]> {
  return db
    .selectFrom('experiments')
    .innerJoin('sends', 'sends.issue_id', 'experiments.issue_id')
    .selectAll('experiments')
    .select(['sends.started_at', 'sends.state as send_state'])
    .where('experiments.state', 'in', ['testing', 'waiting', 'sending_winner'])
    .where('sends.started_at', 'is not', null)
    .execute();
}

/** Per arm: ledger rows by status. */
export async function countArmStatuses(
  db: Db,
  issueId: number,
): Promise<{ arm: string | null; status: string; n: number }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['arm', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('issue_id', '=', issueId)
    .groupBy(['arm', 'status'])
    .execute();
  return rows.map((r) => ({ arm: r.arm, status: r.status, n: Number(r.n) }));
}

/**
 * The decision's counts, straight from the ledger: per variant, messages sent (n) and among
 * them those with a likely-human click (or open) — `first_clicked_at` / `first_opened_at`.
 */
export async function countVariantOutcomes(
  db: Db,
  issueId: number,
  measure: 'human_clickers' | 'human_openers',
): Promise<{ arm: string; n: number; successes: number }[]> {
  const column = measure === 'human_openers' ? 'first_opened_at' : 'first_clicked_at';
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'arm',
      eb.fn.countAll<number>().as('n'),
      eb.fn.count<number>(`deliveries.${column}`).as('successes'),
    ])
    .where('issue_id', '=', issueId)
    .where('status', '=', 'sent')
    .where('arm', 'in', ['A', 'B', 'C', 'D'])
    .groupBy('arm')
    .execute();
  return rows.map((r) => ({ arm: r.arm!, n: Number(r.n), successes: Number(r.successes) }));
}

/** True while any variant delivery is queued or being sent. */
export async function variantsPending(db: Db, issueId: number): Promise<boolean> {
  const row = await db
    .selectFrom('deliveries')
    .select('id')
    .where('issue_id', '=', issueId)
    .where('arm', 'in', ['A', 'B', 'C', 'D'])
    .where('status', 'in', ['queued', 'sending'])
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** True while any rest delivery is queued or being sent. */
export async function restPending(db: Db, issueId: number): Promise<boolean> {
  const row = await db
    .selectFrom('deliveries')
    .select('id')
    .where('issue_id', '=', issueId)
    .where('arm', '=', 'rest')
    .where('status', 'in', ['queued', 'sending'])
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
