import type { DB } from '../db/database.ts';
import type { AccountTokenTable } from '../db/schema.ts';
import {
  deleteOpenAccountTokens,
  findAccountToken,
  insertAccountToken,
  markAccountTokenUsed,
  type AccountToken,
} from './account-tokens.repository.ts';
import { generateSecureRandomString, hashSecret } from './secrets.ts';

/**
 * Links that act once: the first admin's setup link, an invitation, a password reset. The
 * link carries a random token; the database keeps its SHA-256, when it expires, and when it
 * was used.
 */
export type TokenPurpose = AccountTokenTable['purpose'];

export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  setup: 60 * 60 * 1000,
  invite: 7 * 24 * 60 * 60 * 1000,
  reset: 60 * 60 * 1000,
};

const TOKEN_SHAPE = /^[a-z2-7]{32}$/;

/** A fresh token for a purpose (and user); earlier unused tokens of the same kind stop working. */
export async function issueAccountToken(
  db: DB,
  purpose: TokenPurpose,
  userId: number | null,
  now = Date.now(),
): Promise<{ token: string; expiresAt: number }> {
  const token = generateSecureRandomString(20);
  const expiresAt = now + TOKEN_LIFETIME_MS[purpose];
  await deleteOpenAccountTokens(db, purpose, userId);
  await insertAccountToken(db, {
    token_hash: hashSecret(token),
    purpose,
    user_id: userId,
    created_at: now,
    expires_at: expiresAt,
    used_at: null,
  });
  return { token, expiresAt };
}

/** The token's row when it is of this purpose, unused and unexpired; otherwise undefined. */
export async function readAccountToken(
  db: DB,
  purpose: TokenPurpose,
  token: unknown,
  now = Date.now(),
): Promise<AccountToken | undefined> {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined;
  const row = await findAccountToken(db, hashSecret(token));
  if (row?.purpose !== purpose || row.used_at !== null || row.expires_at <= now) return undefined;
  return { ...row, user_id: row.user_id === null ? null : Number(row.user_id) };
}

/** Uses the token up; false when someone else used it first. */
export function consumeAccountToken(db: DB, token: string, now = Date.now()): Promise<boolean> {
  return markAccountTokenUsed(db, hashSecret(token), now);
}
