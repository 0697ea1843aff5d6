import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { doorFigures } from '../../helpers/door.ts';
import {
  addDoorCounter,
  changeDoorCounter,
  doorCounters,
  OverlapRefusal,
  recordDoorCounts,
  removeDoorCounter,
} from '../../../src/lib/door/door-counts.service.ts';
import { findTotals } from '../../../src/lib/counts/range-reads.ts';
import { pruneRawEvents } from '../../../src/lib/reports/retention.service.ts';

const Q = 15 * 60_000;
const H = 4 * Q;
const zone = 'UTC';
// Monday 2026-11-23 00:00 UTC.
const monday = Date.UTC(2026, 10, 23);
const now = monday + 3 * 86_400_000;

describeEachDatabase('door counts', (db) => {
  const total = async (metric: 'door.in' | 'door.out') =>
    (await findTotals(db(), [0], [metric])).reduce((a, r) => a + r.n, 0);
  const expectDirect = async () => {
    const { maintained, direct } = await doorFigures(db());
    expect(maintained).toEqual(direct);
  };

  it('stores intervals, replays change nothing, a correction moves the counts by the difference', async () => {
    const added = await addDoorCounter(
      db(),
      { key: 'front', name: 'Front door', staffPerDay: 0, openingHours: null, timeZone: zone },
      now,
    );
    expect(added.ok).toBe(true);
    const again = await addDoorCounter(
      db(),
      { key: 'front', name: 'Again', staffPerDay: 0, openingHours: null, timeZone: zone },
      now,
    );
    expect(again).toMatchObject({ ok: false, fields: { key: expect.stringContaining('already exists') } });
    const counters = await doorCounters(db());
    const front = counters.find((c) => c.key === 'front')!;
    const items = [0, 1, 2, 3].map((i) => ({
      counterId: front.id,
      from: monday + 10 * H + i * Q,
      to: monday + 10 * H + (i + 1) * Q,
      countIn: 5 + i,
      countOut: 4,
    }));
    expect(await recordDoorCounts(db(), counters, items, 'webhook', now)).toEqual({
      stored: 4,
      replaced: 0,
      unchanged: 0,
    });
    expect(await total('door.in')).toBe(26);
    expect(await recordDoorCounts(db(), counters, items, 'webhook', now)).toEqual({
      stored: 0,
      replaced: 0,
      unchanged: 4,
    });
    expect(await total('door.in')).toBe(26);
    const corrected = [{ ...items[1]!, countIn: 1, countOut: null }];
    expect(await recordDoorCounts(db(), counters, corrected, 'webhook', now)).toEqual({
      stored: 0,
      replaced: 1,
      unchanged: 0,
    });
    expect(await total('door.in')).toBe(21);
    expect(await total('door.out')).toBe(12);
    await expectDirect();
  });

  it('an interval overlapping a different stored one is refused whole: nothing stored', async () => {
    const counters = await doorCounters(db());
    const front = counters.find((c) => c.key === 'front')!;
    const before = await doorFigures(db());
    const list = [
      { counterId: front.id, from: monday + 20 * H, to: monday + 20 * H + Q, countIn: 3, countOut: null },
      { counterId: front.id, from: monday + 10 * H, to: monday + 10 * H + 2 * Q, countIn: 9, countOut: null },
    ];
    await expect(recordDoorCounts(db(), counters, list, 'webhook', now)).rejects.toBeInstanceOf(OverlapRefusal);
    expect(await doorFigures(db())).toEqual(before);
    const rows = await db().selectFrom('door_counts').select('from_at').execute();
    expect(rows.map((r) => Number(r.from_at))).not.toContain(monday + 20 * H);
  });

  it('the rule saved again in another time zone recounts the counter: figures stay a direct count', async () => {
    const weekdays = [[540, 1020], [540, 1020], [540, 1020], [540, 1020], [540, 1020], null, null] as const;
    const openingHours = weekdays.map((h) => (h ? ([h[0], h[1]] as const) : null));
    const added = await addDoorCounter(db(), {
      key: 'back',
      name: 'Back door',
      staffPerDay: 0,
      openingHours,
      timeZone: 'UTC',
    });
    if (!added.ok) throw new Error('not added');
    const back = added.counter;
    const at = monday + 10 * H;
    await recordDoorCounts(
      db(),
      await doorCounters(db()),
      [{ counterId: back.id, from: at, to: at + H, countIn: 8, countOut: null }],
      'webhook',
      now,
    );
    const before = await total('door.in');
    const moved = await changeDoorCounter(db(), back.id, {
      name: 'Back door',
      staffPerDay: 0,
      openingHours,
      timeZone: 'America/New_York',
    });
    expect(moved?.timeZone).toBe('America/New_York');
    // 10:00–11:00 UTC is 05:00–06:00 in New York: before opening there.
    expect(await total('door.in')).toBe(before - 8);
    await expectDirect();
  });

  it('a rule change recounts the counter; figures keep equal to a direct count, also after pruning', async () => {
    const counters = await doorCounters(db());
    const front = counters.find((c) => c.key === 'front')!;
    // An hour-long interval early in the morning and one on Tuesday.
    await recordDoorCounts(
      db(),
      counters,
      [
        { counterId: front.id, from: monday + 7 * H, to: monday + 8 * H, countIn: 10, countOut: 10 },
        { counterId: front.id, from: monday + 33 * H + 10 * 60_000, to: monday + 34 * H, countIn: 7, countOut: null },
      ],
      'csv',
      now,
    );
    await expectDirect();
    const hours = [[540, 1020], [540, 1020], [540, 1020], [540, 1020], [540, 1020], null, null] as const;
    await changeDoorCounter(db(), front.id, {
      name: 'Front door',
      staffPerDay: 2,
      openingHours: hours.map((h) => (h ? ([h[0], h[1]] as const) : null)),
      timeZone: zone,
    });
    // Monday: 07:00–08:00 is before opening; 10:00–11:00 had 21 in, 2 go to staff. Tuesday: 7 − 2.
    expect(await total('door.in')).toBe(19 + 5);
    await expectDirect();
    const shown = await total('door.in');
    // Retention: the raw rows go, the figures stay.
    const pruned = await pruneRawEvents(db(), now + 400 * 86_400_000);
    expect(pruned.deleted.door_counts).toBeGreaterThan(0);
    expect(await total('door.in')).toBe(shown);
  });

  it('removing a counter takes its intervals and what they counted', async () => {
    const added = await addDoorCounter(
      db(),
      { key: 'side', name: 'Side door', staffPerDay: 0, openingHours: null, timeZone: zone },
      now,
    );
    if (!added.ok) throw new Error('not added');
    const counters = await doorCounters(db());
    await recordDoorCounts(
      db(),
      counters,
      [{ counterId: added.counter.id, from: now - H, to: now, countIn: 4, countOut: 1 }],
      'webhook',
      now,
    );
    const before = await total('door.in');
    expect(await removeDoorCounter(db(), added.counter.id)).toBe(true);
    expect(await total('door.in')).toBe(before - 4);
  });
});
