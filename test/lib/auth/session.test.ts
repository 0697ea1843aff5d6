import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import {
  createSession,
  invalidateSession,
  invalidateUserSessions,
  sessionCookieOptions,
  SESSION_BUMP_INTERVAL_MS,
  SESSION_INACTIVITY_MS,
  validateSessionToken,
} from '#lib/auth/session.service.ts';
import { countUserSessions } from '#lib/auth/sessions.repository.ts';
import { changePassword } from '#lib/auth/users.service.ts';
import { LoginThrottle } from '#lib/auth/login-throttle.ts';
import { updateUser } from '#lib/auth/users.repository.ts';
import { addUser, PASSWORD } from './fixtures.ts';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const HOUR = 3_600_000;

describeEachDatabase('sessions', (db) => {
  it('a token is id.secret; only a SHA-256 of the secret is stored', async () => {
    const userId = await addUser(db(), 'token@example.com', 'writer', T0);
    const { token, session } = await createSession(db(), userId, T0);
    const [id, secret] = token.split('.');
    expect(id).toBe(session.id);
    expect(secret).toMatch(/^[a-z2-7]{32}$/);
    const row = await db().selectFrom('sessions').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(secret);
    const valid = await validateSessionToken(db(), token, T0 + 1000);
    expect(valid?.user).toEqual({ id: userId, email: 'token@example.com', name: 'token', role: 'writer' });
  });

  it('a stored hash used as a cookie fails, as do tampered and malformed tokens', async () => {
    const userId = await addUser(db(), 'hash@example.com', 'writer', T0);
    const { token, session } = await createSession(db(), userId, T0);
    const row = await db()
      .selectFrom('sessions')
      .select('secret_hash')
      .where('id', '=', session.id)
      .executeTakeFirstOrThrow();
    expect(await validateSessionToken(db(), `${session.id}.${row.secret_hash}`, T0)).toBeNull();
    const secret = token.split('.')[1]!;
    const flipped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    expect(await validateSessionToken(db(), `${session.id}.${flipped}`, T0)).toBeNull();
    for (const bad of ['', '.', token + '.x', session.id, `${session.id}.`, `.${secret}`, 'x'.repeat(500)]) {
      expect(await validateSessionToken(db(), bad, T0), bad).toBeNull();
    }
    expect(await validateSessionToken(db(), token, T0)).not.toBeNull();
  });

  it('bumps the last-verified time at most once an hour', async () => {
    const userId = await addUser(db(), 'bump@example.com', 'writer', T0);
    const { token, session } = await createSession(db(), userId, T0);
    const lastVerified = async () =>
      (
        await db()
          .selectFrom('sessions')
          .select('last_verified_at')
          .where('id', '=', session.id)
          .executeTakeFirstOrThrow()
      ).last_verified_at;

    const early = await validateSessionToken(db(), token, T0 + SESSION_BUMP_INTERVAL_MS - 1);
    expect(early?.refreshed).toBe(false);
    expect(await lastVerified()).toBe(T0);

    const later = await validateSessionToken(db(), token, T0 + SESSION_BUMP_INTERVAL_MS);
    expect(later?.refreshed).toBe(true);
    expect(later?.session.expiresAt).toBe(T0 + SESSION_BUMP_INTERVAL_MS + SESSION_INACTIVITY_MS);
    expect(await lastVerified()).toBe(T0 + SESSION_BUMP_INTERVAL_MS);

    expect((await validateSessionToken(db(), token, T0 + SESSION_BUMP_INTERVAL_MS + 30 * 60_000))?.refreshed).toBe(
      false,
    );
    expect(await lastVerified()).toBe(T0 + SESSION_BUMP_INTERVAL_MS);
  });

  it('expires after 10 days without use, and use keeps it alive', async () => {
    const userId = await addUser(db(), 'idle@example.com', 'writer', T0);
    const idle = await createSession(db(), userId, T0);
    const used = await createSession(db(), userId, T0);
    // Used every 9 days: still valid after 27 days.
    for (const day of [9, 18, 27])
      expect(await validateSessionToken(db(), used.token, T0 + day * 24 * HOUR), `day ${day}`).not.toBeNull();
    expect(await validateSessionToken(db(), idle.token, T0 + SESSION_INACTIVITY_MS - 1)).not.toBeNull();
    // That use moved the idle session's clock too, so measure from it.
    const lastUse = T0 + SESSION_INACTIVITY_MS - 1;
    expect(await validateSessionToken(db(), idle.token, lastUse + SESSION_INACTIVITY_MS)).toBeNull();
    // The expired row is gone.
    expect(
      await db().selectFrom('sessions').select('id').where('id', '=', idle.session.id).executeTakeFirst(),
    ).toBeUndefined();
  });

  it('logout deletes the row; deactivated users lose their sessions', async () => {
    const userId = await addUser(db(), 'logout@example.com', 'writer', T0);
    const { token, session } = await createSession(db(), userId, T0);
    await invalidateSession(db(), session.id);
    expect(
      await db().selectFrom('sessions').select('id').where('id', '=', session.id).executeTakeFirst(),
    ).toBeUndefined();
    expect(await validateSessionToken(db(), token, T0)).toBeNull();

    const other = await createSession(db(), userId, T0);
    await updateUser(db(), userId, { status: 'deactivated' });
    expect(await validateSessionToken(db(), other.token, T0)).toBeNull();
  });

  it('a password change ends every other session of that user, and only of that user', async () => {
    const userId = await addUser(db(), 'change@example.com', 'marketer', T0);
    const bystander = await addUser(db(), 'bystander@example.com', 'writer', T0);
    const current = await createSession(db(), userId, T0);
    const phone = await createSession(db(), userId, T0);
    const laptop = await createSession(db(), userId, T0);
    const theirs = await createSession(db(), bystander, T0);
    const result = await changePassword(
      { db: db(), throttle: new LoginThrottle({ db: db(), secret: 's'.repeat(48) }) },
      {
        userId,
        sessionId: current.session.id,
        currentPassword: PASSWORD,
        newPassword: 'a new and longer passphrase',
        address: '192.0.2.1',
      },
      T0 + 1000,
    );
    expect(result).toEqual({ ok: true, value: { endedSessions: 2 } });
    expect(await validateSessionToken(db(), current.token, T0 + 2000)).not.toBeNull();
    expect(await validateSessionToken(db(), phone.token, T0 + 2000)).toBeNull();
    expect(await validateSessionToken(db(), laptop.token, T0 + 2000)).toBeNull();
    expect(await validateSessionToken(db(), theirs.token, T0 + 2000)).not.toBeNull();
    expect(await countUserSessions(db(), userId)).toBe(1);
  });

  it('a new session sweeps out sessions idle for 10 days, and only those', async () => {
    const userId = await addUser(db(), 'sweep@example.com', 'writer', T0);
    const stale = await createSession(db(), userId, T0);
    const fresh = await createSession(db(), userId, T0 + 5 * 24 * HOUR);
    await createSession(db(), userId, T0 + SESSION_INACTIVITY_MS);
    const ids = (await db().selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).map(
      (r) => r.id,
    );
    expect(ids).not.toContain(stale.session.id);
    expect(ids).toContain(fresh.session.id);
  });

  it('invalidateUserSessions without an exception ends them all', async () => {
    const userId = await addUser(db(), 'all@example.com', 'writer', T0);
    await createSession(db(), userId, T0);
    await createSession(db(), userId, T0);
    expect(await invalidateUserSessions(db(), userId)).toBe(2);
    expect(await countUserSessions(db(), userId)).toBe(0);
  });
});

it('cookie: HttpOnly, SameSite=Lax, Path=/, expiring with the session; Secure exactly when the site is https', () => {
  const expires = T0 + SESSION_INACTIVITY_MS;
  expect(sessionCookieOptions('http://127.0.0.1:4321', expires)).toEqual({
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: false,
    expires: new Date(expires),
  });
  expect(sessionCookieOptions('https://shop.example.com', expires).secure).toBe(true);
});
