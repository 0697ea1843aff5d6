import { z } from 'zod';
import { normalizeEmail } from '../subscribers/email-address.ts';
import { checkNewPassword, normalizePassword } from './password.ts';
import { ROLES, type Role } from './roles.ts';

/**
 * Form fields shared by the account actions, the API and the CLI scripts. Each gives one
 * clear sentence when it refuses a value, and hands on the value as stored.
 */

const MAX_NAME_LENGTH = 100;

type Check = { ok: true; value: string } | { ok: false; error: string };

/** A string field that `check` turns into the value as stored, or refuses with its sentence. */
function checkedString(missing: string, check: (value: string) => Check) {
  return z.string({ error: missing }).transform((value, ctx) => {
    const result = check(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.error });
    return z.NEVER;
  });
}

const asCheck = <K extends string>(
  key: K,
  result: ({ ok: true } & Record<K, string>) | { ok: false; error: string },
): Check => (result.ok ? { ok: true, value: result[key] } : result);

/** Trimmed, lower-cased, an address SMTP can carry (ASCII, ≤ 254 characters, no line breaks). */
export const emailField = checkedString('Enter an email address.', (value) => asCheck('email', normalizeEmail(value)));

/** A password typed to sign in: normalised like a new one, but not judged. */
export const passwordField = checkedString('Enter a password.', (value) =>
  asCheck('password', normalizePassword(value)),
);

/** A password being chosen: long enough and not a common one. */
export const newPasswordField = checkedString('Choose a password.', (value) =>
  asCheck('password', checkNewPassword(value)),
);

export function cleanPersonName(value: string): string {
  return value
    .toWellFormed()
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .normalize('NFC');
}

export const nameField = z
  .string({ error: 'Enter a name.' })
  .transform(cleanPersonName)
  .pipe(
    z.string().min(1, 'Enter a name.').max(MAX_NAME_LENGTH, `Use at most ${MAX_NAME_LENGTH} characters for the name.`),
  );

export const roleField = z.enum(ROLES as [Role, ...Role[]], { error: `Choose a role: ${ROLES.join(', ')}.` });
