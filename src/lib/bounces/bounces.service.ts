import type { DB } from '../db/database.ts';
import { CountDeltas, addReportCounts } from '../counts/ledger.ts';
import { findLinkTotals, findTotals } from '../counts/range-reads.ts';
import {
  findDeliveryById,
  findDeliveryByMessageId,
  markDeliveryBounced,
  markDeliveryComplained,
} from '../sending/deliveries.repository.ts';
import { normalizeEmail } from '../subscribers/email-address.ts';
import { findSubscriberByEmail, findSubscriberById } from '../subscribers/subscribers.repository.ts';
import { suppressAddressIn } from '../subscribers/subscribers.service.ts';
import { insertBounceEvent } from './bounces.repository.ts';

/**
 * The one place a bounce or complaint a relay reports later is recorded, whatever brought it:
 * the generic webhook, a provider's native webhook (SES, Postmark, Mailgun, SendGrid), the bounce
 * mailbox. Each report is one `bounce_events` row and its maintained counts, in one transaction:
 *
 * - hard bounce: the delivery becomes `bounced` and the address is suppressed for good;
 * - complaint: the delivery records when (it stays `sent`) and the address is suppressed;
 * - soft bounce: recorded with its reason, nothing else changes (the relay retries or gives up,
 *   and a final failure comes as a hard bounce).
 *
 * The delivery is found by `deliveryId`, else by the Message-ID we gave the message. A report
 * whose `eventKey` was recorded before changes nothing (a provider's retry).
 */

export type BounceKind = 'hard' | 'soft' | 'complaint';
export type BounceSource = 'webhook' | 'ses' | 'postmark' | 'mailgun' | 'sendgrid' | 'mailbox' | 'smtp';

export const BOUNCE_KINDS: readonly BounceKind[] = ['hard', 'soft', 'complaint'];

export interface BounceReport {
  kind: BounceKind;
  source: BounceSource;
  /** The Message-ID we sent the message with, brackets optional. */
  messageId?: string;
  /** The recipient's address as the relay reports it (used when no delivery is found, or it has no subscriber). */
  email?: string;
  deliveryId?: number;
  /** What the relay said; addresses in it are masked before it is stored. */
  reason?: string;
  /** The source's own id of this event: a second report with the same key changes nothing. */
  eventKey?: string;
  /** When the relay says it happened (epoch ms). */
  at: number;
}

export interface BounceRecorded {
  recorded: boolean;
  duplicate: boolean;
  deliveryId: number | null;
  suppressed: boolean;
}

/** The maintained count of each kind (a PlainMetric). */
export const BOUNCE_METRIC = { hard: 'bounce.hard', soft: 'bounce.soft', complaint: 'complaint' } as const;

const MAX_REASON = 300;
const MAX_EVENT_KEY = 300;

/** `<id@host>`, with the brackets whether or not they were sent. */
export function normalizeMessageId(id: string): string {
  const bare = id.trim().replace(/^<|>$/g, '');
  return `<${bare}>`;
}

/**
 * A relay's words as stored and grouped: one line, addresses masked (the row outlives an erased
 * person, and "550 5.1.1 <bob@x>: unknown" and "… <ann@y> …" are the same reason), at most 300 characters.
 */
export function cleanReason(reason: string | undefined): string {
  return (reason ?? '')
    .replace(/<?[^\s<>"'(),;:]+@[^\s<>"'(),;:]+>?/g, '<address>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_REASON);
}

export async function recordBounce(db: DB, report: BounceReport, now = Date.now()): Promise<BounceRecorded> {
  if (!BOUNCE_KINDS.includes(report.kind)) throw new Error(`Unknown bounce kind "${String(report.kind)}".`);
  const at = Number.isFinite(report.at) && report.at > 0 ? Math.trunc(report.at) : now;
  const delivery =
    report.deliveryId !== undefined
      ? await findDeliveryById(db, report.deliveryId)
      : report.messageId
        ? await findDeliveryByMessageId(db, normalizeMessageId(report.messageId))
        : undefined;
  const deliveryId = delivery ? Number(delivery.id) : null;
  const subscriberIdOfDelivery = delivery?.subscriber_id == null ? null : Number(delivery.subscriber_id);

  let email: string | undefined;
  if (report.email !== undefined) {
    const checked = normalizeEmail(report.email);
    if (checked.ok) email = checked.email;
  }
  const subscriber =
    subscriberIdOfDelivery !== null
      ? await findSubscriberById(db, subscriberIdOfDelivery)
      : email
        ? await findSubscriberByEmail(db, email)
        : undefined;
  // The address the relay names, else the delivery's subscriber's.
  email ??= subscriber?.email;
  if (!delivery && !email) return { recorded: false, duplicate: false, deliveryId: null, suppressed: false };

  const reason = cleanReason(report.reason);
  const issueId = delivery ? Number(delivery.issue_id) : 0;
  const eventKey = report.eventKey ? `${report.source}:${report.eventKey}`.slice(0, MAX_EVENT_KEY) : null;
  const suppress = report.kind !== 'soft' && email !== undefined;

  return db.transaction().execute(async (trx) => {
    const subscriberId = subscriber ? Number(subscriber.id) : null;
    const id = await insertBounceEvent(trx, {
      issue_id: issueId,
      delivery_id: deliveryId,
      subscriber_id: subscriberId,
      kind: report.kind,
      reason,
      source: report.source,
      event_key: eventKey,
      at,
      recorded_at: now,
    });
    if (id === undefined) return { recorded: false, duplicate: true, deliveryId, suppressed: false };

    const deltas = new CountDeltas();
    deltas.at(issueId, BOUNCE_METRIC[report.kind], at);
    deltas.add(issueId, 'bounce.reason', `${report.kind}|${reason}`, 0);
    await addReportCounts(trx, deltas);

    if (delivery && report.kind === 'hard')
      await markDeliveryBounced(trx, Number(delivery.id), `bounce reported${reason ? `: ${reason}` : ''}`);
    if (delivery && report.kind === 'complaint') await markDeliveryComplained(trx, Number(delivery.id), now);
    if (suppress) {
      const detail = {
        via: report.source,
        ...(delivery ? { issue: issueId, delivery: deliveryId } : {}),
        ...(reason ? { reason } : {}),
      };
      await suppressAddressIn(trx, email!, report.kind === 'hard' ? 'bounced' : 'complained', detail, now);
    }
    return { recorded: true, duplicate: false, deliveryId, suppressed: suppress };
  });
}

export interface BounceReasonCount {
  kind: BounceKind;
  reason: string;
  count: number;
}

export interface IssueBounces {
  totals: Record<BounceKind, number>;
  /** Per kind and reason, most frequent first. */
  reasons: BounceReasonCount[];
}

/** An issue's reported bounces and complaints, read from the maintained counts. */
export async function getIssueBounces(db: DB, issueId: number): Promise<IssueBounces> {
  const [totals, reasons] = await Promise.all([
    findTotals(db, [issueId], Object.values(BOUNCE_METRIC)),
    findLinkTotals(db, issueId, 'bounce.reason'),
  ]);
  const byMetric = new Map(totals.map((t) => [t.metric, t.n]));
  return {
    totals: {
      hard: byMetric.get(BOUNCE_METRIC.hard) ?? 0,
      soft: byMetric.get(BOUNCE_METRIC.soft) ?? 0,
      complaint: byMetric.get(BOUNCE_METRIC.complaint) ?? 0,
    },
    reasons: reasons
      .filter((r) => r.n > 0)
      .map((r) => {
        const bar = r.dim.indexOf('|');
        return { kind: r.dim.slice(0, bar) as BounceKind, reason: r.dim.slice(bar + 1), count: r.n };
      })
      .sort(
        (a, b) =>
          b.count - a.count ||
          BOUNCE_KINDS.indexOf(a.kind) - BOUNCE_KINDS.indexOf(b.kind) ||
          (a.reason < b.reason ? -1 : 1),
      ),
  };
}
