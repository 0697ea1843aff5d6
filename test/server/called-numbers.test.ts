import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects, undoMigrationsThrough } from '../helpers/databases.ts';
import { request, withDatabase } from '../helpers/accounts.ts';
import { prepareTestShopDatabase } from '../helpers/shop.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { createIssue, freezeIssue } from '../../src/lib/issues/issues.service.ts';
import { phoneHash } from '../../src/lib/phone/phone-hash.ts';

const HASH_MIGRATION = '2026_12_23_100000_hash_called_numbers';

const SECRET = 'server-secret-for-called-number-tests-0123456789';
const CALLS_SECRET = 'calls-webhook-secret-for-called-numbers';
const TRACKED = '+441632960444';
const OTHER = '+441632960445';
const env = { SECRET, CALLS_WEBHOOK_SECRET: CALLS_SECRET, SEND_WORKER: '0' };

/** The columns of offline_events as the database has them. */
async function offlineEventColumns(databaseUrl: string): Promise<string[]> {
  return withDatabase(databaseUrl, async (db) =>
    ((await db.introspection.getTables()).find((t) => t.name === 'offline_events')?.columns ?? []).map((c) => c.name),
  );
}

/**
 * A database as an earlier Footfall left it: called numbers stored in plain `to_number`, the issue's
 * snapshot without a hash. The server's start-up must hash them (migrations have no secret) and
 * drop the plain column, once.
 */
for (const dialect of testDialects()) {
  describe(`called numbers stored before they were hashed [${dialect}]`, () => {
    let server: RunningServer;
    let dir: string;
    let databaseUrl: string;
    let drop: () => Promise<void>;
    let issueId: number;
    const wentOut = Date.now() - 3 * 3_600_000;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'footfall-called-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      databaseUrl = created.url;
      drop = created.drop;
      await prepareTestShopDatabase(databaseUrl); // migrated, with a postal address the issue needs to go out
      issueId = await withDatabase(databaseUrl, async (db) => {
        const issue = await createIssue(
          db,
          { subject: 'Ring the counter', body_markdown: 'Call us.', tracked_phone: '+44 1632 960444' },
          { articles: new Map(), createdBy: null },
          wentOut - 60_000,
        );
        if (!issue.ok) throw new Error('issue not created');
        await freezeIssue(db, issue.value.id, wentOut, { secret: SECRET });
        // Back to before the hashes: the snapshot loses its hash, offline_events its to_hash.
        expect(await undoMigrationsThrough(db, HASH_MIGRATION)).toContain(HASH_MIGRATION);
        for (const [i, to] of [TRACKED, OTHER, TRACKED].entries())
          await sql`insert into offline_events (kind, at, recorded_at, source, client_id, to_number, issue_id) values ('call', ${wentOut + i}, ${wentOut + i}, 'webhook', ${`webhook:old-${i}`}, ${to}, ${to === TRACKED ? issue.value.id : null})`.execute(
            db,
          );
        return issue.value.id;
      });
      server = await startServer({ dataDir: dir, databaseUrl, env });
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('the start-up hashes every stored called number and the issue’s tracked number, then drops the plain column', async () => {
      expect(server.output()).toContain(
        '[db] called numbers kept as keyed hashes: 3 call(s) and 1 issue(s) hashed, the plain numbers dropped',
      );
      expect(await offlineEventColumns(databaseUrl)).not.toContain('to_number');
      const rows = await withDatabase(databaseUrl, (db) =>
        db.selectFrom('offline_events').selectAll().orderBy('id').execute(),
      );
      expect(rows.map((r) => [r.client_id, r.to_hash])).toEqual([
        ['webhook:old-0', phoneHash(SECRET, TRACKED)],
        ['webhook:old-1', phoneHash(SECRET, OTHER)],
        ['webhook:old-2', phoneHash(SECRET, TRACKED)],
      ]);
      expect(JSON.stringify(rows)).not.toMatch(/960444|960445/);
      const snapshot = await withDatabase(databaseUrl, (db) =>
        db
          .selectFrom('issue_snapshots')
          .select('tracked_phone_hash')
          .where('issue_id', '=', issueId)
          .executeTakeFirstOrThrow(),
      );
      expect(snapshot.tracked_phone_hash).toBe(phoneHash(SECRET, TRACKED));
    });

    it('a new call to the tracked number is credited by the hash; another number is not', async () => {
      const post = (to: string) =>
        request(server, '/api/webhooks/calls', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLS_SECRET}` },
          body: JSON.stringify({ at: Date.now() - 60_000, to }),
        });
      const credited = await post('+44 (0)1632 960 444');
      expect(credited.status, credited.text).toBe(201);
      expect(JSON.parse(credited.text).event).toMatchObject({ issue_id: issueId });
      const other = await post('+44 1632 960445');
      expect(JSON.parse(other.text).event).toMatchObject({ issue_id: null });
    });

    it('once: a restart finds nothing to hash and changes nothing; migrating down brings the plain column back empty', async () => {
      const before = await withDatabase(databaseUrl, (db) =>
        db.selectFrom('offline_events').selectAll().orderBy('id').execute(),
      );
      await server.stop();
      server = await startServer({ dataDir: dir, databaseUrl, env });
      expect(server.output()).not.toContain('called numbers');
      expect(
        await withDatabase(databaseUrl, (db) => db.selectFrom('offline_events').selectAll().orderBy('id').execute()),
      ).toEqual(before);
      await server.stop();
      await withDatabase(databaseUrl, async (db) => {
        expect(await undoMigrationsThrough(db, HASH_MIGRATION)).toContain(HASH_MIGRATION);
        expect(await offlineEventColumns(databaseUrl)).toContain('to_number');
        const { rows } = await sql<{
          n: number;
        }>`select count(*) as n from offline_events where to_number is not null`.execute(db);
        expect(Number(rows[0]!.n)).toBe(0);
        await migrateToLatest(db);
      });
      server = await startServer({ dataDir: dir, databaseUrl, env });
    });
  });
}
