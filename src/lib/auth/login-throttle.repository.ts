import { sql, type Selectable, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, LoginThrottleTable } from '../db/schema.ts';

export type LoginThrottleRow = Selectable<LoginThrottleTable>;
type Db = DB | Transaction<Database>;

export async function findLoginThrottles(db: Db, keys: readonly string[]): Promise<LoginThrottleRow[]> {
  const rows = await db
    .selectFrom('login_throttles')
    .selectAll()
    .where('key', 'in', [...keys])
    .execute();
  return rows.map((r) => ({
    ...r,
    failures: Number(r.failures),
    first_failure_at: Number(r.first_failure_at),
    last_failure_at: Number(r.last_failure_at),
    notified_at: r.notified_at === null ? null : Number(r.notified_at),
  }));
}

/**
 * One more failure for `key`, in one statement (two processes counting at once both count):
 * a window older than `windowMs` starts again at 1. Answers the count and the window's start.
 */
export async function addLoginFailure(
  db: Db,
  key: string,
  now: number,
  windowMs: number,
): Promise<{ failures: number; firstFailureAt: number }> {
  const expired = sql<boolean>`login_throttles.first_failure_at <= ${now - windowMs}`;
  const row = await db
    .insertInto('login_throttles')
    .values({ key, failures: 1, first_failure_at: now, last_failure_at: now, notified_at: null })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        failures: sql`case when ${expired} then 1 else login_throttles.failures + 1 end`,
        first_failure_at: sql`case when ${expired} then ${now} else login_throttles.first_failure_at end`,
        last_failure_at: now,
      }),
    )
    .returning(['failures', 'first_failure_at'])
    .executeTakeFirstOrThrow();
  return { failures: Number(row.failures), firstFailureAt: Number(row.first_failure_at) };
}

/** Marks the window's holder as told; true for the one caller (of any process) that marked it. */
export async function markLoginThrottleNotified(db: Db, key: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('login_throttles')
    .set({ notified_at: now })
    .where('key', '=', key)
    .where((eb) => eb.or([eb('notified_at', 'is', null), eb('notified_at', '<', eb.ref('first_failure_at'))]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteLoginThrottle(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_throttles').where('key', '=', key).execute();
}

/** Counts nobody needs any more: no failure since `before`. */
export async function deleteLoginThrottlesBefore(db: Db, before: number): Promise<void> {
  await db.deleteFrom('login_throttles').where('last_failure_at', '<', before).execute();
}

export async function recordLoginAddress(db: Db, accountKey: string, addressKey: string, now: number): Promise<void> {
  await db
    .insertInto('login_addresses')
    .values({ account_key: accountKey, address_key: addressKey, last_signed_in_at: now })
    .onConflict((oc) => oc.columns(['account_key', 'address_key']).doUpdateSet({ last_signed_in_at: now }))
    .execute();
}

/** Whether the account signed in from the address since `since`. */
export async function hasLoginAddress(db: Db, accountKey: string, addressKey: string, since: number): Promise<boolean> {
  const row = await db
    .selectFrom('login_addresses')
    .select('last_signed_in_at')
    .where('account_key', '=', accountKey)
    .where('address_key', '=', addressKey)
    .where('last_signed_in_at', '>=', since)
    .executeTakeFirst();
  return row !== undefined;
}
