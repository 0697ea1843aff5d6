// TEMPORARY STAND-IN for the `bounces` branch's recording service (same contract), so this branch
// builds and its tests run until that branch lands; removed by the merge commit.
import type { DB } from '../db/database.ts';
import { findSubscriberById } from '../subscribers/subscribers.repository.ts';
import { suppressAddress } from '../subscribers/subscribers.service.ts';
import { markDeliveryBounced, markDeliveryComplained } from '../sending/deliveries.repository.ts';

export type BounceKind = 'hard' | 'soft' | 'complaint';
export type BounceSource = 'webhook' | 'ses' | 'postmark' | 'mailgun' | 'sendgrid' | 'mailbox' | 'smtp';
export interface BounceReport {
  kind: BounceKind;
  source: BounceSource;
  messageId?: string;
  email?: string;
  deliveryId?: number;
  reason?: string;
  eventKey?: string;
  at: number;
}

const seen = new WeakMap<DB, Set<string>>();

export async function recordBounce(
  db: DB,
  report: BounceReport,
  now = Date.now(),
): Promise<{ recorded: boolean; duplicate: boolean; deliveryId: number | null; suppressed: boolean }> {
  const keys = seen.get(db) ?? new Set<string>();
  seen.set(db, keys);
  if (report.eventKey && keys.has(report.eventKey))
    return { recorded: false, duplicate: true, deliveryId: null, suppressed: false };
  let delivery =
    report.deliveryId !== undefined
      ? await db.selectFrom('deliveries').selectAll().where('id', '=', report.deliveryId).executeTakeFirst()
      : undefined;
  if (!delivery && report.messageId)
    delivery = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('message_id', '=', `<${report.messageId.replace(/^<|>$/g, '')}>`)
      .executeTakeFirst();
  if (report.eventKey) keys.add(report.eventKey);
  let email = report.email;
  if (delivery?.subscriber_id) email = (await findSubscriberById(db, Number(delivery.subscriber_id)))?.email ?? email;
  if (delivery && report.kind === 'hard') await markDeliveryBounced(db, Number(delivery.id), report.reason ?? '');
  if (delivery && report.kind === 'complaint') await markDeliveryComplained(db, Number(delivery.id), now);
  const suppressed =
    report.kind !== 'soft' && email
      ? await suppressAddress(db, email, report.kind === 'hard' ? 'bounced' : 'complained', {}, now)
      : false;
  return { recorded: true, duplicate: false, deliveryId: delivery ? Number(delivery.id) : null, suppressed };
}
