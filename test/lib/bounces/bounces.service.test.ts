import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { createDraftIssue, seedSubscribers } from '../../helpers/sending.ts';
import { emailHash } from '../../../src/lib/subscribers/email-address.ts';
import { eraseSubscriber } from '../../../src/lib/subscribers/subscribers.service.ts';
import { pruneRawEvents } from '../../../src/lib/reports/retention.service.ts';
import { getIssueBounces, recordBounce } from '../../../src/lib/bounces/bounces.service.ts';
import { rawBounceCounts } from '../../helpers/rows.ts';
import { getSubscriberTimeline } from '../../../src/lib/subscribers/timeline.service.ts';
import type { DB } from '../../../src/lib/db/database.ts';

const T0 = Date.UTC(2026, 11, 1, 9, 0);

async function sentIssue(db: DB, emails: string[]): Promise<{ issueId: number; deliveries: Map<string, number> }> {
  const ids = await seedSubscribers(db, emails.length, { email: (i) => emails[i]! });
  const issueId = await createDraftIssue(db, 'Springs', T0);
  const deliveries = new Map<string, number>();
  for (const [i, email] of emails.entries()) {
    const row = await db
      .insertInto('deliveries')
      .values({
        issue_id: issueId,
        subscriber_id: ids[i]!,
        status: 'sent',
        next_attempt_at: T0,
        sent_at: T0,
        message_id: `<m${issueId}.${i}@frobozz.example>`,
        created_at: T0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    deliveries.set(email, Number(row.id));
  }
  return { issueId, deliveries };
}

const statusOf = async (db: DB, email: string) =>
  (await db.selectFrom('subscribers').select('status').where('email', '=', email).executeTakeFirst())?.status;
const suppressed = async (db: DB, email: string) =>
  (await db.selectFrom('suppressions').select('reason').where('email_hash', '=', emailHash(email)).executeTakeFirst())
    ?.reason;

describeEachDatabase('bounce recording service', (get) => {
  it('hard suppresses and marks the delivery, soft only records, complaint suppresses; a replayed key changes nothing; figures equal raw rows after erasure and pruning', async () => {
    const db = get();
    const emails = ['hard@example.com', 'soft@example.com', 'spam@example.com', 'twice@example.com'];
    const { issueId, deliveries } = await sentIssue(db, emails);
    const messageId = (i: number) => `m${issueId}.${i}@frobozz.example`; // without brackets, as some relays report it

    const hard = await recordBounce(
      db,
      {
        kind: 'hard',
        source: 'ses',
        messageId: messageId(0),
        reason: 'smtp; 550 5.1.1 <hard@example.com>: user unknown',
        eventKey: 'e1',
        at: T0 + 60_000,
      },
      T0 + 61_000,
    );
    expect(hard).toEqual({
      recorded: true,
      duplicate: false,
      deliveryId: deliveries.get(emails[0]!),
      suppressed: true,
    });
    expect(await statusOf(db, emails[0]!)).toBe('bounced');
    expect(await suppressed(db, emails[0]!)).toBe('bounced');
    const row = await db
      .selectFrom('deliveries')
      .select(['status', 'reason'])
      .where('id', '=', deliveries.get(emails[0]!)!)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('bounced');
    expect(row.reason).toBe('bounce reported: smtp; 550 5.1.1 <address>: user unknown');

    const soft = await recordBounce(db, {
      kind: 'soft',
      source: 'postmark',
      deliveryId: deliveries.get(emails[1]!)!,
      reason: '452 4.2.2 Mailbox full',
      eventKey: 'e2',
      at: T0 + 120_000,
    });
    expect(soft).toMatchObject({ recorded: true, suppressed: false });
    expect(await statusOf(db, emails[1]!)).toBe('active');
    expect(await suppressed(db, emails[1]!)).toBeUndefined();

    const complaint = await recordBounce(db, {
      kind: 'complaint',
      source: 'mailgun',
      messageId: `<${messageId(2)}>`,
      eventKey: 'e3',
      at: T0 + 180_000,
    });
    expect(complaint).toMatchObject({ recorded: true, suppressed: true });
    expect(await statusOf(db, emails[2]!)).toBe('complained');
    const complained = await db
      .selectFrom('deliveries')
      .select(['status', 'complained_at'])
      .where('id', '=', deliveries.get(emails[2]!)!)
      .executeTakeFirstOrThrow();
    expect(complained.status).toBe('sent');
    expect(Number(complained.complained_at)).toBeGreaterThan(0);

    // The same key again (a provider's retry): nothing new; the same key from another source is another event.
    const again = await recordBounce(db, {
      kind: 'soft',
      source: 'postmark',
      deliveryId: deliveries.get(emails[1]!)!,
      reason: '452 4.2.2 Mailbox full',
      eventKey: 'e2',
      at: T0 + 120_000,
    });
    expect(again).toMatchObject({ recorded: false, duplicate: true });
    await recordBounce(db, {
      kind: 'soft',
      source: 'sendgrid',
      messageId: messageId(3),
      reason: '452 4.2.2 Mailbox full',
      eventKey: 'e2',
      at: T0,
    });
    // Naming nothing we know stores nothing.
    expect(await recordBounce(db, { kind: 'hard', source: 'ses', messageId: 'nobody@nowhere', at: T0 })).toEqual({
      recorded: false,
      duplicate: false,
      deliveryId: null,
      suppressed: false,
    });

    const figures = await getIssueBounces(db, issueId);
    expect(figures.totals).toEqual({ hard: 1, soft: 2, complaint: 1 });
    expect(figures.reasons[0]).toEqual({ kind: 'soft', reason: '452 4.2.2 Mailbox full', count: 2 });
    const direct = async () =>
      (await rawBounceCounts(db, issueId)).reasons.sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
    const asFigures = (f: typeof figures) =>
      [...f.reasons].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
    expect(asFigures(figures)).toEqual(await direct());

    // The timeline shows each report with kind, reason and source.
    const soft1 = await db
      .selectFrom('subscribers')
      .select('id')
      .where('email', '=', emails[1]!)
      .executeTakeFirstOrThrow();
    const timeline = await getSubscriberTimeline(db, Number(soft1.id));
    expect(timeline.items).toContainEqual(
      expect.objectContaining({ source: 'bounce', kind: 'soft', reason: '452 4.2.2 Mailbox full', via: 'postmark' }),
    );

    // Erasure and pruning change no figure, and the figures still equal a direct count.
    const hardId = await db
      .selectFrom('subscribers')
      .select('id')
      .where('email', '=', emails[0]!)
      .executeTakeFirstOrThrow();
    expect(await eraseSubscriber(db, Number(hardId.id), T0 + 10 * 86_400_000)).toBe(true);
    await pruneRawEvents(db, T0 + 3_000 * 86_400_000);
    const after = await getIssueBounces(db, issueId);
    expect(after).toEqual(figures);
    expect(asFigures(after)).toEqual(await direct());
    const orphan = await db
      .selectFrom('bounce_events')
      .select('subscriber_id')
      .where('delivery_id', '=', deliveries.get(emails[0]!)!)
      .executeTakeFirstOrThrow();
    expect(orphan.subscriber_id).toBeNull();
  });
});
