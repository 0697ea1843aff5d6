import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe } from 'vitest';
import pg from 'pg';
import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { migrateDown, migrateToLatest } from '../../src/lib/db/migrate.ts';
import { copyMigratedTemplate, postgresTemplate } from './database-templates.ts';

export type TestDialect = 'sqlite' | 'postgres';

/** The dialects this run tests: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function testDialects(): TestDialect[] {
  return process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/**
 * A fresh database URL: a new SQLite file (not yet there), or a new PostgreSQL database — empty,
 * or with `migrated`, a copy of the migrated template (for callers that migrate it first thing,
 * e.g. startServer; a SQLite file gets its copy there, from copyMigratedTemplate).
 */
export async function createTestDatabaseUrl(
  dialect: TestDialect,
  dir: string,
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite')
    return { url: `sqlite:${dir}/test-${randomBytes(4).toString('hex')}.db`, drop: async () => {} };
  const admin = new URL(process.env.TEST_DATABASE_URL!);
  const name = `footfall_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    const template = options.migrated
      ? (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [postgresTemplate()])).rowCount
      : 0;
    await client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${postgresTemplate()}` : ''}`);
  } finally {
    await client.end();
  }
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
        const created = await createTestDatabaseUrl(dialect, mkdtempSync(`${tmpdir()}/footfall-db-`), {
          migrated: true,
        });
        drop = created.drop;
        copyMigratedTemplate(created.url);
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
