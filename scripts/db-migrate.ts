import { getConfig } from '../src/lib/config.ts';
import { createDatabase } from '../src/lib/db/database.ts';
import { migrateDown } from '../src/lib/db/migrate.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';
import { loadServerSecret } from '../src/lib/security/server-secret.ts';
import { upgradeDatabase } from '../src/lib/app/upgrade-database.ts';

keepNewFilesPrivate();

const config = getConfig();
const db = createDatabase(config.databaseUrl);
try {
  const down = process.argv.includes('--down');
  const { applied, hashed } = down
    ? { applied: await migrateDown(db), hashed: undefined }
    : await upgradeDatabase(db, loadServerSecret(config.dataDir, config.secret));
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  if (hashed) console.log(`called numbers hashed: ${hashed.calls} call(s), ${hashed.snapshots} issue(s)`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
