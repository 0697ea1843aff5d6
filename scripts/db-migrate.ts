import { getConfig } from '../src/lib/config.ts';
import { createDatabase } from '../src/lib/db/database.ts';
import { migrateDown, migrateToLatest } from '../src/lib/db/migrate.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';

keepNewFilesPrivate();

const config = getConfig();
const db = createDatabase(config.databaseUrl);
try {
  const applied = process.argv.includes('--down') ? await migrateDown(db) : await migrateToLatest(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
