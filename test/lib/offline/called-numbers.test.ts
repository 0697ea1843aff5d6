import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { hashStoredPhoneNumbers } from '../../../src/lib/offline/called-numbers.ts';
import { phoneHash } from '../../../src/lib/phone/phone-hash.ts';
import { upgradeDatabase } from '../../../src/lib/app/upgrade-database.ts';

const SECRET = 'called-numbers-lib-test-secret-0123456789';

describeEachDatabase('called numbers hashed once, by whichever process starts first', (db) => {
  it('two start-ups at once: one hashes every row and drops the plain column, the other finds nothing to do', async () => {
    // A migrated test database still has the plain column (only a start-up drops it): rows as an earlier Footfall stored them.
    for (const [i, to] of ['+441632960101', '+441632960102', '+441632960101', null].entries())
      await sql`insert into offline_events (kind, at, recorded_at, source, client_id, to_number) values ('call', ${1_800_000_000_000 + i}, ${1_800_000_000_000 + i}, 'webhook', ${`webhook:lib-${i}`}, ${to})`.execute(
        db(),
      );
    // PostgreSQL: two connections of the pool, so the two transactions really overlap (the table
    // lock makes the second wait); SQLite has one connection, so they take turns.
    const results = await Promise.all([hashStoredPhoneNumbers(db(), SECRET), hashStoredPhoneNumbers(db(), SECRET)]);
    expect(results.filter((r) => r !== undefined)).toEqual([{ calls: 3, snapshots: 0 }]);
    expect(await hashStoredPhoneNumbers(db(), SECRET)).toBeUndefined();
    const rows = await db().selectFrom('offline_events').selectAll().orderBy('id').execute();
    expect(rows.map((r) => r.to_hash)).toEqual([
      phoneHash(SECRET, '+441632960101'),
      phoneHash(SECRET, '+441632960102'),
      phoneHash(SECRET, '+441632960101'),
      null,
    ]);
    expect(rows.every((r) => !('to_number' in r))).toBe(true);
  });
});

describeEachDatabase('a database brought up to date', (db) => {
  it('upgradeDatabase, what every process runs first, migrates and then hashes the plain numbers', async () => {
    await sql`insert into offline_events (kind, at, recorded_at, source, client_id, to_number) values ('call', ${1_800_000_000_000}, ${1_800_000_000_000}, 'webhook', 'webhook:upgrade', '+441632960103')`.execute(
      db(),
    );
    expect(await upgradeDatabase(db(), SECRET)).toEqual({ applied: [], hashed: { calls: 1, snapshots: 0 } });
    const row = await db().selectFrom('offline_events').selectAll().executeTakeFirstOrThrow();
    expect(row.to_hash).toBe(phoneHash(SECRET, '+441632960103'));
    expect(await upgradeDatabase(db(), SECRET)).toEqual({ applied: [], hashed: undefined });
  });
});
