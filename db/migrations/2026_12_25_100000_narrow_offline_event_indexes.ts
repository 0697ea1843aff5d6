import type { Kysely } from 'kysely';

/**
 * Offline events had seven indexes besides the table itself, each an insert in every call's
 * commit (a provider's calls come in bursts through the event writer; docs/performance.md,
 * "Calls"). Three index columns that are null on most rows now index only the rows that have
 * them, which is all their readers ask for (`column = ?` implies it is not null, on both
 * dialects):
 *
 * - `recorded_by`: the tally page's last tap and undo (a user's own taps), and a user's deletion
 *   (`on delete set null`); a webhook's call, an import's row have nobody.
 * - `subscriber_id`: the holdout comparison's calls of a subscriber, and erasure; most callers
 *   are no subscriber.
 * - `issue_id`: an issue's count of events, and an issue's deletion; a call to a number that is
 *   no issue's tracked number, a walk-in without a mention, have none.
 *
 * `offline_events_kind_at` goes: every query by kind also bounds `at` (a day on the tally page,
 * a page or a range of the list), which `offline_events_at` reads in time order with the kind
 * filtered on the way — at most the other kind's rows of that range more.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('offline_events_kind_at').execute();
  for (const [name, column, then] of PARTIAL) {
    await db.schema.dropIndex(name).execute();
    await db.schema
      .createIndex(name)
      .on('offline_events')
      .columns([column, then])
      .where(column, 'is not', null)
      .execute();
  }
}

const PARTIAL = [
  ['offline_events_recorded_by', 'recorded_by', 'recorded_at'],
  ['offline_events_subscriber_id', 'subscriber_id', 'at'],
  ['offline_events_issue_id', 'issue_id', 'at'],
] as const;

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name, column, then] of PARTIAL) {
    await db.schema.dropIndex(name).execute();
    await db.schema.createIndex(name).on('offline_events').columns([column, then]).execute();
  }
  await db.schema.createIndex('offline_events_kind_at').on('offline_events').columns(['kind', 'at']).execute();
}
