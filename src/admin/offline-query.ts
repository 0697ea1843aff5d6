import { isOfflineKind, isOfflineSource } from '../lib/offline/offline-events.ts';
import type { DayFilter } from '../lib/offline/offline-events.service.ts';
import { addDays, dayOf, isDay } from '../lib/time/zoned-time.ts';

/** The Offline events page's filters, from its query string; anything unreadable falls back to the default. */
export interface ListQuery {
  filter: DayFilter;
  before: { at: number; id: number } | undefined;
  /** The query string for these filters (without `before`), for links. */
  search: string;
}

export const DEFAULT_DAYS = 14;
/** A longer range is cut to this many days (the daily table lists every day). */
export const MAX_DAYS = 366;

export function parseListQuery(params: URLSearchParams, timeZone: string, now = Date.now()): ListQuery {
  const today = dayOf(now, timeZone);
  let toDay = isDay(params.get('to')) ? params.get('to')! : today;
  let fromDay = isDay(params.get('from')) ? params.get('from')! : addDays(toDay, -(DEFAULT_DAYS - 1));
  if (fromDay > toDay) [fromDay, toDay] = [toDay, fromDay];
  if (addDays(fromDay, MAX_DAYS - 1) < toDay) fromDay = addDays(toDay, -(MAX_DAYS - 1));
  const kind = params.get('kind');
  const source = params.get('source');
  const filter: DayFilter = {
    fromDay,
    toDay,
    timeZone,
    kind: isOfflineKind(kind) ? kind : undefined,
    source: isOfflineSource(source) ? source : undefined,
  };

  const cursor = /^(\d{1,15}):(\d{1,15})$/.exec(params.get('before') ?? '');
  const before = cursor ? { at: Number(cursor[1]), id: Number(cursor[2]) } : undefined;

  const search = new URLSearchParams({ from: fromDay, to: toDay });
  if (filter.kind) search.set('kind', filter.kind);
  if (filter.source) search.set('source', filter.source);
  return { filter, before, search: search.toString() };
}
