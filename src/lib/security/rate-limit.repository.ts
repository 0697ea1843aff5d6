import { sql, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

/**
 * One more hit for `key`, in one statement (hits of two processes at once both count): a window
 * that has ended starts again at 1 and ends `windowMs` from now. Answers the count and the window's end.
 */
export async function addRateLimitHit(
  db: Db,
  key: string,
  now: number,
  windowMs: number,
): Promise<{ hits: number; expiresAt: number }> {
  const ended = sql<boolean>`rate_limits.expires_at <= ${now}`;
  const row = await db
    .insertInto('rate_limits')
    .values({ key, hits: 1, expires_at: now + windowMs })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        hits: sql`case when ${ended} then 1 else rate_limits.hits + 1 end`,
        expires_at: sql`case when ${ended} then ${now + windowMs} else rate_limits.expires_at end`,
      }),
    )
    .returning(['hits', 'expires_at'])
    .executeTakeFirstOrThrow();
  return { hits: Number(row.hits), expiresAt: Number(row.expires_at) };
}

/** The hits of `key`'s window still running at `now` (undefined when none). */
export async function findRateLimit(
  db: Db,
  key: string,
  now: number,
): Promise<{ hits: number; expiresAt: number } | undefined> {
  const row = await db
    .selectFrom('rate_limits')
    .select(['hits', 'expires_at'])
    .where('key', '=', key)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row && { hits: Number(row.hits), expiresAt: Number(row.expires_at) };
}

/** Windows that ended before `now`: nobody needs them. */
export async function deleteEndedRateLimits(db: Db, now: number): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
