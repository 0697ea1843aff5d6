import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { describeEachDatabase, undoMigrationsThrough } from '../../helpers/databases.ts';
import { migrateDown, migrateToLatest } from '#lib/db/migrate.ts';
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
    const definitions = async () =>
      (
        await sql<{
          name: string;
          sql: string;
        }>`select name, sql from sqlite_master where tbl_name in ('opens', 'clicks') order by name`.execute(db())
      ).rows;
    const current = await definitions();
    expect(current.filter((r) => /autoincrement/i.test(r.sql ?? ''))).toEqual([]);
    // Back to the earlier definition, with rows, then forward again.
    const name = '2026_11_27_010000_event_ids_without_autoincrement';
    const undone = await undoMigrationsThrough(db(), name);
    const earlier = await definitions();
    expect(earlier.filter((r) => /autoincrement/i.test(r.sql ?? '')).map((r) => r.name)).toEqual(['clicks', 'opens']);
    const { issueId } = await seedIssue(db(), 'http://127.0.0.1:4321');
    const rows = Array.from({ length: 5 }, (_, i) => ({
      issue_id: issueId,
      delivery_id: null,
      subscriber_id: null,
      at: 1000 + i,
      class: 'human' as const,
      reason: 'reader',
    }));
    const before = await db().insertInto('opens').values(rows).returning(['id', 'at']).execute();
    await db().deleteFrom('opens').where('id', '=', before[1]!.id).execute();
    expect(await migrateToLatest(db())).toEqual(undone.reverse());
    expect(await definitions()).toEqual(current);
    const after = await db()
      .selectFrom('opens')
      .select(['id', 'at'])
      .where('issue_id', '=', issueId)
      .orderBy('id')
      .execute();
    expect(after).toEqual(before.filter((_, i) => i !== 1));
    const next = await db()
      .insertInto('opens')
      .values({ ...rows[0]!, at: 2000 })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(Number(next.id)).toBe(Number(before[4]!.id) + 1);
  });
});

describeEachDatabase('opens and clicks without foreign keys', (db, dialect) => {
  const references = async (): Promise<string[]> => {
    if (dialect === 'sqlite') {
      const { rows } = await sql<{
        table: string;
        to: string;
      }>`select m.name as "table", f."table" as "to" from sqlite_master m, pragma_foreign_key_list(m.name) f where m.name in ('opens', 'clicks') order by 1, 2`.execute(
        db(),
      );
      return rows.map((r) => `${r.table} → ${r.to}`);
    }
    const { rows } = await sql<{
      table: string;
      to: string;
    }>`select c.conrelid::regclass::text as "table", c.confrelid::regclass::text as "to" from pg_constraint c where c.contype = 'f' and c.conrelid::regclass::text in ('opens', 'clicks') order by 1, 2`.execute(
      db(),
    );
    return rows.map((r) => `${r.table} → ${r.to}`);
  };

  it('drops every reference of the event rows and brings them back on the way down, rows kept', async () => {
    expect(await references()).toEqual([]);
    const { issueId, links } = await seedIssue(db(), 'http://127.0.0.1:4321');
    // A row naming no live delivery or subscriber is accepted now (the writer checks what it stores).
    await db()
      .insertInto('clicks')
      .values({
        issue_id: issueId,
        link_id: links.external.id,
        delivery_id: 987_654,
        subscriber_id: 876_543,
        at: 1000,
        class: 'human',
        reason: 'reader',
      })
      .execute();
    await db().deleteFrom('clicks').where('delivery_id', '=', 987_654).execute();
    const open = {
      issue_id: issueId,
      delivery_id: null,
      subscriber_id: null,
      at: 1000,
      class: 'human' as const,
      reason: 'reader',
    };
    const stored = await db().insertInto('opens').values(open).returning('id').executeTakeFirstOrThrow();

    const name = '2026_11_27_030000_event_rows_without_foreign_keys';
    const undone = await undoMigrationsThrough(db(), name);
    expect(await references()).toEqual([
      'clicks → deliveries',
      'clicks → issue_links',
      'clicks → issues',
      'clicks → subscribers',
      'opens → deliveries',
      'opens → issues',
      'opens → subscribers',
    ]);
    await expect(
      db()
        .insertInto('opens')
        .values({ ...open, delivery_id: 987_654 })
        .execute(),
    ).rejects.toThrow(/foreign key/i);

    expect(await migrateToLatest(db())).toEqual(undone.reverse());
    expect(await references()).toEqual([]);
    expect(await db().selectFrom('opens').select(['id', 'at']).where('issue_id', '=', issueId).execute()).toEqual([
      { id: stored.id, at: 1000 },
    ]);
  });
});

describeEachDatabase('opens and clicks by mail program and device', (db) => {
  it('counts the hits stored before the labels as unknown, by class, so the report’s rows sum to its other figures', async () => {
    const name = '2026_12_10_200000_add_hit_client_and_device';
    const undone = await undoMigrationsThrough(db(), name);
    const { issueId, links } = await seedIssue(db(), 'http://127.0.0.1:4321');
    const hit = { issue_id: issueId, delivery_id: null, subscriber_id: null, reason: 'before the labels' };
    await db()
      .insertInto('opens')
      .values([
        { ...hit, at: 1000, class: 'human' },
        { ...hit, at: 1001, class: 'proxy' },
        { ...hit, at: 1002, class: 'human' },
        { ...hit, at: 1003, class: 'apple_mpp' },
      ])
      .execute();
    await db()
      .insertInto('clicks')
      .values([
        { ...hit, link_id: links.site.id, at: 1004, class: 'human' },
        { ...hit, link_id: links.honeypot.id, at: 1005, class: 'bot' },
      ])
      .execute();
    expect(await migrateToLatest(db())).toEqual(undone.reverse());
    const counts = await db()
      .selectFrom('report_counts')
      .select(['metric', 'dim', 'n'])
      .where('issue_id', '=', issueId)
      .where('metric', 'like', 'agent.%')
      .orderBy('metric')
      .orderBy('dim')
      .execute();
    expect(counts.map((c) => [c.metric, c.dim, Number(c.n)])).toEqual([
      ['agent.click', 'bot|unknown|unknown', 1],
      ['agent.click', 'human|unknown|unknown', 1],
      ['agent.open', 'apple_mpp|unknown|unknown', 1],
      ['agent.open', 'human|unknown|unknown', 2],
      ['agent.open', 'proxy|unknown|unknown', 1],
    ]);
  });
});

describeEachDatabase('callers from the calls on record', (db) => {
  it('holds each caller hash with a counted call stored before the table (and, down a step, how many), leaving out removed calls and walk-ins', async () => {
    const name = '2026_12_25_110000_create_callers';
    const undone = await undoMigrationsThrough(db(), name);
    const row = (
      clientId: string,
      fromHash: string | null,
      extra: { kind?: 'call' | 'walk_in'; undone_at?: number } = {},
    ) => ({
      kind: extra.kind ?? ('call' as const),
      at: 1000,
      recorded_at: 1000,
      source: 'webhook' as const,
      client_id: clientId,
      from_hash: fromHash,
      undone_at: extra.undone_at ?? null,
    });
    await db()
      .insertInto('offline_events')
      .values([
        row('m1', 'caller-a'),
        row('m2', 'caller-a'),
        row('m3', 'caller-b'),
        row('m4', 'caller-c', { undone_at: 2000 }),
        row('m5', 'caller-d', { kind: 'walk_in' }),
        row('m6', null),
      ])
      .execute();
    expect(await migrateToLatest(db())).toEqual(undone.reverse());
    const callers = await db().selectFrom('callers').selectAll().orderBy('from_hash').execute();
    expect(callers.map((c) => c.from_hash)).toEqual(['caller-a', 'caller-b']);
    // Down to 2026_12_26_140000's predecessor: the count per caller comes back from the calls on record.
    await undoMigrationsThrough(db(), '2026_12_26_140000_callers_without_count');
    const counted = await sql<{
      from_hash: string;
      calls: number;
    }>`select from_hash, calls from callers order by from_hash`.execute(db());
    expect(counted.rows.map((c) => [c.from_hash, Number(c.calls)])).toEqual([
      ['caller-a', 2],
      ['caller-b', 1],
    ]);
    await migrateToLatest(db());
  });
});
