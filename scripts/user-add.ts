// npm run user:add -- --email E --password P --role admin|marketer|writer [--name N]
// Scripted set-up: an active account, ready to sign in. Exit 0 on success, 1 with a reason otherwise.
import { parseArgs } from 'node:util';
import { getConfig } from '../src/lib/config.ts';
import { createDatabase } from '../src/lib/db/database.ts';
import { upgradeDatabase } from '../src/lib/app/upgrade-database.ts';
import { loadServerSecret } from '../src/lib/security/server-secret.ts';
import { createUser } from '../src/lib/auth/users.service.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';

keepNewFilesPrivate();

const usage =
  'usage: npm run user:add -- --email you@example.com --password "a long passphrase" --role admin|marketer|writer [--name "Your Name"]';

let values: { email?: string; password?: string; role?: string; name?: string };
try {
  ({ values } = parseArgs({
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
    },
    strict: true,
  }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  process.exit(1);
}
const missing = (['email', 'password', 'role'] as const).filter((key) => values[key] === undefined);
if (missing.length > 0) {
  console.error(`missing ${missing.map((m) => `--${m}`).join(', ')}\n${usage}`);
  process.exit(1);
}

const config = getConfig();
const db = createDatabase(config.databaseUrl, { poolSize: 1 });
try {
  // The whole upgrade, as the server does it: run first on a database from an earlier version,
  // this leaves nothing for the server's start (called numbers hashed with the server secret).
  await upgradeDatabase(db, loadServerSecret(config.dataDir, config.secret));
  const result = await createUser(db, {
    email: values.email!,
    password: values.password!,
    role: values.role!,
    name: values.name,
  });
  if (!result.ok) {
    console.error(`user not created: ${result.message}`);
    process.exitCode = 1;
  } else {
    console.log(
      `created ${result.value.role} ${result.value.email} (${result.value.name}); sign in at ${config.siteUrl}/admin/login`,
    );
  }
} catch (error) {
  console.error(`user not created: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
