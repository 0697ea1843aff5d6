/** "26 Nov 2026, 16:05" in the site's time zone; "never" for no time. */
export function formatTime(at: number | null | undefined, timeZone: string): string {
  if (!at) return 'never';
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(at));
}

/** "26 Nov 2026" in the site's time zone. */
export function formatDay(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone }).format(new Date(at));
}

/** "16:05" in the site's time zone. */
export function formatClock(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeStyle: 'short', timeZone }).format(new Date(at));
}
