import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, SubscriberStatus } from '../db/schema.ts';
import type { PeopleRule } from './people.ts';

type Db = DB | Transaction<Database>;

/**
 * The deliveries of `rule.issue` that its figure counts, read from the ledger's own columns
 * (the ones the report's maintained counts move with), so the list has as many rows as the
 * report's figure. Plain Kysely: the same SQL on both databases.
 */
export function countedDeliveries(db: Db, rule: PeopleRule) {
  const query = db.selectFrom('deliveries').where('deliveries.issue_id', '=', rule.issue);
  switch (rule.figure) {
    case 'opened':
      return query.where('deliveries.first_opened_at', 'is not', null);
    case 'clicked': {
      const clicked = query.where('deliveries.first_clicked_at', 'is not', null);
      // clicked_links holds the links its reader clicked as ",12,15,".
      return rule.link === undefined ? clicked : clicked.where('deliveries.clicked_links', 'like', `%,${rule.link},%`);
    }
    case 'visited':
      return query.where('deliveries.first_visit_at', 'is not', null);
    case 'later':
      return query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('visits')
            .select('visits.id')
            .whereRef('visits.delivery_id', '=', 'deliveries.id')
            .where('visits.is_later', '=', 1),
        ),
      );
    case 'not-opened':
      return query
        .where('deliveries.status', '=', 'sent')
        .where('deliveries.first_opened_at', 'is', null)
        .where('deliveries.first_clicked_at', 'is', null);
  }
}

/** How many deliveries the figure counts, and how many of them still name a subscriber (a deleted one leaves the row, without the person). */
export async function countPeople(db: Db, rule: PeopleRule): Promise<{ total: number; named: number }> {
  const row = await countedDeliveries(db, rule)
    .select((eb) => [eb.fn.countAll<number>().as('total'), eb.fn.count<number>('deliveries.subscriber_id').as('named')])
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), named: Number(row.named) };
}

export interface PersonRow {
  deliveryId: number;
  subscriberId: number;
  email: string;
  name: string | null;
  /** Their status now (they may have unsubscribed since). */
  status: SubscriberStatus;
  openedAt: number | null;
  clickedAt: number | null;
  visitedAt: number | null;
}

const time = (value: number | bigint | string | null) => (value === null ? null : Number(value));

/** Up to `limit` of the people behind the figure whose delivery id is above `afterDeliveryId`, in delivery order. */
export async function findPeople(
  db: Db,
  rule: PeopleRule,
  afterDeliveryId: number,
  limit: number,
): Promise<PersonRow[]> {
  const rows = await countedDeliveries(db, rule)
    .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
    .select([
      'deliveries.id',
      'subscribers.id as subscriber_id',
      'subscribers.email',
      'subscribers.name',
      'subscribers.status',
      'deliveries.first_opened_at',
      'deliveries.first_clicked_at',
      'deliveries.first_visit_at',
    ])
    .where('deliveries.id', '>', afterDeliveryId)
    .orderBy('deliveries.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    deliveryId: Number(r.id),
    subscriberId: Number(r.subscriber_id),
    email: r.email,
    name: r.name,
    status: r.status,
    openedAt: time(r.first_opened_at),
    clickedAt: time(r.first_clicked_at),
    visitedAt: time(r.first_visit_at),
  }));
}

/** A page of them: `offset` rows skipped, in delivery order. */
export async function findPeoplePage(db: Db, rule: PeopleRule, offset: number, limit: number): Promise<PersonRow[]> {
  const rows = await countedDeliveries(db, rule)
    .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
    .select('deliveries.id')
    .orderBy('deliveries.id')
    .limit(1)
    .offset(offset)
    .execute();
  if (rows.length === 0) return [];
  return findPeople(db, rule, Number(rows[0]!.id) - 1, limit);
}

/** The issue's link `linkId`, if it is one of `issueId`'s. */
export async function findIssueLink(
  db: Db,
  issueId: number,
  linkId: number,
): Promise<{ id: number; label: string } | undefined> {
  const row = await db
    .selectFrom('issue_links')
    .select(['id', 'label'])
    .where('id', '=', linkId)
    .where('issue_id', '=', issueId)
    .executeTakeFirst();
  return row && { id: Number(row.id), label: row.label };
}
