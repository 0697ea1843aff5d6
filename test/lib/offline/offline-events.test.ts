import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { describeEachDatabase } from '../../helpers/databases.ts';
import type { DB } from '#lib/db/database.ts';
import { insertUser } from '#lib/auth/users.repository.ts';
import { countOfflineEvents, offlineEventTimes } from '#lib/offline/offline-events.repository.ts';
import {
  addManualEvent,
  dailyCounts,
  lastUndoableTap,
  listEvents,
  recordTap,
  removeOfflineEvent,
  restoreOfflineEvent,
  todayCounts,
  undoTap,
} from '#lib/offline/offline-events.service.ts';
import { receiveTaps } from '#lib/offline/tally-sync.ts';
import { EventWriter } from '#lib/events/event-writer.ts';
import { callInserter, type CallRow } from '#lib/offline/call-writer.ts';
import { pruneOfflineEventsBefore } from '#lib/offline/offline-counts.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// Thursday 26 November 2026, 14:00 in London (GMT).
const t0 = Date.UTC(2026, 10, 26, 14, 0);

async function user(db: DB, email: string): Promise<number> {
  return insertUser(db, {
    email,
    name: email.split('@')[0]!,
    role: 'writer',
    status: 'active',
    password_hash: null,
    created_at: t0,
    updated_at: t0,
    last_login_at: null,
  });
}

async function tap(
  db: DB,
  userId: number,
  kind: 'call' | 'walk_in',
  now: number,
  extra: Partial<Parameters<typeof recordTap>[2]> = {},
) {
  const outcome = await recordTap(db, userId, { kind, clientId: randomUUID(), ...extra }, now);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome;
}

describeEachDatabase('offline events', (db, dialect) => {
  let ada: number;
  let bob: number;

  it('a tap is stored with its time, who tapped, the mention and the note; today counts it', async () => {
    ada = await user(db(), 'ada@example.com');
    bob = await user(db(), 'bob@example.com');
    const outcome = await tap(db(), ada, 'call', t0, { mentioned: true, note: '  asked about\nthe W-40  ' });
    expect(outcome).toMatchObject({ duplicate: false, clamped: false });
    expect(outcome.event).toMatchObject({
      kind: 'call',
      at: t0,
      recordedAt: t0,
      source: 'tally',
      recordedBy: ada,
      mentionedNewsletter: true,
      note: 'asked about the W-40',
      undoneAt: null,
    });
    await tap(db(), bob, 'walk_in', t0 + MIN);
    expect(await todayCounts(db(), 'Europe/London', t0 + 2 * MIN)).toEqual({ day: '2026-11-26', call: 1, walk_in: 1 });
  });

  it('the same client id twice (a retry, a double submit, two tabs at once) is stored once', async () => {
    const clientId = randomUUID();
    const first = await recordTap(db(), ada, { kind: 'walk_in', clientId, at: t0 + 2 * MIN }, t0 + 3 * MIN);
    const again = await recordTap(
      db(),
      ada,
      { kind: 'walk_in', clientId: clientId.toUpperCase(), at: t0 + 2 * MIN },
      t0 + 9 * MIN,
    );
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.duplicate).toBe(true);
    expect(again.event.id).toBe(first.event.id);
    expect(again.event.at).toBe(t0 + 2 * MIN);

    const racing = randomUUID();
    const all = await Promise.all(
      Array.from({ length: 6 }, () =>
        recordTap(db(), ada, { kind: 'call', clientId: racing, at: t0 + 4 * MIN }, t0 + 5 * MIN),
      ),
    );
    expect(new Set(all.map((o) => o.ok && o.event.id)).size).toBe(1);
    expect(all.filter((o) => o.ok && !o.duplicate)).toHaveLength(1);
    const rows = await db()
      .selectFrom('offline_events')
      .select('id')
      .where('client_id', 'in', [clientId, racing])
      .execute();
    expect(rows).toHaveLength(2);
  });

  it('a tap must carry a UUID', async () => {
    for (const clientId of ['', 'not-a-uuid', 'csv:abc', `${randomUUID()}x`]) {
      const outcome = await recordTap(db(), ada, { kind: 'call', clientId }, t0);
      expect(outcome).toMatchObject({ ok: false, code: 'bad_client_id' });
    }
  });

  it('time bounds: a little ahead is set to now, far ahead and over 7 days old are refused', async () => {
    const now = t0 + HOUR;
    const ahead = await recordTap(db(), ada, { kind: 'call', clientId: randomUUID(), at: now + 90_000 }, now);
    expect(ahead).toMatchObject({ ok: true, clamped: true, event: { at: now } });
    const far = await recordTap(db(), ada, { kind: 'call', clientId: randomUUID(), at: now + 10 * MIN }, now);
    expect(far).toMatchObject({ ok: false, code: 'future' });
    if (!far.ok) expect(far.message).toMatch(/10 minutes in the future/);
    const old = await recordTap(db(), ada, { kind: 'call', clientId: randomUUID(), at: now - 7 * DAY - MIN }, now);
    expect(old).toMatchObject({ ok: false, code: 'too_old' });
    const sixDays = await recordTap(db(), ada, { kind: 'call', clientId: randomUUID(), at: now - 6 * DAY }, now);
    expect(sixDays).toMatchObject({ ok: true, event: { at: now - 6 * DAY, recordedAt: now } });
    // The refused ones stored nothing.
    expect(await countOfflineEvents(db(), { kind: 'call', from: now - 8 * DAY, to: now + DAY })).toBe(4); // t0, the racing one, ahead (set to now), six days ago
  });

  it('with sentAt, the age is measured on the device: a phone whose clock is an hour fast still records the right time', async () => {
    const now = t0 + 2 * HOUR;
    const deviceNow = now + HOUR; // the phone's clock
    const outcome = await recordTap(
      db(),
      ada,
      { kind: 'walk_in', clientId: randomUUID(), at: deviceNow - 25 * MIN, sentAt: deviceNow },
      now,
    );
    expect(outcome).toMatchObject({ ok: true, event: { at: now - 25 * MIN } });
    const slow = await recordTap(
      db(),
      ada,
      { kind: 'walk_in', clientId: randomUUID(), at: now - 3 * HOUR - 5 * MIN, sentAt: now - 3 * HOUR },
      now,
    );
    expect(slow).toMatchObject({ ok: true, event: { at: now - 5 * MIN } });
    const stale = await recordTap(
      db(),
      ada,
      { kind: 'walk_in', clientId: randomUUID(), at: deviceNow - 8 * DAY, sentAt: deviceNow },
      now,
    );
    expect(stale).toMatchObject({ ok: false, code: 'too_old' });
  });

  it('undo: one’s own tap within a minute of storing it; not later, not someone else’s, not twice', async () => {
    const now = t0 + 3 * HOUR;
    const mine = await tap(db(), ada, 'call', now);
    expect((await lastUndoableTap(db(), ada, now + 30_000))?.id).toBe(mine.event.id);
    expect(await undoTap(db(), bob, { id: mine.event.id }, now + 10_000)).toMatchObject({
      ok: false,
      code: 'not_yours',
    });
    const undone = await undoTap(db(), ada, { id: mine.event.id }, now + 59_000);
    expect(undone).toMatchObject({ ok: true, event: { undoneAt: now + 59_000 } });
    expect(await undoTap(db(), ada, { id: mine.event.id }, now + 59_500)).toMatchObject({
      ok: false,
      code: 'already_undone',
    });
    expect(await lastUndoableTap(db(), ada, now + 59_500)).toBeUndefined();

    const late = await tap(db(), ada, 'walk_in', now + 2 * MIN);
    expect(await undoTap(db(), ada, { id: late.event.id }, now + 3 * MIN + 1)).toMatchObject({
      ok: false,
      code: 'too_late',
    });
    expect(await lastUndoableTap(db(), ada, now + 3 * MIN + 1)).toBeUndefined();
    // By client id, as the script undoes.
    const byScript = await tap(db(), ada, 'walk_in', now + 4 * MIN);
    expect(await undoTap(db(), ada, { clientId: byScript.event.clientId! }, now + 4 * MIN + 5000)).toMatchObject({
      ok: true,
    });
    expect(await undoTap(db(), ada, { clientId: randomUUID() }, now + 4 * MIN + 5000)).toMatchObject({
      ok: false,
      code: 'not_found',
    });

    // Undone taps are not counted; the late one is.
    expect(await countOfflineEvents(db(), { kind: 'call', from: now, to: now + HOUR })).toBe(0);
    expect(await countOfflineEvents(db(), { kind: 'walk_in', from: now, to: now + HOUR })).toBe(1);
  });

  it('countOfflineEvents and offlineEventTimes: [from, to), one kind, undone left out, by issue', async () => {
    const base = Date.UTC(2026, 10, 20, 9, 0);
    const issue = Number(
      (
        await db()
          .insertInto('issues')
          .values({
            slug: 'winter-offers',
            subject: 'Winter offers',
            preheader: '',
            body_markdown: '',
            featured_articles: '[]',
            status: 'sent',
            created_by: null,
            created_at: base,
            updated_at: base,
            sent_at: base,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
    for (const at of [base, base + MIN, base + HOUR - 1, base + HOUR]) {
      await db()
        .insertInto('offline_events')
        .values({ kind: 'call', at, recorded_at: base, source: 'csv', issue_id: at === base + MIN ? issue : null })
        .execute();
    }
    await db()
      .insertInto('offline_events')
      .values({ kind: 'call', at: base + 2 * MIN, recorded_at: base, source: 'csv', undone_at: base + DAY })
      .execute();
    await db()
      .insertInto('offline_events')
      .values({ kind: 'walk_in', at: base + 3 * MIN, recorded_at: base, source: 'csv' })
      .execute();
    expect(await countOfflineEvents(db(), { kind: 'call', from: base, to: base + HOUR })).toBe(3);
    expect(await countOfflineEvents(db(), { kind: 'call', from: base, to: base + HOUR, issueId: issue })).toBe(1);
    expect(await countOfflineEvents(db(), { kind: 'walk_in', from: base, to: base + HOUR })).toBe(1);
    expect(await offlineEventTimes(db(), { kind: 'call', from: base, to: base + HOUR + 1 })).toEqual([
      base,
      base + MIN,
      base + HOUR - 1,
      base + HOUR,
    ]);
  });

  it('the daily table follows the site’s time zone across the clocks going forward (a 23-hour day)', async () => {
    const tz = 'Europe/London';
    // 29 March 2026: 01:00 GMT becomes 02:00 BST. 00:30 local is 00:30 UTC; 23:30 local is 22:30 UTC.
    const atStart = Date.UTC(2026, 2, 29, 0, 30);
    const atEnd = Date.UTC(2026, 2, 29, 22, 30);
    const nextDay = Date.UTC(2026, 2, 29, 23, 30); // 00:30 BST on the 30th
    const before = Date.UTC(2026, 2, 28, 23, 59); // 23:59 GMT on the 28th
    for (const at of [atStart, atEnd, nextDay, before])
      await db()
        .insertInto('offline_events')
        .values({
          kind: 'walk_in',
          at,
          recorded_at: at,
          source: 'manual',
          mentioned_newsletter: at === atEnd ? 1 : null,
        })
        .execute();
    const { days, total } = await dailyCounts(db(), { fromDay: '2026-03-28', toDay: '2026-03-30', timeZone: tz });
    expect(days).toEqual([
      { day: '2026-03-28', call: 0, walk_in: 1, mentioned: 0 },
      { day: '2026-03-29', call: 0, walk_in: 2, mentioned: 1 },
      { day: '2026-03-30', call: 0, walk_in: 1, mentioned: 0 },
    ]);
    expect(total).toMatchObject({ walk_in: 4, mentioned: 1 });
    // In New York the same instants fall on other days.
    const ny = await dailyCounts(db(), { fromDay: '2026-03-28', toDay: '2026-03-29', timeZone: 'America/New_York' });
    expect(ny.days.map((d) => d.walk_in)).toEqual([2, 2]);
  });

  it('added by hand (any past time), removed and restored; the list pages by keyset', async () => {
    const now = Date.UTC(2026, 10, 27, 12);
    const clientId = randomUUID();
    const added = await addManualEvent(
      db(),
      ada,
      { kind: 'call', at: Date.UTC(2025, 0, 5, 10), mentioned: false, note: 'from the paper diary', clientId },
      now,
    );
    expect(added).toMatchObject({
      ok: true,
      duplicate: false,
      event: { source: 'manual', mentionedNewsletter: false, recordedBy: ada },
    });
    expect(
      await addManualEvent(db(), ada, { kind: 'call', at: Date.UTC(2025, 0, 5, 10), mentioned: false, clientId }, now),
    ).toMatchObject({ ok: true, duplicate: true });
    expect(
      await addManualEvent(db(), ada, { kind: 'call', at: now + HOUR, mentioned: null, clientId: randomUUID() }, now),
    ).toMatchObject({ ok: false, code: 'future' });
    expect(
      await addManualEvent(
        db(),
        ada,
        { kind: 'call', at: Date.UTC(1999, 11, 31), mentioned: null, clientId: randomUUID() },
        now,
      ),
    ).toMatchObject({ ok: false, code: 'too_early' });
    expect(
      await addManualEvent(
        db(),
        ada,
        { kind: 'call', at: now, mentioned: null, note: 'x'.repeat(501), clientId: randomUUID() },
        now,
      ),
    ).toMatchObject({ ok: false, code: 'note_too_long' });

    if (!added.ok) return;
    const range = { from: Date.UTC(2025, 0, 5), to: Date.UTC(2025, 0, 6) };
    expect(await countOfflineEvents(db(), { kind: 'call', ...range })).toBe(1);
    expect(await removeOfflineEvent(db(), added.event.id, bob, now)).toMatchObject({
      ok: true,
      event: { undoneAt: now },
    });
    expect(await countOfflineEvents(db(), { kind: 'call', ...range })).toBe(0);
    expect(await restoreOfflineEvent(db(), added.event.id)).toMatchObject({ ok: true, event: { undoneAt: null } });
    expect(await countOfflineEvents(db(), { kind: 'call', ...range })).toBe(1);
    expect(await removeOfflineEvent(db(), 999_999, bob, now)).toMatchObject({ ok: false, code: 'not_found' });

    // 120 events on one day: two pages, nothing twice, nothing missed.
    const day = Date.UTC(2025, 5, 1, 8);
    await db()
      .insertInto('offline_events')
      .values(
        Array.from({ length: 120 }, (_, i) => ({
          kind: 'call' as const,
          at: day + Math.floor(i / 2) * MIN,
          recorded_at: day,
          source: 'csv' as const,
        })),
      )
      .execute();
    const filter = { fromDay: '2025-06-01', toDay: '2025-06-01', timeZone: 'UTC' };
    const first = await listEvents(db(), filter);
    expect(first.events).toHaveLength(100);
    expect(first.events[0]!.recordedByName).toBeNull();
    const second = await listEvents(db(), filter, first.next);
    expect(second.next).toBeUndefined();
    const ids = [...first.events, ...second.events].map((e) => e.id);
    expect(new Set(ids).size).toBe(120);
    const ats = [...first.events, ...second.events].map((e) => e.at);
    expect(ats).toEqual([...ats].sort((a, b) => b - a));
  });

  it('the script’s batches: each tap answered on its own, a replayed batch stores nothing new', async () => {
    const now = Date.UTC(2026, 10, 28, 11);
    const taps = [
      { clientId: randomUUID(), kind: 'call', at: now - 40_000 },
      { clientId: randomUUID(), kind: 'walk_in', at: now - 30_000, mentioned: true, note: 'saw the flyer' },
      { clientId: randomUUID(), kind: 'fax', at: now - 20_000 },
      { clientId: 'nope', kind: 'call', at: now - 10_000 },
      { clientId: randomUUID(), kind: 'call', at: now - 9 * DAY },
    ];
    const answer = await receiveTaps(db(), ada, { sentAt: now, taps }, 'Europe/London', now);
    expect(answer.status).toBe(200);
    if (!('results' in answer.body)) throw new Error('no results');
    expect(answer.body.results.map((r) => r.status)).toEqual(['stored', 'stored', 'refused', 'refused', 'refused']);
    expect(answer.body.results[0]).toMatchObject({ at: now - 40_000 });
    expect(answer.body.today).toMatchObject({ day: '2026-11-28', call: 1, walk_in: 1 });
    const replay = await receiveTaps(
      db(),
      ada,
      { sentAt: now + 5000, taps: taps.slice(0, 2) },
      'Europe/London',
      now + 5000,
    );
    if (!('results' in replay.body)) throw new Error('no results');
    expect(replay.body.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(replay.body.today).toMatchObject({ call: 1, walk_in: 1 });

    expect(await receiveTaps(db(), ada, [], 'UTC', now)).toMatchObject({ status: 400 });
    expect(await receiveTaps(db(), ada, { taps: [] }, 'UTC', now)).toMatchObject({ status: 400 });
    expect(
      await receiveTaps(db(), ada, { taps: Array.from({ length: 101 }, () => taps[0]) }, 'UTC', now),
    ).toMatchObject({ status: 400 });
    const undo = await receiveTaps(db(), ada, { undo: taps[1]!.clientId }, 'Europe/London', now + 20_000);
    expect(undo).toMatchObject({ status: 200, body: { undone: true, today: { walk_in: 0 } } });
    expect(await receiveTaps(db(), ada, { undo: taps[0]!.clientId }, 'Europe/London', now + 2 * MIN)).toMatchObject({
      status: 409,
      body: { error: 'too_late' },
    });
  });

  it('a repeat caller is one with a counted call on record: removed, restored and pruned calls move them back and forth', async () => {
    const writer = new EventWriter(db(), { calls: callInserter }, { maxWaitMs: 0, maxBatch: 100 });
    const call = (sid: string, fromHash: string | null, at: number): CallRow => ({
      at,
      recorded_at: at,
      client_id: `twilio:${sid}`,
      from_hash: fromHash,
      to_hash: null,
      duration_s: 10,
      answered: 1,
    });
    const repeatOf = async (...rows: CallRow[]) =>
      (await Promise.all(rows.map((row) => writer.write(callInserter, row)))).map((r) =>
        r.duplicate ? 'duplicate' : r.row.repeat_caller === null ? null : Number(r.row.repeat_caller),
      );
    const old = Date.UTC(2025, 0, 5, 10);
    // One batch: the first call from a caller is first-time, the next ones repeat; a retry stores nothing.
    expect(
      await repeatOf(call('r1', 'caller-a', old), call('r2', 'caller-a', old), call('r1', 'caller-a', old)),
    ).toEqual([0, 1, 'duplicate']);
    const [first] = await Promise.all([writer.write(callInserter, call('r3', 'caller-b', old))]);
    expect(Number(first.row.repeat_caller)).toBe(0);
    // Caller b's only call removed: their next call is a first-time caller's; restored, a repeat caller's.
    expect(await removeOfflineEvent(db(), Number(first.row.id), ada, t0)).toMatchObject({ ok: true });
    expect(await repeatOf(call('r4', 'caller-b', t0))).toEqual([0]);
    expect(await restoreOfflineEvent(db(), Number(first.row.id))).toMatchObject({ ok: true });
    // One of several calls removed: the caller has another, so stays a repeat caller.
    const [other] = await Promise.all([writer.write(callInserter, call('r9', 'caller-b', t0))]);
    expect(Number(other.row.repeat_caller)).toBe(1);
    expect(await removeOfflineEvent(db(), Number(other.row.id), ada, t0)).toMatchObject({ ok: true });
    expect(await repeatOf(call('r5', 'caller-b', t0), call('r6', null, t0))).toEqual([1, null]);
    // Pruning the old calls: caller a had only those (first-time again), caller b still has two.
    await pruneOfflineEventsBefore(db(), old + DAY, 1000);
    expect(await repeatOf(call('r7', 'caller-a', t0), call('r8', 'caller-b', t0))).toEqual([0, 1]);
    expect(
      (await db().selectFrom('callers').selectAll().orderBy('from_hash').execute()).map((c) => c.from_hash),
    ).toEqual(['caller-a', 'caller-b']);
    await writer.close();
  });

  it.skipIf(dialect !== 'postgres')(
    'PostgreSQL: a call batch waits for an undo that holds its caller, then judges the caller by what the undo left',
    async () => {
      const writer = new EventWriter(db(), { calls: callInserter }, { maxWaitMs: 0, maxBatch: 100 });
      const call = (sid: string): CallRow => ({
        at: t0,
        recorded_at: t0,
        client_id: `twilio:${sid}`,
        from_hash: 'caller-raced',
        to_hash: null,
        duration_s: 10,
        answered: 1,
      });
      const only = await writer.write(callInserter, call('race-1'));
      expect(Number(only.row.repeat_caller)).toBe(0);
      const waiting = async () =>
        Number(
          (
            await sql<{ n: string }>`select count(*) as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`.execute(db())
          ).rows[0]!.n,
        );
      // Holds the counts, so the undo stops after it took the caller and before it commits.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let countsHeld!: () => void;
      const countsLocked = new Promise<void>((resolve) => (countsHeld = resolve));
      const holder = db()
        .transaction()
        .execute(async (trx) => {
          await sql`select 1 from report_counts for update`.execute(trx);
          countsHeld();
          await held;
        });
      await countsLocked;
      const waitFor = async (sessions: number) => {
        for (let tries = 0; (await waiting()) < sessions; tries++) {
          if (tries > 400) throw new Error(`${sessions} sessions never waited at once`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      };
      // The undo takes the caller, then waits for the counts; only then does the batch start.
      const undo = removeOfflineEvent(db(), Number(only.row.id), ada, t0);
      let next: ReturnType<typeof writer.write<typeof callInserter>>;
      try {
        await waitFor(1);
        next = writer.write(callInserter, call('race-2'));
        await waitFor(2);
      } finally {
        release();
        await holder;
      }
      expect(await undo).toMatchObject({ ok: true });
      // The undo went first: its caller had no counted call left, so the batch's call is a first-time caller's, on record again.
      expect(Number((await next).row.repeat_caller)).toBe(0);
      expect(
        (await db().selectFrom('callers').select('from_hash').where('from_hash', '=', 'caller-raced').execute()).length,
      ).toBe(1);
      await writer.close();
    },
  );
});
