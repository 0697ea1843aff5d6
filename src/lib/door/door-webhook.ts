import { parseEventTime } from '../offline/event-time.ts';
import { EARLIEST_EVENT_AT } from '../offline/offline-events.ts';
import type { DoorCounter, NewIntervalCount } from './door-counts.service.ts';

/**
 * What a door counter posts to `POST /api/webhooks/door-counts` (the HTTP side is
 * src/web/door-counts-webhook.ts): one JSON object or a list of them,
 *
 *   {"counter": "front", "from": "2026-11-26T14:00:00Z" | 1795701600000, "to": …, "in": 12, "out": 9}
 *
 * checked field by field. `counter` is a counter's key from Settings; `from` and `to` are epoch
 * milliseconds or ISO 8601 with an offset, `to` after `from`, at most a day apart, not in the
 * future and not older than 30 days; `in` (and the optional `out`) a whole number of people.
 */

export const MAX_DOOR_COUNTS_PER_POST = 1000;
export const MAX_INTERVAL_MS = 86_400_000;
export const MAX_DOOR_COUNT = 100_000;
export const MAX_DOOR_COUNT_AGE_MS = 30 * 86_400_000;
const MAX_SKEW_MS = 5 * 60_000;

type Fields = Record<string, string>;

function parseTime(value: unknown, timeZone: string): { at?: number; error?: string } {
  if (value === undefined || value === null || value === '')
    return { error: 'required: epoch milliseconds or ISO 8601 with an offset' };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return { error: 'must be a whole number of milliseconds since 1970' };
    if (value < 1e11) return { error: 'looks like seconds since 1970: send milliseconds' };
    return { at: value };
  }
  if (typeof value === 'string') {
    const parsed = parseEventTime(value, timeZone, { requireOffset: true });
    return parsed.ok ? { at: parsed.at } : { error: parsed.reason };
  }
  return { error: 'must be a number (epoch milliseconds) or an ISO 8601 string' };
}

function parseCount(value: unknown, required: boolean): { n?: number | null; error?: string } {
  if (value === undefined || value === null) return required ? { error: 'required: people counted in' } : { n: null };
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DOOR_COUNT)
    return { error: `must be a whole number from 0 to ${MAX_DOOR_COUNT}` };
  return { n: value };
}

/** One interval: its problems by field name, or the interval. */
export function parseDoorCount(
  input: unknown,
  counters: readonly DoorCounter[],
  timeZone: string,
  now: number,
  options: { maxAgeMs?: number } = {},
): { ok: true; item: NewIntervalCount } | { ok: false; errors: Fields } {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: { body: 'each count is a JSON object {counter, from, to, in, out?}' } };
  const v = input as Record<string, unknown>;
  const errors: Fields = {};
  const key = typeof v.counter === 'string' ? v.counter.trim().toLowerCase() : undefined;
  const counter = key === undefined ? undefined : counters.find((c) => c.key === key);
  if (!counter)
    errors.counter =
      typeof v.counter === 'string' && v.counter !== ''
        ? `no counter "${v.counter.slice(0, 40)}" in Settings (known: ${counters.map((c) => c.key).join(', ') || 'none yet'})`
        : 'required: the key of a counter named in Settings';
  const from = parseTime(v.from, timeZone);
  const to = parseTime(v.to, timeZone);
  if (from.error) errors.from = from.error;
  if (to.error) errors.to = to.error;
  if (from.at !== undefined && to.at !== undefined) {
    if (to.at <= from.at) errors.to = 'must be after from';
    else if (to.at - from.at > MAX_INTERVAL_MS) errors.to = 'is more than a day after from: send shorter intervals';
    else if (to.at > now + MAX_SKEW_MS) errors.to = 'is in the future';
    else if (from.at < EARLIEST_EVENT_AT || now - from.at > (options.maxAgeMs ?? MAX_DOOR_COUNT_AGE_MS))
      errors.from = 'is more than 30 days ago';
  }
  const countIn = parseCount(v.in, true);
  const countOut = parseCount(v.out, false);
  if (countIn.error) errors.in = countIn.error;
  if (countOut.error) errors.out = countOut.error;
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    item: { counterId: counter!.id, from: from.at!, to: to.at!, countIn: countIn.n!, countOut: countOut.n ?? null },
  };
}

/** The posted JSON value: one object or a list of up to MAX_DOOR_COUNTS_PER_POST; errors named `field` or `[i].field`. */
export function parseDoorCountsPayload(
  body: unknown,
  counters: readonly DoorCounter[],
  timeZone: string,
  now: number,
): { ok: true; items: NewIntervalCount[] } | { ok: false; errors: Fields } {
  if (!Array.isArray(body)) {
    const one = parseDoorCount(body, counters, timeZone, now);
    return one.ok ? { ok: true, items: [one.item] } : one;
  }
  if (body.length === 0) return { ok: false, errors: { body: 'the list is empty' } };
  if (body.length > MAX_DOOR_COUNTS_PER_POST)
    return { ok: false, errors: { body: `at most ${MAX_DOOR_COUNTS_PER_POST} counts a post (got ${body.length})` } };
  const errors: Fields = {};
  const items: NewIntervalCount[] = [];
  const first = new Map<string, number>();
  body.forEach((entry, i) => {
    const one = parseDoorCount(entry, counters, timeZone, now);
    if (!one.ok) {
      for (const [field, message] of Object.entries(one.errors)) errors[`[${i}].${field}`] = message;
      return;
    }
    // The same interval twice in one post: which count is meant cannot be told.
    const key = `${one.item.counterId}:${one.item.from}:${one.item.to}`;
    const earlier = first.get(key);
    if (earlier !== undefined) errors[`[${i}].from`] = `the same counter and interval as [${earlier}]`;
    else first.set(key, i);
    items.push(one.item);
  });
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, items };
}
