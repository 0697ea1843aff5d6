// npm run bench:send — messages per second from Footfall's send worker (`npm run worker`:
// claims, re-checks, personalises, pooled SMTP, group-committed ledger) into a local
// smtp-server sink, as a ratio against plain pooled nodemailer sending one pre-rendered
// message to the same number of recipients through the same sink with the same pool size,
// measured in the same run. Sender on core 0, sink on core 1, three interleaved runs, median.
// Also: the sending process's peak RSS, and the time to freeze an audience of 100,000.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../helpers/server.ts';
import { createTestDatabaseUrl } from '../helpers/databases.ts';
import { createDraftIssue, seedSubscribers } from '../helpers/sending.ts';
import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { createIssueSendingPort } from '../../src/lib/issues/sending-port.ts';
import { requestSend } from '../../src/lib/sending/send.service.ts';
import { validateOutgoingMail } from '../../src/lib/mail/message.ts';
import { conditions, median } from './run-load.ts';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 20_000);
const FREEZE_AUDIENCE = Number(process.env.BENCH_FREEZE ?? 100_000);
const POOL = Number(process.env.BENCH_POOL ?? 5);
const RUNS = 3;
const TARGET = 0.8;
const SECRET = 'bench-secret-bench-secret-bench-secret-0123';
// The shop's sender, as an operator sets it (a fresh install has none and sends nothing); the worker inherits it.
process.env.MAIL_FROM ??= 'Frobozz Electric <newsletter@localhost>';

const dir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-send-'));
const databaseUrl = `sqlite:${path.join(dir, 'footfall.db')}`;
const hooks = createIssueSendingPort({ secret: SECRET, knownPaths: async () => undefined });

/** The sink on core 1; `count()` is what it has received so far. */
async function startSink(): Promise<{ url: string; child: ChildProcess; count: () => number }> {
  const child = spawn(
    'taskset',
    ['-c', '1', process.execPath, path.join(projectRoot, 'test/bench/smtp-sink-process.ts')],
    { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let received = 0;
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of String(d).matchAll(/received (\d+)/g)) received = Math.max(received, Number(m[1]));
      const listening = /listening on (smtp:\/\/\S+)/.exec(out);
      if (listening) resolve(listening[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the sink exited with ${code}: ${out}`)));
  });
  return { url, child, count: () => received };
}

function peakRss(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

async function startWorker(smtpUrl: string): Promise<ChildProcess> {
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    DATA_DIR: dir,
    DATABASE_URL: databaseUrl,
    SECRET,
    SMTP_URL: smtpUrl,
    SMTP_POOL_SIZE: String(POOL),
    SEND_POLL_MS: '20',
  };
  const child = spawn('taskset', ['-c', '0', process.execPath, path.join(projectRoot, 'scripts/worker.ts')], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/\[worker\] .* running/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
  return child;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Raw nodemailer: one process on core 0 sending the pre-rendered message to RECIPIENTS addresses. */
async function rawRun(
  sink: { url: string; count: () => number },
  messageFile: string,
): Promise<{ rate: number; peakRss: number }> {
  const before = sink.count();
  const child = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      path.join(projectRoot, 'test/bench/raw-send.ts'),
      sink.url,
      String(RECIPIENTS),
      String(POOL),
      messageFile,
    ],
    {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(out) as { elapsedMs: number; peakRss: number };
  await until(() => sink.count() >= before + RECIPIENTS - (RECIPIENTS % 500), 10_000, 'the sink to count the raw run');
  return { rate: RECIPIENTS / (result.elapsedMs / 1000), peakRss: result.peakRss };
}

/** Footfall: a new issue to the RECIPIENTS subscribers, sent now; from the audience frozen to the last message at the sink. */
async function footfallRun(db: DB, sink: { count: () => number }): Promise<number> {
  const before = sink.count();
  const issueId = await createDraftIssue(db, 'Widget news for the benchmark');
  const sent = await requestSend(db, hooks, { issueId, audience: {} });
  if (!sent.ok || sent.value.recipients !== RECIPIENTS) throw new Error(`send not started: ${JSON.stringify(sent)}`);
  const started = performance.now();
  await until(() => sink.count() >= before + RECIPIENTS - (RECIPIENTS % 500), 300_000, 'the Footfall run to arrive');
  const elapsed = performance.now() - started;
  return RECIPIENTS / (elapsed / 1000);
}

async function freezeTime(url: string): Promise<{ ms: number; rows: number }> {
  const db = createDatabase(url);
  try {
    await migrateToLatest(db);
    await seedSubscribers(db, FREEZE_AUDIENCE, { email: (i) => `freeze${i}@example.com`, chunk: 1000 });
    const issueId = await createDraftIssue(db, 'Freeze timing');
    const started = performance.now();
    const result = await requestSend(db, hooks, { issueId, audience: {} });
    const ms = performance.now() - started;
    if (!result.ok) throw new Error(result.message);
    return { ms, rows: result.value.recipients };
  } finally {
    await db.destroy();
  }
}

const db = createDatabase(databaseUrl);
await migrateToLatest(db);
await seedSubscribers(db, RECIPIENTS, { email: (i) => `reader${i}@example.com`, chunk: 1000 });

// The pre-rendered message of the baseline: exactly what Footfall composes for one recipient.
const sampleIssue = await createDraftIssue(db, 'Widget news for the benchmark');
const frozen = await hooks.prepareIssue(db, sampleIssue, Date.now());
if (!frozen.ok) throw new Error(frozen.message);
const composer = await hooks.composerFor(db, sampleIssue);
const sample = validateOutgoingMail(
  await composer({ deliveryId: 1, issueId: sampleIssue, subscriberId: 1, email: 'reader0@example.com', name: null }),
);
const messageFile = path.join(dir, 'message.json');
writeFileSync(
  messageFile,
  JSON.stringify({
    from: `${sample.from.name ?? ''} <${sample.from.address}>`,
    subject: sample.subject,
    html: sample.html,
    text: sample.text,
    headers: sample.headers,
  }),
);

const sink = await startSink();
const worker = await startWorker(sink.url);
const rawRates: number[] = [];
const footfallRates: number[] = [];
let rawPeak = 0;
let workerPeak: number;
try {
  // warm-up, not measured
  await footfallRun(db, sink);
  await rawRun(sink, messageFile);
  for (let i = 0; i < RUNS; i++) {
    const raw = await rawRun(sink, messageFile);
    rawRates.push(raw.rate);
    rawPeak = Math.max(rawPeak, raw.peakRss);
    footfallRates.push(await footfallRun(db, sink));
  }
  workerPeak = peakRss(worker.pid!);
} finally {
  worker.kill('SIGTERM');
  sink.child.kill('SIGTERM');
  await db.destroy();
}

const freezeSqlite = await freezeTime(`sqlite:${path.join(dir, 'freeze.db')}`);
let freezePg: { ms: number; rows: number } | undefined;
if (process.env.TEST_DATABASE_URL) {
  const pg = await createTestDatabaseUrl('postgres', dir);
  try {
    freezePg = await freezeTime(pg.url);
  } finally {
    await pg.drop();
  }
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
const ratio = median(footfallRates) / median(rawRates);
console.log(
  `conditions: ${conditions()}; sender pinned to core 0, smtp-server sink to core 1; pool of ${POOL} connections, no rate limit; ${RECIPIENTS.toLocaleString('en')} recipients × ${RUNS} interleaved runs, median; SQLite (WAL, synchronous=NORMAL)`,
);
console.log(
  `message: ${Buffer.byteLength(sample.html)} B HTML + ${Buffer.byteLength(sample.text)} B text, personalised per recipient by Footfall, pre-rendered once for the baseline`,
);
console.log(
  `raw nodemailer msg/s: ${rawRates.map(Math.round).join(', ')} (median ${Math.round(median(rawRates))}); peak RSS ${mb(rawPeak)}`,
);
console.log(
  `footfall worker msg/s: ${footfallRates.map(Math.round).join(', ')} (median ${Math.round(median(footfallRates))}); peak RSS of the sending process ${mb(workerPeak)}`,
);
console.log(
  `freeze an audience of ${freezeSqlite.rows.toLocaleString('en')}: SQLite ${Math.round(freezeSqlite.ms)} ms${freezePg ? `, PostgreSQL ${Math.round(freezePg.ms)} ms` : ' (PostgreSQL: set TEST_DATABASE_URL)'}`,
);
console.log(`send ratio: ${ratio.toFixed(2)} (target >= ${TARGET})`);
process.exit(ratio >= TARGET ? 0 : 1);
