/**
 * Numbers with their nouns and spans of time in words, in British English: "1 signup",
 * "2 signups", "1,234 recipients", "4 minutes", "3 days 2 hours". The noun's form comes from
 * Intl.PluralRules of the number as it is printed, so a rounded "1.0" or a "1" never gets a
 * plural and "0 visits" never a singular.
 */

/** A noun's two English forms; a bare string is taken as the singular plus "s". */
export type Noun = string | { one: string; other: string };

const rulesByDigits = new Map<number, Intl.PluralRules>();

/** Plural rules that see the number as printed with at most `digits` decimals (1.04 printed "1" is singular). */
function rulesFor(digits: number): Intl.PluralRules {
  let rules = rulesByDigits.get(digits);
  if (!rules) rulesByDigits.set(digits, (rules = new Intl.PluralRules('en-GB', { maximumFractionDigits: digits })));
  return rules;
}

function forms(noun: Noun): { one: string; other: string } {
  return typeof noun === 'string' ? { one: noun, other: `${noun}s` } : noun;
}

/** The form of `noun` that goes with `n` printed with at most `digits` decimals. */
export function nounFor(n: number, noun: Noun, digits = 0): string {
  const { one, other } = forms(noun);
  return rulesFor(digits).select(n) === 'one' ? one : other;
}

/** 1 → "1 signup"; 1234 → "1,234 signups"; a fraction keeps `digits` decimals at most. */
export function countOf(n: number, noun: Noun, digits = 0): string {
  return `${n.toLocaleString('en-GB', { maximumFractionDigits: digits })} ${nounFor(n, noun, digits)}`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A span of time as a reader says it, never rounded up past what happened: under a minute
 * "less than a minute"; then "4 minutes"; "1 hour", "2 hours 5 minutes"; from two days
 * "3 days", "3 days 22 hours". Parts are whole and cut off, not rounded (59 s is not "1 minute").
 */
export function durationOf(ms: number): string {
  if (!Number.isFinite(ms) || ms < MINUTE) return 'less than a minute';
  if (ms < HOUR) return countOf(Math.floor(ms / MINUTE), 'minute');
  if (ms < 2 * DAY) {
    const hours = Math.floor(ms / HOUR);
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return minutes === 0 || hours >= 10
      ? countOf(hours, 'hour')
      : `${countOf(hours, 'hour')} ${countOf(minutes, 'minute')}`;
  }
  const days = Math.floor(ms / DAY);
  const hours = Math.floor((ms % DAY) / HOUR);
  return hours === 0 ? countOf(days, 'day') : `${countOf(days, 'day')} ${countOf(hours, 'hour')}`;
}

/** "in 30 seconds", "in 2 minutes", "in 3 hours", "in 2 days": how far ahead `at` is, rounded to the nearest whole unit. */
export function timeUntil(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((at - now) / 1000));
  if (seconds < 90) return `in ${countOf(seconds, 'second')}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `in ${countOf(minutes, 'minute')}`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `in ${countOf(hours, 'hour')}`;
  return `in ${countOf(Math.round(hours / 24), 'day')}`;
}
