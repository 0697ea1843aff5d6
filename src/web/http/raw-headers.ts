/**
 * Request headers read from `req.rawHeaders` (name, value, name, value, …) without touching
 * `req.headers`: Node builds that object, every header lower-cased, on first access, which
 * costs a few microseconds a request — as much as half of what the open pixel does besides
 * answering. Names compare case-insensitively; pass them lower-case.
 */

/** The first value of a header (as Node keeps for User-Agent, Host, Referer…). */
export function firstRawHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!;
    if (key.length === name.length && key.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

/** Every value of a header in order (as Node joins X-Forwarded-For), or undefined when absent. */
export function allRawHeaders(rawHeaders: readonly string[], name: string): string[] | undefined {
  let values: string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!;
    if (key.length === name.length && key.toLowerCase() === name) (values ??= []).push(rawHeaders[i + 1]!);
  }
  return values;
}
