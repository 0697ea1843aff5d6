import type { DB } from '../db/database.ts';
import { normalizeEmail } from '../subscribers/email-address.ts';
import { consumeAccountToken, issueAccountToken, readAccountToken } from './account-tokens.service.ts';
import { deleteOpenAccountTokens } from './account-tokens.repository.ts';
import { cleanPersonName } from './inputs.ts';
import { describeWait, type LockedOut, type LoginThrottle, type LoginWait } from './login-throttle.ts';
import { fail, ok, type Outcome } from '../outcome.ts';
import { checkNewPassword, hashPassword, normalizePassword, verifyNothing, verifyPassword } from './password.ts';
import { isRole, type Role } from './roles.ts';
import { createSession, invalidateUserSessions, type AuthUser, type Session } from './session.service.ts';
import {
  countActiveAdmins,
  countUsers,
  findUserByEmail,
  findUserById,
  insertUser,
  listUsers,
  updateUser,
  type User,
} from './users.repository.ts';

/** Sends account mail; the caller wires it to the mail layer (src/lib/auth/account-mail.ts). */
export interface AccountMail {
  sendInvite(
    to: string,
    data: { name: string; inviterName: string; role: Role; acceptUrl: string; expiresAt: number },
  ): Promise<void>;
  sendPasswordReset(to: string, data: { name: string; resetUrl: string; expiresAt: number }): Promise<void>;
  /** Sign-ins to the account were paused for new addresses after `attempts` wrong passwords, until `until`. */
  sendSignInAttempts?(
    to: string,
    data: { name: string; attempts: number; until: number; accountUrl: string },
  ): Promise<void>;
}

export interface AccountDeps {
  db: DB;
  /** The public site URL, for links in mail. */
  siteUrl: string;
  mail: AccountMail;
}

export interface SignedIn {
  user: AuthUser;
  token: string;
  session: Session;
}

const MAX_NAME_LENGTH = 100;

export function toAuthUser(user: User): AuthUser {
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** Checks the fields every new account needs; the password is returned hashed. */
async function prepareAccount(input: {
  email: string;
  name: string;
  role: string;
  password: string;
}): Promise<Outcome<{ email: string; name: string; role: Role; passwordHash: string }>> {
  const email = normalizeEmail(input.email);
  if (!email.ok) return fail('invalid', email.error, { field: 'email' });
  const name = cleanPersonName(input.name);
  if (!name) return fail('invalid', 'Enter a name.', { field: 'name' });
  if (name.length > MAX_NAME_LENGTH)
    return fail('invalid', `Use at most ${MAX_NAME_LENGTH} characters for the name.`, { field: 'name' });
  if (!isRole(input.role))
    return fail('invalid', `Unknown role "${input.role}": choose admin, marketer or writer.`, { field: 'role' });
  const password = checkNewPassword(input.password, email.email);
  if (!password.ok) return fail('invalid', password.error, { field: 'password' });
  return ok({ email: email.email, name, role: input.role, passwordHash: await hashPassword(password.password) });
}

function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
  return /UNIQUE constraint|SQLITE_CONSTRAINT_UNIQUE|23505|duplicate key/i.test(text);
}

const DUPLICATE_EMAIL = 'An account with this email address exists already.';

/** An active account with a password (the CLI, and the setup page through completeSetup). */
export async function createUser(
  db: DB,
  input: { email: string; name?: string; role: string; password: string },
  now = Date.now(),
): Promise<Outcome<User>> {
  const prepared = await prepareAccount({ ...input, name: input.name ?? input.email.split('@')[0] ?? '' });
  if (!prepared.ok) return prepared;
  const { email, name, role, passwordHash } = prepared.value;
  if (await findUserByEmail(db, email)) return fail('conflict', DUPLICATE_EMAIL, { field: 'email' });
  try {
    const id = await insertUser(db, {
      email,
      name,
      role,
      status: 'active',
      password_hash: passwordHash,
      created_at: now,
      updated_at: now,
      last_login_at: null,
    });
    return ok((await findUserById(db, id))!);
  } catch (error) {
    if (isUniqueViolation(error)) return fail('conflict', DUPLICATE_EMAIL, { field: 'email' });
    throw error;
  }
}

/** Every account, for the admin's lists (names of who did what). */
export function listUserAccounts(db: DB): Promise<User[]> {
  return listUsers(db);
}

export async function hasUsers(db: DB): Promise<boolean> {
  return (await countUsers(db)) > 0;
}

/**
 * The first start: with no account at all, a one-hour, single-use link for choosing the
 * first admin. Returns undefined when accounts exist.
 */
export async function createSetupLink(
  db: DB,
  siteUrl: string,
  now = Date.now(),
): Promise<{ url: string; expiresAt: number } | undefined> {
  if (await hasUsers(db)) return undefined;
  const { token, expiresAt } = await issueAccountToken(db, 'setup', null, now);
  return { url: `${siteUrl}/admin/setup?token=${token}`, expiresAt };
}

export async function isSetupTokenValid(db: DB, token: unknown, now = Date.now()): Promise<boolean> {
  return !(await hasUsers(db)) && (await readAccountToken(db, 'setup', token, now)) !== undefined;
}

/** The setup link's form: creates the first admin and signs them in. */
export async function completeSetup(
  db: DB,
  input: { token: string; email: string; name: string; password: string },
  now = Date.now(),
): Promise<Outcome<SignedIn>> {
  if (await hasUsers(db)) return fail('gone', 'Footfall is set up already: sign in instead.');
  if (!(await readAccountToken(db, 'setup', input.token, now)))
    return fail('gone', 'This setup link has expired or was used already. Restart the server for a new one.');
  const prepared = await prepareAccount({ ...input, role: 'admin' });
  if (!prepared.ok) return prepared;
  const { email, name, passwordHash } = prepared.value;
  const created = await db.transaction().execute(async (trx) => {
    if ((await countUsers(trx)) > 0 || !(await consumeAccountToken(trx, input.token, now))) return undefined;
    return insertUser(trx, {
      email,
      name,
      role: 'admin',
      status: 'active',
      password_hash: passwordHash,
      created_at: now,
      updated_at: now,
      last_login_at: now,
    });
  });
  if (created === undefined) return fail('gone', 'This setup link has expired or was used already.');
  const user = (await findUserById(db, created))!;
  const { token, session } = await createSession(db, user.id, now);
  return ok({ user: toAuthUser(user), token, session });
}

/** The sentence for a throttled attempt: what to wait for, and why, without saying whether the account exists. */
function throttled(wait: LoginWait) {
  const message =
    wait.rule === 'address'
      ? `Too many failed sign-ins from your network. Try again in ${describeWait(wait.retryAfterSeconds)}.`
      : wait.rule === 'account'
        ? `Too many failed sign-ins for this account. Try again in ${describeWait(wait.retryAfterSeconds)}, or sign in from a computer or network you have used before.`
        : `Too many failed sign-ins. Wait ${describeWait(wait.retryAfterSeconds)} and try again.`;
  return fail('throttled', message, { retryAfterSeconds: wait.retryAfterSeconds });
}

export interface SignInDeps {
  db: DB;
  throttle: LoginThrottle;
  /** Told when failures lock an existing account for new addresses (once per lock): the caller mails the holder. */
  onLockedOut?: (user: User, lock: LockedOut) => void;
}

/** Signs in with email and password. Unknown and known emails get the same answer, in about the same time. */
export async function signIn(
  deps: SignInDeps,
  input: { email: string; password: string; address: string },
  now = Date.now(),
): Promise<Outcome<SignedIn>> {
  const { db, throttle } = deps;
  const email = normalizeEmail(input.email);
  if (!email.ok) return fail('invalid', email.error, { field: 'email' });
  const password = normalizePassword(input.password);
  if (!password.ok) return fail('invalid', password.error, { field: 'password' });
  const wait = await throttle.check(email.email, input.address, now);
  if (wait) return throttled(wait);
  const user = await findUserByEmail(db, email.email);
  const valid =
    user?.status === 'active' && user.password_hash
      ? await verifyPassword(user.password_hash, password.password)
      : await verifyNothing(password.password);
  if (!valid || !user) {
    const locked = await throttle.recordFailure(email.email, input.address, now);
    if (locked && user?.status === 'active') deps.onLockedOut?.(user, locked);
    return fail('unauthorized', 'Wrong email or password.');
  }
  await throttle.recordSuccess(email.email, input.address, now);
  await updateUser(db, user.id, { last_login_at: now });
  const { token, session } = await createSession(db, user.id, now);
  return ok({ user: toAuthUser(user), token, session });
}

/** Changes one's own password, after checking the current one; every other session of the user ends. */
export async function changePassword(
  deps: SignInDeps,
  input: { userId: number; sessionId: string; currentPassword: string; newPassword: string; address: string },
  now = Date.now(),
): Promise<Outcome<{ endedSessions: number }>> {
  const { db, throttle } = deps;
  const user = await findUserById(db, input.userId);
  if (user?.status !== 'active' || !user.password_hash)
    return fail('unauthorized', 'Sign in again to change your password.');
  const wait = await throttle.check(user.email, input.address, now);
  if (wait) return throttled(wait);
  const current = normalizePassword(input.currentPassword);
  if (!current.ok || !(await verifyPassword(user.password_hash, current.password))) {
    const locked = await throttle.recordFailure(user.email, input.address, now);
    if (locked) deps.onLockedOut?.(user, locked);
    return fail('invalid', 'Your current password is not right.', { field: 'currentPassword' });
  }
  const next = checkNewPassword(input.newPassword, user.email);
  if (!next.ok) return fail('invalid', next.error, { field: 'newPassword' });
  await updateUser(db, user.id, { password_hash: await hashPassword(next.password), updated_at: now });
  await deleteOpenAccountTokens(db, 'reset', user.id);
  return ok({ endedSessions: await invalidateUserSessions(db, user.id, input.sessionId) });
}

/** Sends a reset link to an active account. The person asking always sees the same answer. */
export async function requestPasswordReset(
  deps: AccountDeps,
  email: string,
  now = Date.now(),
): Promise<'sent' | 'no-account'> {
  const normalized = normalizeEmail(email);
  const user = normalized.ok ? await findUserByEmail(deps.db, normalized.email) : undefined;
  if (user?.status !== 'active') return 'no-account';
  const { token, expiresAt } = await issueAccountToken(deps.db, 'reset', user.id, now);
  await deps.mail.sendPasswordReset(user.email, {
    name: user.name,
    resetUrl: `${deps.siteUrl}/admin/reset?token=${token}`,
    expiresAt,
  });
  return 'sent';
}

export async function findUserForToken(
  db: DB,
  purpose: 'invite' | 'reset',
  token: unknown,
  now = Date.now(),
): Promise<User | undefined> {
  const row = await readAccountToken(db, purpose, token, now);
  if (!row?.user_id) return undefined;
  const user = await findUserById(db, row.user_id);
  const expected = purpose === 'invite' ? 'invited' : 'active';
  return user?.status === expected ? user : undefined;
}

/** Sets a new password from a reset link, ends every session of the user, and signs them in. */
export async function resetPassword(
  db: DB,
  input: { token: string; password: string },
  now = Date.now(),
): Promise<Outcome<SignedIn>> {
  const user = await findUserForToken(db, 'reset', input.token, now);
  if (!user) return fail('gone', 'This reset link has expired or was used already. Ask for a new one.');
  const password = checkNewPassword(input.password, user.email);
  if (!password.ok) return fail('invalid', password.error, { field: 'password' });
  const passwordHash = await hashPassword(password.password);
  const done = await db.transaction().execute(async (trx) => {
    if (!(await consumeAccountToken(trx, input.token, now))) return false;
    await updateUser(trx, user.id, { password_hash: passwordHash, updated_at: now });
    await invalidateUserSessions(trx, user.id);
    return true;
  });
  if (!done) return fail('gone', 'This reset link was used already. Ask for a new one.');
  const { token, session } = await createSession(db, user.id, now);
  return ok({ user: toAuthUser(user), token, session });
}

/** Invites someone: an account without a password, and a link (7 days) to choose one. */
export async function inviteUser(
  deps: AccountDeps,
  input: { email: string; name: string; role: string; invitedBy: AuthUser },
  now = Date.now(),
): Promise<Outcome<{ user: User; acceptUrl: string; mailed: boolean }>> {
  const email = normalizeEmail(input.email);
  if (!email.ok) return fail('invalid', email.error, { field: 'email' });
  const name = cleanPersonName(input.name);
  if (!name || name.length > MAX_NAME_LENGTH)
    return fail('invalid', `Enter a name of at most ${MAX_NAME_LENGTH} characters.`, { field: 'name' });
  if (!isRole(input.role))
    return fail('invalid', `Unknown role "${input.role}": choose admin, marketer or writer.`, { field: 'role' });
  if (await findUserByEmail(deps.db, email.email)) return fail('conflict', DUPLICATE_EMAIL, { field: 'email' });
  let id: number;
  try {
    id = await insertUser(deps.db, {
      email: email.email,
      name,
      role: input.role,
      status: 'invited',
      password_hash: null,
      created_at: now,
      updated_at: now,
      last_login_at: null,
    });
  } catch (error) {
    if (isUniqueViolation(error)) return fail('conflict', DUPLICATE_EMAIL, { field: 'email' });
    throw error;
  }
  const user = (await findUserById(deps.db, id))!;
  const { acceptUrl, mailed } = await sendInvite(deps, user, input.invitedBy, now);
  return ok({ user, acceptUrl, mailed });
}

/** A new invitation link for someone who has not accepted yet (the old link stops working). */
export async function resendInvite(
  deps: AccountDeps,
  input: { userId: number; invitedBy: AuthUser },
  now = Date.now(),
): Promise<Outcome<{ user: User; acceptUrl: string; mailed: boolean }>> {
  const user = await findUserById(deps.db, input.userId);
  if (!user) return fail('not-found', 'There is no such user.');
  if (user.status !== 'invited') return fail('conflict', `${user.email} has accepted the invitation already.`);
  return ok({ user, ...(await sendInvite(deps, user, input.invitedBy, now)) });
}

async function sendInvite(
  deps: AccountDeps,
  user: User,
  invitedBy: AuthUser,
  now: number,
): Promise<{ acceptUrl: string; mailed: boolean }> {
  const { token, expiresAt } = await issueAccountToken(deps.db, 'invite', user.id, now);
  const acceptUrl = `${deps.siteUrl}/admin/invite?token=${token}`;
  try {
    await deps.mail.sendInvite(user.email, {
      name: user.name,
      inviterName: invitedBy.name,
      role: user.role,
      acceptUrl,
      expiresAt,
    });
    return { acceptUrl, mailed: true };
  } catch (error) {
    console.error(
      `[accounts] invitation mail to user ${user.id} failed:`,
      error instanceof Error ? error.message : error,
    );
    return { acceptUrl, mailed: false };
  }
}

/** The invitation link's form: the invited person chooses a password (and may correct their name), and is signed in. */
export async function acceptInvite(
  db: DB,
  input: { token: string; name: string; password: string },
  now = Date.now(),
): Promise<Outcome<SignedIn>> {
  const user = await findUserForToken(db, 'invite', input.token, now);
  if (!user) return fail('gone', 'This invitation has expired or was used already. Ask an admin for a new one.');
  const name = cleanPersonName(input.name) || user.name;
  if (name.length > MAX_NAME_LENGTH)
    return fail('invalid', `Use at most ${MAX_NAME_LENGTH} characters for the name.`, { field: 'name' });
  const password = checkNewPassword(input.password, user.email);
  if (!password.ok) return fail('invalid', password.error, { field: 'password' });
  const passwordHash = await hashPassword(password.password);
  const done = await db.transaction().execute(async (trx) => {
    if (!(await consumeAccountToken(trx, input.token, now))) return false;
    await updateUser(trx, user.id, {
      name,
      password_hash: passwordHash,
      status: 'active',
      updated_at: now,
      last_login_at: now,
    });
    return true;
  });
  if (!done) return fail('gone', 'This invitation was used already.');
  const { token, session } = await createSession(db, user.id, now);
  return ok({ user: toAuthUser({ ...user, name }), token, session });
}

/** Refuses a change that would leave no active admin. */
async function keepsAnAdmin(db: DB, target: User, change: { role?: Role; status?: User['status'] }): Promise<boolean> {
  const wasActiveAdmin = target.role === 'admin' && target.status === 'active';
  const staysActiveAdmin = (change.role ?? target.role) === 'admin' && (change.status ?? target.status) === 'active';
  return !wasActiveAdmin || staysActiveAdmin || (await countActiveAdmins(db)) > 1;
}

export async function changeUserRole(
  db: DB,
  input: { userId: number; role: string; actor: AuthUser },
  now = Date.now(),
): Promise<Outcome<User>> {
  if (!isRole(input.role))
    return fail('invalid', `Unknown role "${input.role}": choose admin, marketer or writer.`, { field: 'role' });
  const user = await findUserById(db, input.userId);
  if (!user) return fail('not-found', 'There is no such user.');
  if (user.id === input.actor.id && input.role !== user.role)
    return fail('forbidden', 'You cannot change your own role; ask another admin.');
  if (!(await keepsAnAdmin(db, user, { role: input.role })))
    return fail('conflict', 'Footfall needs at least one active admin.');
  await updateUser(db, user.id, { role: input.role, updated_at: now });
  return ok({ ...user, role: input.role });
}

/** Deactivates an account: its sessions end and its open links stop working at once. */
export async function deactivateUser(
  db: DB,
  input: { userId: number; actor: AuthUser },
  now = Date.now(),
): Promise<Outcome<User>> {
  const user = await findUserById(db, input.userId);
  if (!user) return fail('not-found', 'There is no such user.');
  if (user.id === input.actor.id) return fail('forbidden', 'You cannot deactivate your own account.');
  if (user.status === 'deactivated') return ok(user);
  if (!(await keepsAnAdmin(db, user, { status: 'deactivated' })))
    return fail('conflict', 'Footfall needs at least one active admin.');
  await updateUser(db, user.id, { status: 'deactivated', updated_at: now });
  await invalidateUserSessions(db, user.id);
  await deleteOpenAccountTokens(db, 'invite', user.id);
  await deleteOpenAccountTokens(db, 'reset', user.id);
  return ok({ ...user, status: 'deactivated' });
}

/** Lets a deactivated account sign in again (or, if it never chose a password, be invited again). */
export async function reactivateUser(db: DB, input: { userId: number }, now = Date.now()): Promise<Outcome<User>> {
  const user = await findUserById(db, input.userId);
  if (!user) return fail('not-found', 'There is no such user.');
  if (user.status !== 'deactivated') return ok(user);
  const status = user.password_hash ? 'active' : 'invited';
  await updateUser(db, user.id, { status, updated_at: now });
  return ok({ ...user, status });
}

export { listUsers };
