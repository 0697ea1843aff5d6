import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { migrateDown, migrateToLatest } from '../../../src/lib/db/migrate.ts';
import { seedIssue } from '../../helpers/tracking.ts';

describeEachDatabase('migrations', (db) => {
  it('go all the way down and up again', async () => {
    let down: string[];
    do down = await migrateDown(db());
    while (down.length > 0);
    const tables = await db().introspection.getTables();
    expect(tables.filter((t) => !t.name.startsWith('kysely_'))).toEqual([]);
    const up = await migrateToLatest(db());
    expect(up.length).toBeGreaterThan(0);
    expect(await migrateToLatest(db())).toEqual([]);
  });
});

describeEachDatabase('opens and clicks without AUTOINCREMENT (SQLite)', (db, dialect) => {
  it('keeps every row, id and index, and new rows still take the next id', async () => {
    if (dialect !== 'sqlite') return;
    const definitions = async () => (await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where tbl_name in ('opens', 'clicks') order by name`.execute(db())).rows;
    const current = await definitions();
    expect(current.filter((r) => /autoincrement/i.test(r.sql ?? ''))).toEqual([]);
    // Back to the earlier definition, with rows, then forward again.
    const name = '2026_11_27_010000_event_ids_without_autoincrement';
    const undone: string[] = [];
    while (!undone.includes(name)) {
      const step = await migrateDown(db());
      expect(step.length).toBeGreaterThan(0);
      undone.push(...step);
    }
    const earlier = await definitions();
    expect(earlier.filter((r) => /autoincrement/i.test(r.sql ?? '')).map((r) => r.name)).toEqual(['clicks', 'opens']);
    const { issueId } = await seedIssue(db(), 'http://127.0.0.1:4321');
    const rows = Array.from({ length: 5 }, (_, i) => ({ issue_id: issueId, delivery_id: null, subscriber_id: null, at: 1000 + i, class: 'human' as const, reason: 'reader' }));
    const before = await db().insertInto('opens').values(rows).returning(['id', 'at']).execute();
    await db().deleteFrom('opens').where('id', '=', before[1]!.id).execute();
    expect(await migrateToLatest(db())).toEqual(undone.reverse());
    expect(await definitions()).toEqual(current);
    const after = await db().selectFrom('opens').select(['id', 'at']).where('issue_id', '=', issueId).orderBy('id').execute();
    expect(after).toEqual(before.filter((_, i) => i !== 1));
    const next = await db().insertInto('opens').values({ ...rows[0]!, at: 2000 }).returning('id').executeTakeFirstOrThrow();
    expect(Number(next.id)).toBe(Number(before[4]!.id) + 1);
  });
});
