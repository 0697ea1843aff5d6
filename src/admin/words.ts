const rules = new Intl.PluralRules('en');

/** "1 subscriber", "1,234 subscribers": the count with its noun in the right number (English plural rules). */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en')} ${rules.select(n) === 'one' ? singular : plural}`;
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
