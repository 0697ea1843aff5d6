import { beforeEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { createDraftIssue, seedSubscribers } from '../../helpers/sending.ts';
import { getIssue, listArchivedIssues } from '#lib/issues/issues.service.ts';
import { createIssueSendingPort } from '#lib/issues/sending-port.ts';
import {
  cancelSend,
  EMPTY_AUDIENCE_MESSAGE,
  getSendProgress,
  requestSend,
  resumeSend,
  reviewSend,
  startDueSends,
} from '#lib/sending/send.service.ts';

const hooks = createIssueSendingPort({
  secret: 'send-request-test-secret-send-request-test',
  knownPaths: async () => undefined,
});
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const UNDO_MS = 30_000;

/**
 * Items 12 and 13 of issue 17: a send to nobody is refused and burns nothing; "send now" waits
 * out an undo window during which it can be stopped with nothing sent. Time is passed in.
 */
describeEachDatabase('requesting a send', (db) => {
  beforeEach(async () => {
    await db().deleteFrom('subscriber_topics').execute();
    await db().deleteFrom('subscribers').execute();
  });

  const ledgerSize = async (issueId: number) =>
    Number(
      (
        await db()
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('issue_id', '=', issueId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const sendRows = async (issueId: number) =>
    db().selectFrom('sends').selectAll().where('issue_id', '=', issueId).execute();

  it('refuses a send whose audience is empty: no send, the issue stays an editable draft, nothing in the archive', async () => {
    const issueId = await createDraftIssue(db(), 'Nobody to read it', T0);
    // Nobody at all; then people, but none who may get it (pending, paused) and none with the topic asked for.
    for (const audience of [{}, { topics: ['offers'] }]) {
      const refused = await requestSend(db(), hooks, { issueId, audience, undoMs: UNDO_MS }, T0);
      expect(refused).toMatchObject({
        ok: false,
        reason: 'conflict',
        field: 'audience',
        message: EMPTY_AUDIENCE_MESSAGE,
      });
    }
    await seedSubscribers(db(), 3, {
      email: (i) => `unreachable${i}@example.com`,
      status: (i) => (i === 0 ? 'pending' : 'active'),
      paused: (i) => i > 0,
      topics: () => ['guides'],
    });
    for (const audience of [{}, { topics: ['guides'] }, { topics: ['offers'] }]) {
      expect(await requestSend(db(), hooks, { issueId, audience }, T0), JSON.stringify(audience)).toMatchObject({
        ok: false,
        reason: 'conflict',
        field: 'audience',
      });
      expect(await reviewSend(db(), hooks, { issueId, audience }, T0)).toMatchObject({ ok: false, reason: 'conflict' });
    }
    expect(await sendRows(issueId)).toEqual([]);
    expect(await ledgerSize(issueId)).toBe(0);
    expect(await getIssue(db(), issueId)).toMatchObject({ status: 'draft', frozen: false });
    expect((await listArchivedIssues(db())).map((i) => i.id)).not.toContain(issueId);
  });

  it('"now" waits out the undo window: reviewed without writing, scheduled 30 s ahead, stopped before it with nothing sent', async () => {
    await seedSubscribers(db(), 5, {
      email: (i) => `window${i}@example.com`,
      topics: (i) => (i < 2 ? ['offers'] : []),
    });
    const issueId = await createDraftIssue(db(), 'Sent by mistake', T0);

    const review = await reviewSend(db(), hooks, { issueId, audience: { topics: ['offers'] }, undoMs: UNDO_MS }, T0);
    expect(review).toEqual({
      ok: true,
      value: { issueId, audience: { topics: ['offers'] }, scheduledAt: T0 + UNDO_MS, recipients: 2 },
    });
    expect(await sendRows(issueId)).toEqual([]);

    const requested = await requestSend(db(), hooks, { issueId, audience: {}, undoMs: UNDO_MS }, T0);
    expect(requested).toMatchObject({
      ok: true,
      value: { state: 'scheduled', scheduledAt: T0 + UNDO_MS, recipients: 5, created: true },
    });
    expect(await getIssue(db(), issueId)).toMatchObject({ status: 'scheduled', frozen: false });
    // A second before the window closes, nothing starts.
    expect(await startDueSends(db(), hooks, T0 + UNDO_MS - 1)).toBe(0);
    expect(await ledgerSize(issueId)).toBe(0);

    const stopped = await cancelSend(db(), hooks, requested.ok ? requested.value.sendId : -1, T0 + 10_000);
    expect(stopped).toEqual({ ok: true, value: { skipped: 0, removed: true } });
    expect(await sendRows(issueId)).toEqual([]);
    expect(await getIssue(db(), issueId)).toMatchObject({ status: 'draft', frozen: false });
    expect(await startDueSends(db(), hooks, T0 + UNDO_MS)).toBe(0);
    expect(await ledgerSize(issueId)).toBe(0);

    // Sent again, and left alone: it starts when the window closes, not before.
    const again = await requestSend(db(), hooks, { issueId, audience: {}, undoMs: UNDO_MS }, T0 + 60_000);
    expect(again).toMatchObject({ ok: true, value: { state: 'scheduled', scheduledAt: T0 + 60_000 + UNDO_MS } });
    expect(await startDueSends(db(), hooks, T0 + 60_000 + UNDO_MS)).toBe(1);
    expect((await getSendProgress(db(), issueId, T0 + 60_000 + UNDO_MS)).send).toMatchObject({
      state: 'running',
      recipients: 5,
      startedAt: T0 + 60_000 + UNDO_MS,
    });
    expect(await ledgerSize(issueId)).toBe(5);
    // A time later than the window is kept as asked.
    const later = await createDraftIssue(db(), 'Tomorrow', T0);
    expect(
      await requestSend(db(), hooks, { issueId: later, audience: {}, at: T0 + 86_400_000, undoMs: UNDO_MS }, T0),
    ).toMatchObject({ ok: true, value: { scheduledAt: T0 + 86_400_000 } });
  });

  it('a due send whose audience emptied meanwhile pauses with the reason: nothing frozen, sent or archived; it goes once people are back', async () => {
    const ids = await seedSubscribers(db(), 2, { email: (i) => `leaving${i}@example.com` });
    const issueId = await createDraftIssue(db(), 'Everyone left', T0);
    const requested = await requestSend(db(), hooks, { issueId, audience: {}, undoMs: UNDO_MS }, T0);
    expect(requested).toMatchObject({ ok: true, value: { state: 'scheduled' } });
    await db().updateTable('subscribers').set({ status: 'unsubscribed' }).where('id', 'in', ids).execute();

    expect(await startDueSends(db(), hooks, T0 + UNDO_MS)).toBe(0);
    const progress = await getSendProgress(db(), issueId, T0 + UNDO_MS);
    expect(progress.send).toMatchObject({ state: 'paused', startedAt: null, recipients: null });
    expect(progress.send!.pausedReason).toMatch(/nobody is in the audience.*Nothing was sent/);
    expect(await ledgerSize(issueId)).toBe(0);
    expect(await getIssue(db(), issueId)).toMatchObject({ status: 'scheduled', frozen: false });
    expect((await listArchivedIssues(db())).map((i) => i.id)).not.toContain(issueId);

    await db().updateTable('subscribers').set({ status: 'active' }).where('id', '=', ids[0]!).execute();
    expect(await resumeSend(db(), requested.ok ? requested.value.sendId : -1, T0 + UNDO_MS + 1)).toEqual({
      ok: true,
      value: null,
    });
    expect(await startDueSends(db(), hooks, T0 + UNDO_MS + 2)).toBe(1);
    expect(await ledgerSize(issueId)).toBe(1);
  });
});
