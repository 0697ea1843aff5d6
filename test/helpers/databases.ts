import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe } from 'vitest';
import pg from 'pg';
import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { migrateDown, migrateToLatest } from '../../src/lib/db/migrate.ts';

export type TestDialect = 'sqlite' | 'postgres';

/** The dialects this run tests: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function testDialects(): TestDialect[] {
  return process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** A fresh, empty database URL: a new SQLite file, or a new PostgreSQL database. */
export async function createTestDatabaseUrl(
  dialect: TestDialect,
  dir: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite')
    return { url: `sqlite:${dir}/test-${randomBytes(4).toString('hex')}.db`, drop: async () => {} };
  const admin = new URL(process.env.TEST_DATABASE_URL!);
  const name = `footfall_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin.href);
  url.pathname = '/' + name;
  return {
    url: url.href,
    drop: async () => {
      const c = new pg.Client({ connectionString: admin.href });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      if (process.env.PG_SUITE_MARKER)
        writeFileSync(process.env.PG_SUITE_MARKER, 'postgres suite ran\n', { flag: 'a' });
    },
  };
}

/**
 * Runs a suite once per dialect against a freshly migrated database of its own.
 * `get()` inside tests returns that suite's database.
 */
export function describeEachDatabase(name: string, suite: (get: () => DB, dialect: TestDialect) => void): void {
  for (const dialect of testDialects()) {
    describe(`${name} [${dialect}]`, () => {
      let db: DB | undefined;
      let drop: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        const { mkdtempSync } = await import('node:fs');
        const { tmpdir } = await import('node:os');
        const created = await createTestDatabaseUrl(dialect, mkdtempSync(`${tmpdir()}/footfall-db-`));
        drop = created.drop;
        db = createDatabase(created.url);
        await migrateToLatest(db);
      });
      afterAll(async () => {
        await db?.destroy();
        await drop?.();
      });
      suite(() => {
        if (!db) throw new Error('database not ready');
        return db;
      }, dialect);
    });
  }
}

/**
 * Migrates down, one step at a time, until `name` is undone (the migrations after it first);
 * answers every migration undone, newest first. Throws when nothing is left to undo.
 */
export async function undoMigrationsThrough(db: DB, name: string): Promise<string[]> {
  const undone: string[] = [];
  while (!undone.includes(name)) {
    const step = await migrateDown(db);
    if (step.length === 0) throw new Error(`${name} was never applied: nothing left to undo`);
    undone.push(...step);
  }
  return undone;
}
