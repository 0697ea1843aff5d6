import type { Insertable, Selectable, Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, SessionTable } from '../db/schema.ts';
import type { User } from './users.repository.ts';

export type SessionRow = Selectable<SessionTable>;
type Db = DB | Transaction<Database>;

export async function insertSession(db: Db, row: Insertable<SessionTable>): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

/** The session and its user in one query: every signed-in request makes it. */
export async function findSessionWithUser(
  db: Db,
  id: string,
): Promise<{ session: SessionRow; user: User } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as session_id',
      'sessions.secret_hash',
      'sessions.user_id',
      'sessions.created_at as session_created_at',
      'sessions.last_verified_at',
      'users.id',
      'users.email',
      'users.name',
      'users.role',
      'users.status',
      'users.password_hash',
      'users.created_at',
      'users.updated_at',
      'users.last_login_at',
      'users.weekly_digest',
    ])
    .where('sessions.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const { session_id, secret_hash, user_id, session_created_at, last_verified_at, ...user } = row;
  return {
    session: {
      id: session_id,
      secret_hash,
      user_id: Number(user_id),
      created_at: session_created_at,
      last_verified_at,
    },
    user: { ...user, id: Number(user.id) },
  };
}

export async function updateSessionLastVerified(db: Db, id: string, at: number): Promise<void> {
  await db.updateTable('sessions').set({ last_verified_at: at }).where('id', '=', id).execute();
}

export async function deleteSession(db: Db, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

/** Ends every session of a user, but the one in `exceptId` when given. */
export async function deleteUserSessions(db: Db, userId: number, exceptId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptId) query = query.where('id', '!=', exceptId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteSessionsIdleSince(db: Db, before: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('last_verified_at', '<=', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function countUserSessions(db: Db, userId: number): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
