import { getConfig } from '../src/lib/config.ts';
import { createDatabase } from '../src/lib/db/database.ts';
import { migrateDown, migrateToLatest } from '../src/lib/db/migrate.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';
import { loadServerSecret } from '../src/lib/security/server-secret.ts';
import { hashStoredPhoneNumbers } from '../src/lib/offline/called-numbers.ts';

keepNewFilesPrivate();

const config = getConfig();
const db = createDatabase(config.databaseUrl);
try {
  const down = process.argv.includes('--down');
  const applied = down ? await migrateDown(db) : await migrateToLatest(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  // What migrations cannot do without the server secret (src/lib/offline/called-numbers.ts).
  const hashed = down ? undefined : await hashStoredPhoneNumbers(db, loadServerSecret(config.dataDir, config.secret));
  if (hashed) console.log(`called numbers hashed: ${hashed.calls} call(s), ${hashed.snapshots} issue(s)`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
