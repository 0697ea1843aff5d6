import { hash, verify } from '@node-rs/argon2';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * argon2id, 19 MiB, t=2, p=1: OWASP's minimum for argon2id. argon2id is the library's default algorithm (its
 * `Algorithm` is a const enum, which isolated modules cannot name), and every hash records it (`$argon2id$`).
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Common passwords that are long enough to pass the length rule (shorter ones fail it anyway),
 * from the top of public breach lists, plus this site's own names.
 */
const COMMON_PASSWORDS = new Set([
  '1234567890',
  '0123456789',
  '0987654321',
  '1111111111',
  '0000000000',
  '1234512345',
  '1122334455',
  '9876543210',
  '12345678910',
  '123456789a',
  'a123456789',
  '123456789q',
  'q123456789',
  '1q2w3e4r5t',
  '1q2w3e4r5t6y',
  'q1w2e3r4t5',
  '1qaz2wsx3edc',
  'zaq12wsxcde',
  'zaq1zaq1zaq1',
  'qwertyuiop',
  'qwertyuiop123',
  'qwerty1234',
  'qwerty12345',
  'qwerty123456',
  'asdfghjkl1',
  'asdfghjkl;',
  'zxcvbnm123',
  'abcdefghij',
  'abcdefg123',
  'abc1234567',
  'abcd123456',
  'password12',
  'password123',
  'password1234',
  'password12345',
  'password!1',
  'password1!',
  'passw0rd123',
  'p@ssw0rd123',
  'p@ssword123',
  'password2024',
  'password2025',
  'password2026',
  'passwordpassword',
  'mypassword1',
  'mypassword123',
  'iloveyou12',
  'iloveyou123',
  'iloveyou1234',
  'letmein123',
  'letmein1234',
  'welcome123',
  'welcome1234',
  'welcome2026',
  'changeme123',
  'changeme1234',
  'administrator',
  'administrator1',
  'admin12345',
  'admin123456',
  'adminadmin',
  'football123',
  'baseball123',
  'superman123',
  'batman12345',
  'princess123',
  'sunshine123',
  'starwars123',
  'pokemon123',
  'dragon12345',
  'monkey12345',
  'master12345',
  'shadow12345',
  'michael123',
  'jennifer123',
  'trustno1trustno1',
  'qazwsxedcrfv',
  'q1w2e3r4t5y6',
  'iloveyouiloveyou',
  'secret12345',
  'computer123',
  'internet123',
  'whatever123',
  'football1234',
  'liverpool123',
  'chelsea1234',
  'newyork1234',
  'summer2026',
  'winter2026',
  'spring2026',
  'autumn2026',
  'frobozz123',
  'frobozz1234',
  'frobozzelectric',
  'frobozz electric',
  'footfall123',
  'footfall1234',
  'portfoozle',
  'widgets123',
  'widget12345',
]);

export type PasswordCheck = { ok: true; password: string } | { ok: false; error: string };

/**
 * The password as it is hashed: NFKC-normalised, so the same characters typed on another
 * keyboard (composed or not, full-width or not) still match. Refuses what cannot be typed
 * back reliably (broken Unicode, control characters) and what is too long to hash cheaply.
 */
export function normalizePassword(input: unknown): PasswordCheck {
  if (typeof input !== 'string' || input === '') return { ok: false, error: 'Enter a password.' };
  if (!input.isWellFormed())
    return { ok: false, error: 'The password contains broken Unicode characters; type it again.' };
  if (/\p{Cc}/u.test(input))
    return { ok: false, error: 'The password cannot contain control characters such as tabs or line breaks.' };
  const password = input.normalize('NFKC');
  if (Array.from(password).length > PASSWORD_MAX_LENGTH)
    return { ok: false, error: `The password is too long: use at most ${PASSWORD_MAX_LENGTH} characters.` };
  return { ok: true, password };
}

/** A password someone chooses: normalised, at least PASSWORD_MIN_LENGTH characters, not a common one, not the email. */
export function checkNewPassword(input: unknown, email?: string): PasswordCheck {
  const normalized = normalizePassword(input);
  if (!normalized.ok) return normalized;
  const { password } = normalized;
  if (Array.from(password).length < PASSWORD_MIN_LENGTH)
    return { ok: false, error: `The password is too short: use at least ${PASSWORD_MIN_LENGTH} characters.` };
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || /^(.)\1+$/u.test(password)) {
    return { ok: false, error: 'That password is one of the most common ones: choose one that is harder to guess.' };
  }
  if (email && (lower === email.toLowerCase() || lower === email.toLowerCase().split('@')[0])) {
    return { ok: false, error: 'The password cannot be your email address.' };
  }
  return { ok: true, password };
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/**
 * A hash with the same parameters as real ones, of a random password nobody kept: verifying
 * against it costs what a real verification costs, and never succeeds.
 */
export const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$p64AdsATBzBtDQ2Vfu1tOg$YJgYwH/vvWSKwYiAaqtYwP1GNJ05T76qzMQjAoePGHE';

/**
 * Spends the time of a real verification when there is no account (or no password) to check,
 * so a wrong email answers as slowly as a wrong password — from the very first request.
 */
export async function verifyNothing(password: string): Promise<false> {
  await verifyPassword(DUMMY_HASH, password);
  return false;
}
