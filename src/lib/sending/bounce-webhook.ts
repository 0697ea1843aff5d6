import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { DB } from '../db/database.ts';
import { recordBounce } from '../bounces/bounces.service.ts';
import { explainedReason, kindFromStatus } from '../bounces/status.ts';
import { normalizeEmail } from '../subscribers/email-address.ts';

/**
 * Asynchronous bounces and complaints from a mail provider: `POST /api/webhooks/bounces` with
 * a shared secret and generic JSON, `{email?, message_id?, type: "bounce"|"complaint", reason?, event_id?}`.
 */

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * The secret from `Authorization: Bearer <secret>` or `X-Webhook-Secret: <secret>`, compared
 * in constant time (both sides hashed first, so their lengths say nothing either). Without a
 * configured secret nothing is accepted.
 */
export function webhookSecretMatches(
  configured: string | undefined,
  headers: { get(name: string): string | null },
): boolean {
  if (!configured) return false;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '')?.[1];
  const given = bearer ?? headers.get('x-webhook-secret')?.trim();
  if (!given) return false;
  return timingSafeEqual(sha256(given), sha256(configured));
}

export const bounceReportSchema = z
  .object({
    email: z.string().max(320).optional(),
    message_id: z.string().min(3).max(998).optional(),
    type: z.enum(['bounce', 'complaint'], { error: 'type must be "bounce" or "complaint".' }),
    reason: z.string().max(1000).optional(),
    event_id: z.string().min(1).max(200).optional(),
  })
  .refine((r) => r.email !== undefined || r.message_id !== undefined, {
    error: 'Give the email address or the message_id (or both).',
    path: ['email'],
  });

export type BounceOutcome =
  | { ok: true; suppressed: boolean; deliveryId: number | null }
  | { ok: false; message: string; fields?: Record<string, string> };

/**
 * Checks a report and hands it to the recording service (src/lib/bounces): the delivery it names
 * (by Message-ID) is marked bounced, or its complaint recorded, and the address — given, or the
 * delivery's subscriber's — is suppressed for good. A report naming nothing we know stores
 * nothing. With `event_id`, a retry of the same report changes nothing.
 */
export async function recordBounceReport(db: DB, input: unknown, now = Date.now()): Promise<BounceOutcome> {
  const parsed = bounceReportSchema.safeParse(input);
  if (!parsed.success) {
    const fields: Record<string, string> = {};
    for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'body')] ??= issue.message;
    return { ok: false, message: 'The report is not valid: see fields.', fields };
  }
  const report = parsed.data;
  let email: string | undefined;
  if (report.email !== undefined) {
    const checked = normalizeEmail(report.email);
    if (!checked.ok) return { ok: false, message: checked.error, fields: { email: checked.error } };
    email = checked.email;
  }
  // A bounce is hard unless its reason names a full mailbox (X.2.2), as from every other source.
  const verdict = kindFromStatus(report.type === 'bounce' ? 'hard' : 'complaint', undefined, report.reason);
  const reason = explainedReason(report.reason, verdict);
  const outcome = await recordBounce(
    db,
    {
      kind: verdict.kind,
      source: 'webhook',
      ...(report.message_id !== undefined ? { messageId: report.message_id } : {}),
      ...(email !== undefined ? { email } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(report.event_id !== undefined ? { eventKey: report.event_id } : {}),
      at: now,
    },
    now,
  );
  return { ok: true, suppressed: outcome.suppressed, deliveryId: outcome.deliveryId };
}
