// npm run demo [-- --fresh] [--no-serve] [--subscribers N --weeks N --issues N]
// Footfall on a demo database (DATA_DIR/demo.db) holding weeks of Frobozz Electric history,
// made through the project's own services; then the server on it. The real database is never touched.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/lib/config.ts';
import { readDemoScale } from '../src/demo/scale.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';

keepNewFilesPrivate();

const usage = 'usage: npm run demo [-- --fresh] [--no-serve] [--subscribers 5000] [--weeks 12] [--issues 8]';

function fail(message: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(1);
}

let values: { fresh?: boolean; 'no-serve'?: boolean; subscribers?: string; weeks?: string; issues?: string } = {};
try {
  ({ values } = parseArgs({
    options: {
      fresh: { type: 'boolean' },
      'no-serve': { type: 'boolean' },
      subscribers: { type: 'string' },
      weeks: { type: 'string' },
      issues: { type: 'string' },
    },
    strict: true,
  }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const scale = readDemoScale(values);
if (!scale.ok) fail(scale.message);
let dataDir: string;
try {
  dataDir = loadConfig(process.env).dataDir;
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}

// Loaded only now: a mistyped flag is answered at once.
const { demoEnvironment, demoPlace, prepareDemo, removeDemo } = await import('../src/demo/demo-database.ts');
const place = demoPlace(dataDir);
if (process.env.DATABASE_URL)
  console.log(`[demo] DATABASE_URL is ignored: the demo has its own database, ${place.database}`);
if (process.env.SMTP_URL) console.log('[demo] SMTP_URL is ignored: the demo keeps every email in its outbox');
// The server started below reads its configuration from the environment.
for (const [key, value] of Object.entries(demoEnvironment({}, place))) {
  if (value === undefined) Reflect.deleteProperty(process.env, key);
  else process.env[key] = value;
}

if (values.fresh) removeDemo(place);
const began = Date.now();
const ready = await prepareDemo(place, process.env, scale.scale, Date.now(), (line) => console.log(`[demo] ${line}`));
if (ready.made) {
  const { summary } = ready;
  console.log(
    `[demo] made ${place.database} in ${((Date.now() - began) / 1000).toFixed(1)} s: ${summary.issues.length} issues sent, ${(summary.counts.imported + summary.counts.confirmed).toLocaleString('en')} subscribers confirmed`,
  );
} else {
  console.log(`[demo] reusing ${place.database} (npm run demo -- --fresh makes it again)`);
}

const config = loadConfig(process.env);
const width = Math.max(...ready.logins.map((l) => l.email.length));
console.log(`
  Footfall demo: sign in at ${config.siteUrl}/admin/login
${ready.logins.map((l) => `    ${l.role.padEnd(9)} ${l.email.padEnd(width)}  ${l.password}`).join('\n')}
  (new passwords at every start; the demo's mail goes to ${place.dataDir}/outbox)
`);

if (!values['no-serve']) await import('../src/server.ts');
