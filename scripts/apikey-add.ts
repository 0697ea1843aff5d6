// npm run apikey:add -- --role admin|marketer|writer --name "CRM sync"
// Prints the new key once (only its SHA-256 is stored). Exit 0 on success, 1 with a reason otherwise.
import { parseArgs } from 'node:util';
import { getConfig } from '../src/lib/config.ts';
import { createDatabase } from '../src/lib/db/database.ts';
import { upgradeDatabase } from '../src/lib/app/upgrade-database.ts';
import { loadServerSecret } from '../src/lib/security/server-secret.ts';
import { createApiKey } from '../src/lib/auth/api-keys.service.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';

keepNewFilesPrivate();

const usage = 'usage: npm run apikey:add -- --role admin|marketer|writer --name "what uses it"';

let values: { role?: string; name?: string };
try {
  ({ values } = parseArgs({ options: { role: { type: 'string' }, name: { type: 'string' } }, strict: true }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  process.exit(1);
}
if (values.role === undefined || values.name === undefined) {
  console.error(
    `missing ${[values.role === undefined && '--role', values.name === undefined && '--name'].filter(Boolean).join(', ')}\n${usage}`,
  );
  process.exit(1);
}

const config = getConfig();
const db = createDatabase(config.databaseUrl, { poolSize: 1 });
try {
  // The whole upgrade, as the server does it: run first on a database from an earlier version,
  // this leaves nothing for the server's start (called numbers hashed with the server secret).
  await upgradeDatabase(db, loadServerSecret(config.dataDir, config.secret));
  const result = await createApiKey(db, { name: values.name, role: values.role, createdBy: null });
  if (!result.ok) {
    console.error(`key not created: ${result.message}`);
    process.exitCode = 1;
  } else {
    console.error(
      `created API key "${result.value.apiKey.name}" (${result.value.apiKey.role}); it is shown once — store it now:`,
    );
    console.log(result.value.key);
  }
} catch (error) {
  console.error(`key not created: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
