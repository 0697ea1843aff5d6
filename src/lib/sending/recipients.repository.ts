import type { SubscriberStatus } from '../db/schema.ts';
import type { Db } from './sending.ts';

export interface RecipientRow {
  id: number;
  email: string;
  name: string | null;
  status: SubscriberStatus;
  paused: number;
}

/** The subscribers behind a claimed batch, read just before their messages go (one query a batch). */
export async function findRecipientRows(db: Db, subscriberIds: readonly number[]): Promise<RecipientRow[]> {
  if (subscriberIds.length === 0) return [];
  const rows = await db
    .selectFrom('subscribers')
    .select(['id', 'email', 'name', 'status', 'paused'])
    .where('id', 'in', subscriberIds)
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), paused: Number(r.paused) }));
}
