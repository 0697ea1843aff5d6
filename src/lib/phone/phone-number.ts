/**
 * Phone numbers as Footfall compares them: the call webhook's `from`/`to` and an issue's
 * tracked number are normalised the same way, so a call to "+44 (0)1632 960-001" matches the
 * number a marketer typed as "+44 01632 960001".
 */

/**
 * "+44 (0)1632 960-123" → "+441632960123" (E.164 when it starts with a country code: the "(0)"
 * written after one is the trunk prefix, not dialled from abroad, and call providers report
 * numbers without it); "(555) 0142" → "5550142". Undefined when it is not a phone number.
 */
export function normalizePhone(value: string): string | undefined {
  let trimmed = value.trim();
  if (!/^\+?[\d\s().\-/]{3,40}$/.test(trimmed)) return undefined;
  if (trimmed.startsWith('+')) trimmed = trimmed.replace(/\(\s*0\s*\)/, '');
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length < 3 || digits.length > 20) return undefined;
  return (trimmed.startsWith('+') ? '+' : '') + digits;
}
