import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

export interface DigestRecipient {
  id: number;
  email: string;
  name: string;
}

/** Active admins and marketers who asked for the digest. */
export async function findDigestRecipients(db: Db): Promise<DigestRecipient[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'email', 'name'])
    .where('weekly_digest', '=', 1)
    .where('status', '=', 'active')
    .where('role', 'in', ['admin', 'marketer'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

export async function setWeeklyDigest(db: Db, userId: number, on: boolean, now: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ weekly_digest: on ? 1 : 0, updated_at: now })
    .where('id', '=', userId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function findWeeklyDigest(
  db: Db,
  userId: number,
): Promise<{ on: boolean; role: string; status: string; email: string } | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['weekly_digest', 'role', 'status', 'email'])
    .where('id', '=', userId)
    .executeTakeFirst();
  return row && { on: Number(row.weekly_digest) === 1, role: row.role, status: row.status, email: row.email };
}

/** Claims (user, week): true for the one process whose row went in; any other gets false. */
export async function insertDigestClaim(
  db: Db,
  userId: number,
  week: string,
  claimedBy: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .insertInto('digest_sends')
    .values({ user_id: userId, week, claimed_at: now, claimed_by: claimedBy })
    .onConflict((oc) => oc.columns(['user_id', 'week']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Takes over a claim whose send failed (the relay refused or was down): true for the one process that did. */
export async function reclaimFailedDigest(
  db: Db,
  userId: number,
  week: string,
  claimedBy: string,
  now: number,
  failedBefore: number,
): Promise<boolean> {
  const result = await db
    .updateTable('digest_sends')
    .set({ claimed_at: now, claimed_by: claimedBy, failure: null })
    .where('user_id', '=', userId)
    .where('week', '=', week)
    .where('sent_at', 'is', null)
    .where('failure', 'is not', null)
    .where('claimed_at', '<', failedBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function markDigestSent(db: Db, userId: number, week: string, now: number): Promise<void> {
  await db
    .updateTable('digest_sends')
    .set({ sent_at: now, failure: null })
    .where('user_id', '=', userId)
    .where('week', '=', week)
    .execute();
}

export async function markDigestFailed(db: Db, userId: number, week: string, failure: string): Promise<void> {
  await db
    .updateTable('digest_sends')
    .set({ failure: failure.slice(0, 500) })
    .where('user_id', '=', userId)
    .where('week', '=', week)
    .execute();
}

/** Weeks already claimed by these users (sent, being sent, or failed and waiting to be retried). */
export async function findDigestClaims(
  db: Db,
  week: string,
): Promise<{ userId: number; sentAt: number | null; failure: string | null; claimedAt: number }[]> {
  const rows = await db
    .selectFrom('digest_sends')
    .select(['user_id', 'sent_at', 'failure', 'claimed_at'])
    .where('week', '=', week)
    .execute();
  return rows.map((r) => ({
    userId: Number(r.user_id),
    sentAt: r.sent_at === null ? null : Number(r.sent_at),
    failure: r.failure,
    claimedAt: Number(r.claimed_at),
  }));
}
