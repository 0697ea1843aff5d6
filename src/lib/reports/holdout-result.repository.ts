import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * The per-person outcomes of an experiment's arms (issue 19, the holdout result), counted straight
 * from raw rows: the ledger (never pruned; erasure keeps the row, the subscriber goes), the
 * subscribers, visits (`reader_subscriber_id`) and calls (`offline_events.subscriber_id`).
 */
type Db = DB | Transaction<Database>;

export interface ArmOutcomeRow {
  arm: string;
  /** Ledger rows in the arm. */
  size: number;
  /** Of them, subscribers whose reader cookie was first set before the send's start. */
  readersKnown: number;
  /** Of those, people with at least one visit from their browser in the window. */
  readersVisited: number;
  /** Subscribers of the arm whose phone number (hash) on file was set before the send's start. */
  phones: number;
  /** Of those, people with at least one call matched to them in the window. */
  phonesCalled: number;
  /** Calls matched to the arm's subscribers in the window (calls, not people). */
  calls: number;
  /** Delivered recipients of the arm with at least one call matched to them in the window (people: the per-arm report's rate). */
  callers: number;
}

/** When the issue's sending started (the audience's freeze); null before. */
export async function findSendStart(db: Db, issueId: number): Promise<number | null> {
  const r = await db
    .selectFrom('sends')
    .select((eb) => eb.fn.min<number | string | null>('started_at').as('at'))
    .where('issue_id', '=', issueId)
    .executeTakeFirst();
  return r?.at === null || r?.at === undefined ? null : Number(r.at);
}

/** Per arm, the people identifiable for each per-person outcome and those with it in [from, to). */
export async function countArmOutcomes(db: Db, issueId: number, from: number, to: number): Promise<ArmOutcomeRow[]> {
  const rows = await db
    .selectFrom('deliveries as d')
    .leftJoin('subscribers as s', 's.id', 'd.subscriber_id')
    .select((eb) => {
      const known = eb.and([eb('s.reader_known_at', 'is not', null), eb('s.reader_known_at', '<', from)]);
      const visited = eb.exists(
        eb
          .selectFrom('visits as v')
          .select(eb.lit(1).as('one'))
          .whereRef('v.reader_subscriber_id', '=', 's.id')
          .where('v.started_at', '>=', from)
          .where('v.started_at', '<', to),
      );
      // On file before the send, like the reader cookie: a number added later (even because the
      // person called about this issue) must not make someone identifiable after the fact.
      const phone = eb.and([
        eb('s.phone_hash', 'is not', null),
        eb('s.phone_set_at', 'is not', null),
        eb('s.phone_set_at', '<', from),
      ]);
      const callsOf = eb
        .selectFrom('offline_events as o')
        .whereRef('o.subscriber_id', '=', 's.id')
        .where('o.kind', '=', 'call')
        .where('o.undone_at', 'is', null)
        .where('o.at', '>=', from)
        .where('o.at', '<', to);
      const one = (condition: Parameters<typeof eb.case>[0]) =>
        eb.fn.sum<number | string | null>(eb.case().when(condition).then(1).else(0).end());
      return [
        'd.arm',
        eb.fn.countAll<number | string>().as('size'),
        one(known).as('readers_known'),
        one(eb.and([known, visited])).as('readers_visited'),
        one(phone).as('phones'),
        one(eb.and([phone, eb.exists(callsOf.select(eb.lit(1).as('one')))])).as('phones_called'),
        one(eb.and([eb('d.status', '=', 'sent'), eb.exists(callsOf.select(eb.lit(1).as('one')))])).as('callers'),
        eb.fn.sum<number | string | null>(callsOf.select((c) => c.fn.countAll<number | string>().as('n'))).as('calls'),
      ];
    })
    .where('d.issue_id', '=', issueId)
    .where('d.arm', 'is not', null)
    .groupBy('d.arm')
    .execute();
  return rows.map((r) => ({
    arm: r.arm!,
    size: Number(r.size),
    readersKnown: Number(r.readers_known ?? 0),
    readersVisited: Number(r.readers_visited ?? 0),
    phones: Number(r.phones ?? 0),
    phonesCalled: Number(r.phones_called ?? 0),
    calls: Number(r.calls ?? 0),
    callers: Number(r.callers ?? 0),
  }));
}
