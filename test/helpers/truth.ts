import type { RunTruthOptions } from '../../scripts/truth/replay.ts';
import { copyMigratedTemplate } from './database-templates.ts';
import { createTestDatabaseUrl, type TestDialect } from './databases.ts';

/**
 * A truth replay's database in a test: on the run's PostgreSQL (TEST_DATABASE_URL) or SQLite,
 * made as a copy of the run's migrated template, so the replay's instance does not migrate
 * a new database again for each replay.
 */
export function truthDatabase(dialect: TestDialect): Pick<RunTruthOptions, 'database' | 'newDatabase'> {
  return {
    ...(dialect === 'postgres' ? { database: process.env.TEST_DATABASE_URL! } : {}),
    newDatabase: async (dataDir) => {
      const created = await createTestDatabaseUrl(dialect, dataDir, { migrated: true });
      copyMigratedTemplate(created.url);
      return created;
    },
  };
}
