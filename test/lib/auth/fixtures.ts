import type { DB } from '#lib/db/database.ts';
import { insertUser } from '#lib/auth/users.repository.ts';
import { hashPassword } from '#lib/auth/password.ts';
import type { Role } from '#lib/auth/roles.ts';

export const PASSWORD = 'correct horse battery staple';
let passwordHash: Promise<string> | undefined;

/** An active user with PASSWORD, hashed once per test file (argon2 is slow on purpose). */
export async function addUser(db: DB, email: string, role: Role = 'writer', now = Date.now()): Promise<number> {
  passwordHash ??= hashPassword(PASSWORD);
  return insertUser(db, {
    email,
    name: email.split('@')[0]!,
    role,
    status: 'active',
    password_hash: await passwordHash,
    created_at: now,
    updated_at: now,
    last_login_at: null,
  });
}
