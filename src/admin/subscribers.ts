/** The subscriber pages of the admin: their filter in the URL, status words and counts. */
import type { SubscriberStatus } from '../lib/db/schema.ts';
import type { SubscriberFilter } from '../lib/subscribers/subscribers.repository.ts';
import { isTopic } from '../lib/subscribers/topics.ts';

export const SUBSCRIBER_STATUSES: readonly SubscriberStatus[] = [
  'active',
  'pending',
  'unsubscribed',
  'bounced',
  'complained',
];

const isStatus = (value: string | null): value is SubscriberStatus =>
  value !== null && (SUBSCRIBER_STATUSES as readonly string[]).includes(value);

/** The subscriber list's filter from a URL (`?q=&status=&topic=`); anything unknown is ignored, not an error. */
export function subscriberFilterFrom(params: URLSearchParams): SubscriberFilter {
  const search = params
    .get('q')
    ?.replace(/[\0-\x1f\x7f]/g, '')
    .trim()
    .slice(0, 100);
  const status = params.get('status');
  const topic = params.get('topic');
  return {
    ...(search ? { search } : {}),
    ...(isStatus(status) ? { status } : {}),
    ...(topic && isTopic(topic) ? { topic } : {}),
  };
}

/** The same filter as query parameters (for links that keep it: paging, export). */
export function filterQuery(filter: SubscriberFilter, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  if (filter.search) params.set('q', filter.search);
  if (filter.status) params.set('status', filter.status);
  if (filter.topic) params.set('topic', filter.topic);
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) params.set(key, String(value));
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** A keyset cursor from the URL: a positive integer id, or undefined. */
export function cursorFrom(value: string | null): number | undefined {
  if (!value || !/^\d{1,15}$/.test(value)) return undefined;
  const id = Number(value);
  return id > 0 ? id : undefined;
}

/** What each status means, in the admin's words. */
export const STATUS_LABELS: Record<SubscriberStatus, string> = {
  active: 'active',
  pending: 'pending (not confirmed)',
  unsubscribed: 'unsubscribed',
  bounced: 'bounced',
  complained: 'complained',
};

export function statusBadgeClass(status: SubscriberStatus): string {
  if (status === 'active') return 'badge badge--ok';
  if (status === 'pending') return 'badge badge--warn';
  if (status === 'unsubscribed') return 'badge badge--muted';
  return 'badge badge--danger';
}

/** 100000 → "100,000". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-GB');
}
