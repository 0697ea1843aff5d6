import type { DB } from '../db/database.ts';
import type { SubscriberStatus } from '../db/schema.ts';
import {
  countByStatus,
  countSubscribers,
  findTopicsOf,
  listSubscribers,
  type SubscriberFilter,
  type SubscriberListRow,
} from './subscribers.repository.ts';

export const SUBSCRIBER_PAGE_SIZE = 50;

export interface SubscriberPage {
  rows: (SubscriberListRow & { topics: string[] })[];
  /** The cursor of the next older page (`before`), when there is one. */
  older: number | undefined;
  /** The cursor of the next newer page (`after`), when this is not the newest page. */
  newer: number | undefined;
  /** Subscribers matching the filter, on every page. */
  matching: number;
  /** Everyone, by status (no filter). */
  byStatus: Record<SubscriberStatus, number>;
  total: number;
}

/**
 * One page of the admin's subscriber table, newest first, by keyset: `before` an id for older
 * rows, `after` one for newer rows. Each page costs the same however deep it is; the counts
 * are one grouped query and, with a filter, one count.
 */
export async function subscriberPage(
  db: DB,
  filter: SubscriberFilter,
  cursor: { before?: number; after?: number },
  limit = SUBSCRIBER_PAGE_SIZE,
): Promise<SubscriberPage> {
  let rows: SubscriberListRow[];
  let older: number | undefined;
  let newer: number | undefined;
  const newest = async () => {
    const found = await listSubscribers(db, filter, { limit: limit + 1 });
    return { rows: found.slice(0, limit), older: found.length > limit ? Number(found[limit - 1]!.id) : undefined };
  };
  if (cursor.after) {
    const found = await listSubscribers(db, filter, { afterId: cursor.after, limit: limit + 1 });
    if (found.length > limit) {
      rows = found.slice(0, limit).reverse();
      newer = Number(rows[0]!.id);
      older = Number(rows[rows.length - 1]!.id);
    } else {
      // Back at the top: show a full newest page rather than the few rows above the cursor.
      ({ rows, older } = await newest());
    }
  } else if (cursor.before) {
    const found = await listSubscribers(db, filter, { beforeId: cursor.before, limit: limit + 1 });
    rows = found.slice(0, limit);
    older = found.length > limit ? Number(rows[rows.length - 1]!.id) : undefined;
    newer = rows.length > 0 ? Number(rows[0]!.id) : cursor.before - 1;
  } else {
    ({ rows, older } = await newest());
  }

  const filtered = Boolean(filter.search || filter.status || filter.topic);
  const [topics, counts, matching] = await Promise.all([
    findTopicsOf(
      db,
      rows.map((r) => Number(r.id)),
    ),
    countByStatus(db),
    filtered ? countSubscribers(db, filter) : Promise.resolve(undefined),
  ]);
  const byStatus: Record<SubscriberStatus, number> = {
    active: 0,
    pending: 0,
    unsubscribed: 0,
    bounced: 0,
    complained: 0,
    ...counts,
  };
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  return {
    rows: rows.map((r) => ({ ...r, id: Number(r.id), topics: topics.get(Number(r.id)) ?? [] })),
    older,
    newer,
    matching: matching ?? total,
    byStatus,
    total,
  };
}
