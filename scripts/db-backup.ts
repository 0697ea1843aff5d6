// npm run db:backup -- <file>   an online copy of the SQLite database, safe while the server runs
import { getConfig } from '../src/lib/config.ts';
import { parseDatabaseUrl } from '../src/lib/db/database.ts';
import { backupSqlite } from '../src/lib/db/backup.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';

keepNewFilesPrivate();

const file = process.argv[2];
if (!file) {
  console.error('usage: npm run db:backup -- <file>');
  process.exit(1);
}
const location = parseDatabaseUrl(getConfig().databaseUrl);
if (location.dialect !== 'sqlite') {
  console.error(
    'DATABASE_URL is PostgreSQL: back it up with its own tools, e.g. pg_dump --format=custom "$DATABASE_URL" > footfall.dump (see README).',
  );
  process.exit(1);
}
try {
  const result = await backupSqlite(location.target, file);
  if (result.integrity !== 'ok') {
    console.error(`backup written to ${result.file} but integrity_check says: ${result.integrity}`);
    process.exit(1);
  }
  console.log(`backup written to ${result.file} (${result.pages} pages, ${result.bytes} bytes, integrity ok)`);
} catch (error) {
  console.error(`backup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
