import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { doorFigures } from '../../helpers/door.ts';
import { addDoorCounter } from '../../../src/lib/door/door-counts.service.ts';
import { applyDoorImport, planDoorImport, type DoorColumnMapping } from '../../../src/lib/door/door-import.service.ts';

const zone = 'Europe/London';
const now = Date.UTC(2026, 11, 1);
const csv = (lines: string[]) => Readable.from([Buffer.from(lines.join('\n') + '\n')]);
const mapping: DoorColumnMapping = { delimiter: ',', time: 0, end: { minutes: 15 }, in: 1, out: 2, counter: 3 };

describeEachDatabase('door counter CSV import', (db) => {
  it('dry run: exact counts and every rejected row with its reason; import; the same file again adds nothing; a changed count corrects', async () => {
    await addDoorCounter(db(), {
      key: 'front',
      name: 'Front door',
      staffPerDay: 0,
      openingHours: null,
      timeZone: zone,
    });
    await addDoorCounter(db(), { key: 'side', name: 'Side door', staffPerDay: 0, openingHours: null, timeZone: zone });
    const lines = [
      'time,in,out,door',
      '2026-11-23 09:00,4,3,front',
      '2026-11-23 09:15,6,,front',
      '2026-11-23 09:00,2,2,side',
      'yesterday,1,1,front',
      '2026-11-23 09:30,lots,1,front',
      '2026-11-23 09:45,1,1,back',
      '2026-11-23 09:15,9,9,front',
      '2026-11-23 09:20,1,1,front',
      '2027-01-01 09:00,1,1,front',
      '',
    ];
    const plan = await planDoorImport(db(), csv(lines), mapping, { timeZone: zone, now });
    if (!plan.ok) throw new Error(plan.error);
    expect(plan.value.counts).toEqual({ new: 3, corrected: 0, alreadyImported: 0 });
    expect(plan.value.rejectedRows.map((r) => [r.row, r.code])).toEqual([
      [5, 'bad_time'],
      [6, 'bad_count'],
      [7, 'unknown_counter'],
      [8, 'duplicate'],
      [9, 'overlap'],
      [10, 'future'],
    ]);
    expect(plan.value.rejectedRows[2]!.reason).toContain('no counter “back”');
    // The dry run wrote nothing.
    expect(await db().selectFrom('door_counts').selectAll().execute()).toEqual([]);
    expect(await applyDoorImport(db(), plan.value, { timeZone: zone, now })).toEqual({
      stored: 3,
      replaced: 0,
      unchanged: 0,
    });
    const figures = await doorFigures(db());
    expect(figures.maintained).toEqual(figures.direct);
    expect(figures.maintained).toContain('door.in~t@0=12');

    const again = await planDoorImport(db(), csv(lines), mapping, { timeZone: zone, now });
    if (!again.ok) throw new Error(again.error);
    expect(again.value.counts).toEqual({ new: 0, corrected: 0, alreadyImported: 3 });

    const fixed = await planDoorImport(
      db(),
      csv([
        'from,to,in,counter',
        '2026-11-23T09:00:00Z,2026-11-23T09:15:00Z,10,front',
        '2026-11-23 09:10,2026-11-23 09:40,1,side',
      ]),
      { delimiter: ',', time: 0, end: { column: 1 }, in: 2, out: null, counter: 3 },
      { timeZone: zone, now },
    );
    if (!fixed.ok) throw new Error(fixed.error);
    expect(fixed.value.counts).toEqual({ new: 0, corrected: 1, alreadyImported: 0 });
    expect(fixed.value.rejectedRows.map((r) => r.code)).toEqual(['overlap']);
    await applyDoorImport(db(), fixed.value, { timeZone: zone, now });
    const after = await doorFigures(db());
    expect(after.maintained).toEqual(after.direct);
    expect(after.maintained).toContain('door.in~t@0=18');
  });

  it('one counter for the whole file; a counter not in Settings is a file-level error', async () => {
    const plan = await planDoorImport(
      db(),
      csv(['start,entries', '2026-11-24 10:00,5']),
      { delimiter: ',', time: 0, end: { minutes: 60 }, in: 1, out: null, counter: 'side' },
      { timeZone: zone, now },
    );
    expect(plan.ok && plan.value.counts.new).toBe(1);
    const missing = await planDoorImport(
      db(),
      csv(['start,entries']),
      { ...mapping, counter: 'nope' },
      { timeZone: zone, now },
    );
    expect(missing).toEqual({ ok: false, error: 'No counter “nope” in Settings → Door counters.' });
  });
});
