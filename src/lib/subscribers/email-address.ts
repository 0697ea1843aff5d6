import { createHash } from 'node:crypto';
import { z } from 'zod';

const emailSchema = z.email({ error: 'is not a valid email address' }).max(254, 'is longer than 254 characters');

export type EmailCheck = { ok: true; email: string } | { ok: false; error: string };

/**
 * The address as we store it: trimmed and lower-cased (so one person is one row), refused
 * when it could smuggle a header (CR, LF, NUL), is longer than SMTP allows, or is not an address.
 */
export function normalizeEmail(input: unknown): EmailCheck {
  if (typeof input !== 'string' || input.trim() === '') return { ok: false, error: 'Enter an email address.' };
  if (/[\r\n\0]/.test(input)) return { ok: false, error: 'An email address cannot contain line breaks.' };
  const email = input.trim().toLowerCase().normalize('NFC');
  const parsed = emailSchema.safeParse(email);
  if (!parsed.success) return { ok: false, error: `"${email.slice(0, 80)}" ${parsed.error.issues[0]!.message}.` };
  return { ok: true, email };
}

/** What the suppression list keeps instead of the address. */
export function emailHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}
