import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../src/lib/db/database.ts';
import { migrateToLatest, migrationFolder } from '../../src/lib/db/migrate.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../src/lib/security/private-files.ts';

/**
 * Migrated templates: a test run migrates one SQLite file (in the temp folder) and one PostgreSQL
 * database (footfall_template_…) before any test file (global-setup.ts), and a test database that
 * would be migrated first thing starts as a copy of them instead: copying is much cheaper than
 * running every migration again, hundreds of times a run. They are named after the migrations'
 * contents, so a changed migration gets a new template; where none was made yet, databases are
 * migrated as before. Old templates are left for the runs that may still use them.
 */
let fingerprint: string | undefined;
function migrationsFingerprint(): string {
  if (fingerprint) return fingerprint;
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(dir, entry.name);
      hash.update(path.relative(migrationFolder, file) + '\0');
      if (entry.isDirectory()) walk(file);
      else hash.update(readFileSync(file));
    }
  };
  walk(migrationFolder);
  return (fingerprint = hash.digest('hex').slice(0, 16));
}

const sqliteTemplate = () => path.join(tmpdir(), `footfall-template-${migrationsFingerprint()}.db`);
export const postgresTemplate = () => `footfall_template_${migrationsFingerprint()}`;

/** Makes the migrated templates that are missing (once per test run, before any test file). */
export async function prepareDatabaseTemplates(): Promise<void> {
  if (!existsSync(sqliteTemplate())) {
    const building = `${sqliteTemplate()}.${randomBytes(4).toString('hex')}`;
    const db = createDatabase(`sqlite:${building}`, { poolSize: 1 });
    await migrateToLatest(db);
    await db.destroy();
    // Closed, the WAL is checkpointed into the file and removed: the file alone is the database.
    if (existsSync(`${building}-wal`)) throw new Error(`the SQLite template ${building} kept its WAL`);
    renameSync(building, sqliteTemplate());
  }
  if (!process.env.TEST_DATABASE_URL) return;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [postgresTemplate()]);
    if (found.rowCount) return;
    // Built under a name of its own and renamed when complete: a run beside this one never copies half a template.
    const building = `footfall_building_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${building}`);
    const url = new URL(process.env.TEST_DATABASE_URL);
    url.pathname = '/' + building;
    const db = createDatabase(url.href, { poolSize: 1 });
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
    try {
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${postgresTemplate()}`);
    } catch {
      await admin.query(`DROP DATABASE IF EXISTS ${building}`); // another run made it meanwhile
    }
  } finally {
    await admin.end();
  }
}

/**
 * Before a new SQLite database at `url` is migrated: a copy of the migrated template where there
 * is one, so that the migration finds nothing left to do. A database already there is left alone.
 */
export function copyMigratedTemplate(url: string): void {
  if (!url.startsWith('sqlite:')) return;
  const file = url.slice('sqlite:'.length);
  if (file === ':memory:' || existsSync(file) || !existsSync(sqliteTemplate())) return;
  // As openSqlite makes a new database: its folder and the file its owner's alone.
  mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  copyFileSync(sqliteTemplate(), file);
  chmodSync(file, PRIVATE_FILE_MODE);
}
