import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, Migrator, type MigrationResultSet } from 'kysely/migration';

export const migrationFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../db/migrations');

function migratorFor(db: Kysely<any>, folder = migrationFolder): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({
      fs,
      path,
      migrationFolder: folder,
      import: (file) => import(pathToFileURL(file).href),
    }),
  });
}

function raise(result: MigrationResultSet, action: string): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const cause = result.error instanceof Error ? result.error.message : JSON.stringify(result.error);
    throw new Error(`Migration ${action} failed${failed ? ` at ${failed.migrationName}` : ''}: ${cause}`, {
      cause: result.error,
    });
  }
  return result;
}

export async function migrateToLatest(db: Kysely<any>, folder?: string): Promise<string[]> {
  const result = raise(await migratorFor(db, folder).migrateToLatest(), 'to latest');
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function migrateDown(db: Kysely<any>, folder?: string): Promise<string[]> {
  const result = raise(await migratorFor(db, folder).migrateDown(), 'down');
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
