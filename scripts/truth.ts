// npm run truth -- <corpus.json> [--database postgres://user@host/db] [--servers 2] [--restart-mid-sweep] [--report-only] [--keep]
// Replays a labelled corpus of real agents' hits against a fresh instance (see scripts/truth/replay.ts)
// and prints the class accuracy, the confusion tables, the cases it got wrong and the marketer's
// figures as the admin shows them against the truth. Exit 1 below the targets (≥ 97 % of recorded
// hits in the right class, each figure within 5 %), unless --report-only; 2 when it cannot run.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CorpusError, parseCorpus } from './truth/corpus.ts';
import { runTruth } from './truth/replay.ts';
import { formatReport, meetsTargets } from './truth/score.ts';

const usage =
  'usage: npm run truth -- <corpus.json> [--database postgres://…] [--servers 2] [--restart-mid-sweep] [--report-only] [--keep]';
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      database: { type: 'string' },
      servers: { type: 'string' },
      'restart-mid-sweep': { type: 'boolean' },
      'report-only': { type: 'boolean' },
      keep: { type: 'boolean' },
    },
  });
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  process.exit(2);
}
const [file] = parsed.positionals;
if (!file || parsed.positionals.length > 1) {
  console.error(usage);
  process.exit(2);
}
const database = parsed.values.database;
if (database !== undefined && !/^postgres(ql)?:\/\//.test(database)) {
  console.error(
    `--database must be a postgres://… URL (SQLite is the default), got ${JSON.stringify(database)}\n${usage}`,
  );
  process.exit(2);
}

const servers = parsed.values.servers === undefined ? 1 : Number(parsed.values.servers);
if (servers !== 1 && servers !== 2) {
  console.error(`--servers must be 1 or 2, got ${JSON.stringify(parsed.values.servers)}\n${usage}`);
  process.exit(2);
}
if (servers === 2 && !database) {
  console.error(`--servers 2 runs two server processes on one database: give --database postgres://…\n${usage}`);
  process.exit(2);
}

let corpus;
try {
  corpus = parseCorpus(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(
    error instanceof CorpusError
      ? `the corpus ${file} is not usable: ${error.message}`
      : `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(2);
}

const started = Date.now();
try {
  const result = await runTruth(corpus, {
    ...(database ? { database } : {}),
    servers,
    restartMidSweep: parsed.values['restart-mid-sweep'] ?? false,
    keep: parsed.values.keep ?? false,
    log: (line) => console.error(`[truth] ${line}`),
  });
  const topology = servers === 2 ? ', two server processes behind a round-robin proxy' : '';
  const restart = result.stats.restarts > 0 ? ', the server killed and restarted in the middle of a sweep' : '';
  const conditions = `${result.cases} cases, ${result.events} hits from ${file}; ${result.database === 'postgres' ? 'PostgreSQL' : 'SQLite'}${topology}${restart}; Node ${process.version}; ${((Date.now() - started) / 1000).toFixed(1)} s`;
  console.log(formatReport(result.score, result.figures, conditions));
  const met = meetsTargets(result.score, result.figures);
  console.log(met ? '\nTargets met.' : '\nTargets NOT met.');
  process.exit(met || parsed.values['report-only'] ? 0 : 1);
} catch (error) {
  console.error(`the replay failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
