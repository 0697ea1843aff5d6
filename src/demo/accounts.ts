import { randomBytes } from 'node:crypto';
import type { DB } from '../lib/db/database.ts';
import type { UserRole } from '../lib/db/schema.ts';
import { createUser, resetPassword } from '../lib/auth/users.service.ts';
import { issueAccountToken } from '../lib/auth/account-tokens.service.ts';
import { findUserByEmail } from '../lib/auth/users.repository.ts';

/** The demo's staff: the owner (admin) and the marketer who writes and sends the newsletter. */
export const DEMO_STAFF = [
  { email: 'admin@frobozz.example', name: 'Mira Flathead', role: 'admin' },
  { email: 'marketing@frobozz.example', name: 'Lin Rezrov', role: 'marketer' },
] as const satisfies readonly { email: string; name: string; role: UserRole }[];

export interface DemoLogin {
  email: string;
  name: string;
  role: UserRole;
  password: string;
}

/** A fresh random password (never stored in clear: only printed). */
function newPassword(): string {
  return `demo-${randomBytes(12).toString('base64url')}`;
}

/** Creates the staff accounts with fresh passwords; answers their ids by role and the logins to print. */
export async function createDemoStaff(
  db: DB,
  now: number,
): Promise<{ ids: Record<'admin' | 'marketer', number>; logins: DemoLogin[] }> {
  const ids = { admin: 0, marketer: 0 };
  const logins: DemoLogin[] = [];
  for (const staff of DEMO_STAFF) {
    const password = newPassword();
    const created = await createUser(db, { ...staff, password }, now);
    if (!created.ok) throw new Error(`demo account ${staff.email} not created: ${created.message}`);
    ids[staff.role] = Number(created.value.id);
    logins.push({ ...staff, password });
  }
  return { ids, logins };
}

/**
 * New passwords for the staff of an existing demo database (only hashes are kept, so a reused
 * demo cannot print the old ones), set through the password-reset path. Undefined when the
 * database has no demo staff (it is not a finished demo).
 */
export async function renewDemoPasswords(db: DB, now = Date.now()): Promise<DemoLogin[] | undefined> {
  const logins: DemoLogin[] = [];
  for (const staff of DEMO_STAFF) {
    const user = await findUserByEmail(db, staff.email);
    if (!user) return undefined;
    const password = newPassword();
    const { token } = await issueAccountToken(db, 'reset', Number(user.id), now);
    const reset = await resetPassword(db, { token, password }, now);
    if (!reset.ok) throw new Error(`could not set a new password for ${staff.email}: ${reset.message}`);
    logins.push({ ...staff, password });
  }
  return logins;
}
