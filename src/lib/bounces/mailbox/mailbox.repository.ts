import type { DB } from '../../db/database.ts';

export interface MailboxStatusRow {
  mailbox: string;
  leaseHolder: string | null;
  leaseUntil: number | null;
  lastPollAt: number | null;
  lastSuccessAt: number | null;
  reports: number;
  others: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The mailbox's row, made when missing (idempotent: two processes may make it at once). */
export async function ensureMailboxRow(db: DB, mailbox: string): Promise<void> {
  await db
    .insertInto('bounce_mailboxes')
    .values({
      mailbox,
      lease_holder: null,
      lease_until: null,
      last_poll_at: null,
      last_success_at: null,
      last_error: null,
      last_error_at: null,
    })
    .onConflict((oc) => oc.column('mailbox').doNothing())
    .execute();
}

/**
 * Takes the mailbox's lease for `holder` until `until`, in one statement: only when nobody holds
 * it, its holder's lease ran out, or `holder` holds it already. True when taken.
 */
export async function takeMailboxLease(
  db: DB,
  mailbox: string,
  holder: string,
  now: number,
  until: number,
): Promise<boolean> {
  const result = await db
    .updateTable('bounce_mailboxes')
    .set({ lease_holder: holder, lease_until: until })
    .where('mailbox', '=', mailbox)
    .where((eb) =>
      eb.or([eb('lease_holder', 'is', null), eb('lease_until', '<', now), eb('lease_holder', '=', holder)]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Gives the lease back (only the holder's own). */
export async function releaseMailboxLease(db: DB, mailbox: string, holder: string): Promise<void> {
  await db
    .updateTable('bounce_mailboxes')
    .set({ lease_holder: null, lease_until: null })
    .where('mailbox', '=', mailbox)
    .where('lease_holder', '=', holder)
    .execute();
}

/**
 * One read of the mailbox: when, how many reports and other messages it moved (added to the
 * totals, also when it failed part way) and, for a failed read, why (`error`; null for a read that
 * worked, which clears the last error and sets the last success).
 */
export async function recordMailboxRead(
  db: DB,
  mailbox: string,
  now: number,
  moved: { reports: number; others: number },
  error: string | null,
): Promise<void> {
  await db
    .updateTable('bounce_mailboxes')
    .set((eb) => ({
      last_poll_at: now,
      ...(error === null ? { last_success_at: now } : {}),
      reports: eb('reports', '+', moved.reports),
      others: eb('others', '+', moved.others),
      last_error: error,
      last_error_at: error === null ? null : now,
    }))
    .where('mailbox', '=', mailbox)
    .execute();
}

export async function findMailboxStatus(db: DB, mailbox: string): Promise<MailboxStatusRow | undefined> {
  const row = await db.selectFrom('bounce_mailboxes').selectAll().where('mailbox', '=', mailbox).executeTakeFirst();
  return (
    row && {
      mailbox: row.mailbox,
      leaseHolder: row.lease_holder,
      leaseUntil: num(row.lease_until),
      lastPollAt: num(row.last_poll_at),
      lastSuccessAt: num(row.last_success_at),
      reports: Number(row.reports),
      others: Number(row.others),
      lastError: row.last_error,
      lastErrorAt: num(row.last_error_at),
    }
  );
}

/** Bounce records from the mailbox by kind, counted from the rows (bounce_events, source "mailbox"). */
export async function countMailboxBounces(db: DB): Promise<{ hard: number; soft: number; complaint: number }> {
  const rows = await db
    .selectFrom('bounce_events')
    .select((eb) => ['kind', eb.fn.countAll<string | number>().as('n')])
    .where('source', '=', 'mailbox')
    .groupBy('kind')
    .execute();
  const counts = { hard: 0, soft: 0, complaint: 0 };
  for (const row of rows) counts[row.kind] = Number(row.n);
  return counts;
}
