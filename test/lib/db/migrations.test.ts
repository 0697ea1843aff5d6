import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { migrateDown, migrateToLatest } from '../../../src/lib/db/migrate.ts';

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
