/**
 * Sessions after Lucia's current guide: the token is `id.secret`; the database keeps the id
 * and SHA-256 of the secret, compared in constant time, so a leaked sessions table cannot be
 * replayed as cookies. A session ends after 10 days without use; its last-verified time is
 * written at most once an hour.
 */
import type { DB } from '../db/database.ts';
import type { Role } from './roles.ts';
import { generateSecureRandomString, hashSecret, secretMatchesHash } from './secrets.ts';
import {
  deleteSession,
  deleteSessionsIdleSince,
  deleteUserSessions,
  findSessionWithUser,
  insertSession,
  updateSessionLastVerified,
} from './sessions.repository.ts';

export const SESSION_COOKIE = 'footfall_session';
export const SESSION_INACTIVITY_MS = 10 * 24 * 60 * 60 * 1000;
export const SESSION_BUMP_INTERVAL_MS = 60 * 60 * 1000;

/** What a request knows about its signed-in user. */
export interface AuthUser {
  id: number;
  email: string;
  name: string;
  role: Role;
}

export interface Session {
  id: string;
  userId: number;
  createdAt: number;
  lastVerifiedAt: number;
  /** When the session ends unless used again. */
  expiresAt: number;
}

export interface ValidatedSession {
  session: Session;
  user: AuthUser;
  /** The last-verified time moved: the cookie should be sent again with the new expiry. */
  refreshed: boolean;
}

function toSession(row: { id: string; user_id: number; created_at: number; last_verified_at: number }): Session {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastVerifiedAt: row.last_verified_at,
    expiresAt: row.last_verified_at + SESSION_INACTIVITY_MS,
  };
}

/** A new session for the user; sessions idle past the limit (anyone's) are swept out on the way. */
export async function createSession(
  db: DB,
  userId: number,
  now = Date.now(),
): Promise<{ token: string; session: Session }> {
  await deleteSessionsIdleSince(db, now - SESSION_INACTIVITY_MS);
  const id = generateSecureRandomString(15);
  const secret = generateSecureRandomString(20);
  const row = { id, secret_hash: hashSecret(secret), user_id: userId, created_at: now, last_verified_at: now };
  await insertSession(db, row);
  return { token: `${id}.${secret}`, session: toSession(row) };
}

/**
 * The session a cookie names, or null: malformed, unknown, wrong secret, idle for 10 days
 * (then deleted), or its user can no longer sign in.
 */
export async function validateSessionToken(
  db: DB,
  token: string | undefined,
  now = Date.now(),
): Promise<ValidatedSession | null> {
  if (!token || token.length > 200) return null;
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
  const [id, secret] = parts as [string, string];
  const found = await findSessionWithUser(db, id);
  if (!found) return null;
  if (!secretMatchesHash(secret, found.session.secret_hash)) return null;
  if (now - found.session.last_verified_at >= SESSION_INACTIVITY_MS) {
    await deleteSession(db, id);
    return null;
  }
  if (found.user.status !== 'active') {
    await deleteSession(db, id);
    return null;
  }
  let refreshed = false;
  if (now - found.session.last_verified_at >= SESSION_BUMP_INTERVAL_MS) {
    await updateSessionLastVerified(db, id, now);
    found.session.last_verified_at = now;
    refreshed = true;
  }
  const { user } = found;
  return {
    session: toSession(found.session),
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
    refreshed,
  };
}

export async function invalidateSession(db: DB, sessionId: string): Promise<void> {
  await deleteSession(db, sessionId);
}

/** Ends every session of the user, or every other one when `exceptSessionId` is given. */
export async function invalidateUserSessions(db: DB, userId: number, exceptSessionId?: string): Promise<number> {
  return deleteUserSessions(db, userId, exceptSessionId);
}

export interface CookieOptions {
  httpOnly: true;
  sameSite: 'lax';
  path: '/';
  secure: boolean;
  expires: Date;
}

/** The session cookie's attributes: `Secure` whenever the site is served over https. */
export function sessionCookieOptions(siteUrl: string, expiresAt: number): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: siteUrl.startsWith('https:'),
    expires: new Date(expiresAt),
  };
}
