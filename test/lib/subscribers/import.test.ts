import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { createTestDatabaseUrl, describeEachDatabase } from '../../helpers/databases.ts';
import { createDatabase, type DB } from '#lib/db/database.ts';
import { migrateToLatest } from '#lib/db/migrate.ts';
import type { SubscriberStatus } from '#lib/db/schema.ts';
import { emailHash } from '#lib/subscribers/email-address.ts';
import {
  applyImport,
  IMPORT_CHUNK,
  inspectCsv,
  planImport,
  rejectedRowsCsv,
  type ColumnMapping,
  type ImportPlan,
} from '#lib/subscribers/import.service.ts';
import { findSubscriberByEmail, findSubscriberEvents, findTopics } from '#lib/subscribers/subscribers.repository.ts';
import { countRows } from '../../helpers/rows.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const t0 = Date.UTC(2026, 10, 26, 10);
const dir = mkdtempSync(path.join(tmpdir(), 'footfall-import-'));
const consent = {
  consentNote: 'Customers who ticked "newsletter" on the loyalty card form, 2024-2026',
  actor: 'user:1',
};
const comma: ColumnMapping = { delimiter: ',', email: 0, name: 1, topics: 2 };

/** A full garbage collection, to measure what the plan keeps alive. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function writeCsv(name: string, content: string | Buffer | Buffer[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, Array.isArray(content) ? Buffer.concat(content) : content);
  return file;
}

async function seed(
  db: DB,
  rows: { email: string; status: SubscriberStatus; topics?: string[] }[],
  suppressions: { email: string; reason: 'bounced' | 'erased' | 'complained' }[] = [],
) {
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const ids = await db
      .insertInto('subscribers')
      .values(
        chunk.map((r) => ({
          email: r.email,
          status: r.status,
          created_at: t0 - 86_400_000,
          updated_at: t0 - 86_400_000,
          source_form: 'home',
        })),
      )
      .returning(['id', 'email'])
      .execute();
    const topics = ids.flatMap((s) =>
      (chunk.find((r) => r.email === s.email)!.topics ?? []).map((topic) => ({ subscriber_id: Number(s.id), topic })),
    );
    if (topics.length > 0) await db.insertInto('subscriber_topics').values(topics).execute();
  }
  for (let i = 0; i < suppressions.length; i += 500) {
    await db
      .insertInto('suppressions')
      .values(
        suppressions
          .slice(i, i + 500)
          .map((s) => ({ email_hash: emailHash(s.email), reason: s.reason, at: t0 - 3_600_000 })),
      )
      .execute();
  }
}

async function statusesIn(db: DB, domain: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('subscribers')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('email', 'like', `%@${domain}`)
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function tableCounts(db: DB): Promise<{ subscribers: number; topics: number; events: number }> {
  return {
    subscribers: await countRows(db, 'subscribers'),
    topics: await countRows(db, 'subscriber_topics'),
    events: await countRows(db, 'subscriber_events'),
  };
}

/** A file of `n` good rows at `domain` (comma, header email,name,topics), for the interruption tests. */
function smallFile(name: string, domain: string, n: number): string {
  const lines = ['email,name,topics'];
  for (let i = 0; i < n; i++) lines.push(`p${i}@${domain},Person ${i},guides`);
  return writeCsv(name, lines.join('\n') + '\n');
}

/**
 * 100,000 data rows; one row in 50 (2%) is bad, cycling through seven kinds. Returns the
 * file, the database state to set up first, and the counts worked out while writing it.
 */
function generateBigFile() {
  const N = 100_000;
  const domain = 'big.example';
  const chunks: Buffer[] = [Buffer.from('Email Address,Name,Topics\n')];
  const existing: { email: string; status: SubscriberStatus; topics?: string[] }[] = [];
  const suppressions: { email: string; reason: 'bounced' | 'erased' | 'complained' }[] = [];
  const expected = {
    rows: N,
    add: 0,
    merge: 0,
    kept_unsubscribed: 0,
    suppressed: 0,
    duplicate_in_file: 0,
    rejected: 0,
    blank: 0,
  };
  const rejectedBy = { invalid_email: 0, not_utf8: 0, missing_columns: 0, header_injection: 0 };
  const rowOf: Record<string, number> = {};
  let vip = 0;
  const topicsFor = (i: number) => ['guides', 'offers store-news', ''][i % 3]!;
  const line = (text: string) => chunks.push(Buffer.from(text + '\n'));

  for (let i = 0; i < N; i++) {
    if (i % 50 === 25) {
      const kind = Math.floor(i / 50) % 7;
      if (kind === 0) {
        line(
          [`not-an-address-${i}`, `user${i}@`, `two@@ats${i}.example`, `spa ce${i}@${domain}`][i % 4]! +
            `,Bad ${i},guides`,
        );
        rejectedBy.invalid_email++;
      } else if (kind === 1) {
        // Latin-1 bytes: é as the single byte 0xE9, in the name or in the address.
        if (i % 2 === 0)
          chunks.push(Buffer.from(`latin${i}@${domain},Ren`), Buffer.from([0xe9]), Buffer.from('e,guides\n'));
        else chunks.push(Buffer.from(`ren`), Buffer.from([0xe9]), Buffer.from(`${i}@${domain},Renee,guides\n`));
        rejectedBy.not_utf8++;
      } else if (kind === 2) {
        line(`short${i}@${domain}` + (i % 2 === 0 ? '' : ',Only a name'));
        rejectedBy.missing_columns++;
      } else if (kind === 3) {
        line(`"  USER${i - 25}@BIG.EXAMPLE ",Someone Else,offers`);
        expected.duplicate_in_file++;
      } else if (kind === 4) {
        const email = `gone${i}@${domain}`;
        const status = (['unsubscribed', 'unsubscribed', 'bounced', 'complained'] as const)[i % 4]!;
        existing.push({ email, status, topics: ['store-news'] });
        line(`${email},Gone ${i},guides`);
        expected.kept_unsubscribed++;
      } else if (kind === 5) {
        const email = `blocked${i}@${domain}`;
        suppressions.push({ email, reason: i % 2 === 0 ? 'erased' : 'bounced' });
        // A bounced subscriber whose address is also suppressed: the suppression decides.
        if (i % 2 === 1) existing.push({ email, status: 'bounced' });
        line(`${email},Blocked ${i},guides`);
        expected.suppressed++;
      } else {
        line(`"a${i}@${domain}\r\nBcc: x@y.z",Injector,guides`);
        rejectedBy.header_injection++;
        rowOf.injection ??= i + 2;
      }
      continue;
    }
    const email = `user${i}@${domain}`;
    let topics = topicsFor(i);
    if (i % 1000 === 7) {
      topics = 'guides vip';
      vip++;
    }
    if (i % 50 === 10) {
      existing.push({ email, status: i % 100 === 10 ? 'active' : 'pending', topics: ['store-news'] });
      expected.merge++;
    } else expected.add++;
    line(`${email},Person ${i},${topics}`);
  }
  expected.rejected = Object.values(rejectedBy).reduce((a, b) => a + b, 0);
  return { file: writeCsv('big.csv', chunks), domain, existing, suppressions, expected, rejectedBy, vip, rowOf };
}

describeEachDatabase('subscriber CSV import', (db, dialect) => {
  it(
    'plans and applies 100,000 rows with 2% bad rows of every kind: exact counts, nothing reactivated, re-run merges',
    { timeout: 120_000 },
    async () => {
      const big = generateBigFile();
      await seed(db(), big.existing, big.suppressions);
      const before = await statusesIn(db(), big.domain);
      const keptBefore = await db()
        .selectFrom('subscribers')
        .select(['email', 'status', 'updated_at'])
        .where('email', 'like', 'gone%')
        .orderBy('email')
        .execute();

      collectGarbage();
      const heapBefore = process.memoryUsage().heapUsed;
      let started = performance.now();
      const plan = unwrap(await planImport(db(), big.file, comma, t0));
      const planMs = performance.now() - started;
      collectGarbage();
      const planHeap = process.memoryUsage().heapUsed - heapBefore;

      expect(plan.counts).toEqual(big.expected);
      expect(plan.rejectedBy).toEqual(big.rejectedBy);
      expect(plan.rejected).toHaveLength(big.expected.rejected);
      expect(plan.unknownTopics).toEqual({ vip: big.vip });
      expect(plan.writes.emails).toHaveLength(big.expected.add + big.expected.merge);
      const injection = plan.rejected.find((r) => r.code === 'header_injection')!;
      expect(injection).toMatchObject({
        row: big.rowOf.injection,
        email: `a${big.rowOf.injection! - 2}@big.example\r\nBcc: x@y.z`,
      });
      expect(injection.values).toEqual([
        `a${big.rowOf.injection! - 2}@big.example\r\nBcc: x@y.z`,
        'Injector',
        'guides',
      ]);
      const latin = plan.rejected.find((r) => r.code === 'not_utf8')!;
      expect(latin).toMatchObject({ row: 25 + 50 + 2, reason: expect.stringContaining('not UTF-8 text') });
      expect(plan.rejected.find((r) => r.code === 'missing_columns')).toMatchObject({
        row: 25 + 100 + 2,
        values: ['short125@big.example', 'Only a name'],
      });
      // The dry run wrote nothing.
      expect(await statusesIn(db(), big.domain)).toEqual(before);

      const progress: number[] = [];
      started = performance.now();
      const outcome = unwrap(
        await applyImport(db(), plan, consent, t0 + 1000, ({ done, total }) => void progress.push(done / total)),
      );
      const applyMs = performance.now() - started;
      const planJson = JSON.stringify(plan).length;
      console.log(
        `[${dialect}] 100,000-row import: plan ${Math.round(planMs)} ms, apply ${Math.round(applyMs)} ms ` +
          `(${outcome.added} added, ${outcome.merged} merged); plan ${(planHeap / 1e6).toFixed(1)} MB on the heap (${(planJson / 1e6).toFixed(1)} MB as JSON)`,
      );
      expect(outcome).toEqual({
        added: big.expected.add,
        merged: big.expected.merge,
        kept_unsubscribed: 0,
        suppressed: 0,
      });
      expect(progress.at(-1)).toBe(1);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress).toHaveLength(Math.ceil(plan.writes.emails.length / IMPORT_CHUNK));

      // The database: new people active, merged ones keep their status, the ones who left stay left.
      const after = await statusesIn(db(), big.domain);
      expect(after).toEqual({ ...before, active: (before.active ?? 0) + big.expected.add });
      expect(
        await db()
          .selectFrom('subscribers')
          .select(['email', 'status', 'updated_at'])
          .where('email', 'like', 'gone%')
          .orderBy('email')
          .execute(),
      ).toEqual(keptBefore);
      const blocked = await db()
        .selectFrom('subscribers')
        .select('status')
        .where('email', 'like', 'blocked%')
        .execute();
      expect(blocked.every((s) => s.status === 'bounced')).toBe(true);
      expect(blocked).toHaveLength(big.existing.filter((e) => e.email.startsWith('blocked')).length);

      const fresh = (await findSubscriberByEmail(db(), 'user1@big.example'))!;
      expect(fresh).toMatchObject({
        status: 'active',
        name: 'Person 1',
        source_form: 'import',
        consent_note: consent.consentNote,
        consent_at: t0 + 1000,
        confirmed_at: t0 + 1000,
      });
      expect(await findTopics(db(), fresh.id)).toEqual(['offers', 'store-news']);
      expect((await findSubscriberEvents(db(), fresh.id))[0]).toMatchObject({ kind: 'imported', at: t0 + 1000 });
      // Row 25+3*50 repeated user150 in capitals with "offers": merged into the first occurrence.
      const doubled = (await findSubscriberByEmail(db(), 'user150@big.example'))!;
      expect(doubled.name).toBe('Person 150');
      expect(await findTopics(db(), doubled.id)).toEqual(['guides', 'offers']);
      // An existing pending subscriber: topics unioned, still pending, nothing else changed.
      const pending = (await findSubscriberByEmail(db(), 'user60@big.example'))!;
      expect(pending).toMatchObject({ status: 'pending', name: null, consent_note: null, updated_at: t0 - 86_400_000 });
      expect(await findTopics(db(), pending.id)).toEqual(['guides', 'store-news']);
      expect((await findSubscriberEvents(db(), pending.id))[0]).toMatchObject({ kind: 'merged' });
      const events = await db()
        .selectFrom('subscriber_events')
        .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
        .where('at', '=', t0 + 1000)
        .groupBy('kind')
        .orderBy('kind')
        .execute();
      expect(events.map((e) => [e.kind, Number(e.n)])).toEqual([
        ['imported', big.expected.add],
        ['merged', big.expected.merge],
      ]);

      // The report of rejected rows.
      const report = parse(rejectedRowsCsv(plan));
      expect(report[0]).toEqual(['row', 'email', 'reason', 'raw']);
      expect(report).toHaveLength(big.expected.rejected + 1);
      expect(report.find((r) => r[0] === String(big.rowOf.injection))).toEqual([
        String(big.rowOf.injection),
        `a${big.rowOf.injection! - 2}@big.example\r\nBcc: x@y.z`,
        'line break inside the email address (header injection attempt)',
        `"a${big.rowOf.injection! - 2}@big.example\r\nBcc: x@y.z",Injector,guides`,
      ]);

      // The same file again: nothing new, everything that was added or merged merges.
      const again = unwrap(await planImport(db(), big.file, comma, t0 + 2000));
      expect(again.counts).toEqual({ ...big.expected, add: 0, merge: big.expected.add + big.expected.merge });
      const twice = unwrap(await applyImport(db(), again, consent, t0 + 3000));
      expect(twice).toEqual({
        added: 0,
        merged: big.expected.add + big.expected.merge,
        kept_unsubscribed: 0,
        suppressed: 0,
      });
      expect(await statusesIn(db(), big.domain)).toEqual(after);
    },
  );

  it('reads semicolons, a BOM, CRLF line endings and other header names', async () => {
    const file = writeCsv(
      'semicolon.csv',
      '\uFEFFE-mail;First name;Tags\r\n"Ann@Semi.example";"Ann, the elder";"guides;offers"\r\nbob@semi.example;Bob;store-news\r\n\r\ncy@semi.example;Cy;\r\n',
    );
    const preview = unwrap(await inspectCsv(file));
    expect(preview).toEqual({
      delimiter: ';',
      header: ['E-mail', 'First name', 'Tags'],
      rows: [
        ['Ann@Semi.example', 'Ann, the elder', 'guides;offers'],
        ['bob@semi.example', 'Bob', 'store-news'],
        ['cy@semi.example', 'Cy', ''],
      ],
      suggested: { delimiter: ';', email: 0, name: 1, topics: 2, phone: null },
    });
    const plan = unwrap(await planImport(db(), file, { ...preview.suggested, email: preview.suggested.email! }, t0));
    expect(plan.counts).toEqual({
      rows: 4,
      add: 3,
      merge: 0,
      kept_unsubscribed: 0,
      suppressed: 0,
      duplicate_in_file: 0,
      rejected: 0,
      blank: 1,
    });
    unwrap(await applyImport(db(), plan, consent, t0));
    const ann = (await findSubscriberByEmail(db(), 'ann@semi.example'))!;
    expect(ann.name).toBe('Ann, the elder');
    expect(await findTopics(db(), ann.id)).toEqual(['guides', 'offers']);
  });

  it('detects tabs and commas, finds the address column by its values, and reads a stream', async () => {
    const tab = unwrap(
      await inspectCsv(Readable.from([Buffer.from('Email Address\tName\tTopics\nx@tab.example\tSmith, Jo\tguides\n')])),
    );
    expect(tab).toMatchObject({ delimiter: '\t', suggested: { email: 0, name: 1, topics: 2 } });
    const contact = unwrap(
      await inspectCsv(
        writeCsv('contact.csv', 'Full name,Contact,Interests\nJo,jo@x.example,guides\nAl,al@x.example,\n'),
      ),
    );
    expect(contact).toMatchObject({ delimiter: ',', suggested: { email: 1, name: 0, topics: 2 } });
    const single = unwrap(await inspectCsv(writeCsv('single.csv', 'email\nsolo@x.example\nduo@x.example\n')));
    expect(single).toMatchObject({
      delimiter: ',',
      header: ['email'],
      suggested: { email: 0, name: null, topics: null },
    });
    expect(await inspectCsv(writeCsv('empty.csv', ''))).toEqual({ ok: false, error: 'The file is empty.' });
  });

  it('reports unknown topics, imports the known ones, and undoes an export’s formula guard', async () => {
    const file = writeCsv(
      'topics.csv',
      "email,name,topics\n'-dash@topics.example,'=Not a formula,GUIDES casino\nplain@topics.example,Plain,offers|casino|bingo __proto__ constructor\n",
    );
    const plan = unwrap(await planImport(db(), file, comma, t0));
    expect(plan.unknownTopics).toEqual(
      Object.fromEntries([
        ['casino', 2],
        ['bingo', 1],
        ['__proto__', 1],
        ['constructor', 1],
      ]),
    );
    expect(Object.getPrototypeOf(plan.unknownTopics)).toBe(Object.prototype);
    expect(plan.counts.add).toBe(2);
    unwrap(await applyImport(db(), plan, consent, t0));
    const dash = (await findSubscriberByEmail(db(), '-dash@topics.example'))!;
    expect(dash.name).toBe('=Not a formula');
    expect(await findTopics(db(), dash.id)).toEqual(['guides']);
  });

  it('numbers rows as a spreadsheet shows them: empty lines count, a quoted line break stays in its row', async () => {
    const file = writeCsv(
      'rows.csv',
      '\nemail,name,topics\n"ok@rows.example","Two\nlines",guides\nbad-address,X,\n,No address,\n',
    );
    const plan = unwrap(await planImport(db(), file, comma, t0));
    expect(plan.counts).toMatchObject({ rows: 3, add: 1, rejected: 2 });
    expect(plan.rejected.map((r) => [r.row, r.code, r.values])).toEqual([
      [4, 'invalid_email', ['bad-address', 'X', '']],
      [5, 'missing_email', ['', 'No address', '']],
    ]);
  });

  it('rows with more values than the header are imported from their mapped columns, with a warning naming them', async () => {
    const file = writeCsv(
      'extra.csv',
      'email,name\nplain@extra.example,Plain\nmore@extra.example,Bloggs, Jo\nalso@extra.example,Also,,x\nblank@extra.example,Blank,,\n',
    );
    const plan = unwrap(await planImport(db(), file, { delimiter: ',', email: 0, name: 1, topics: null }, t0));
    expect(plan.counts).toMatchObject({ rows: 4, add: 4, rejected: 0 });
    // Empty trailing values (a spreadsheet's habit) are no warning.
    expect(plan.extraColumns).toEqual({ rows: 2, examples: [3, 4] });
    expect(plan.writes.names).toEqual(['Plain', 'Bloggs', 'Also', 'Blank']);
  });

  it('refuses an empty consent note, a mapping outside the file and a quote that is never closed', async () => {
    const file = smallFile('refuse.csv', 'refuse.example', 3);
    const plan = unwrap(await planImport(db(), file, comma, t0));
    const before = await tableCounts(db());
    expect(await applyImport(db(), plan, { consentNote: '   ', actor: 'user:1' }, t0)).toMatchObject({
      ok: false,
      error: expect.stringContaining('consent note is required'),
    });
    expect(await tableCounts(db())).toEqual(before);
    expect(await planImport(db(), file, { ...comma, email: 7 }, t0)).toMatchObject({ ok: false });
    const broken = writeCsv(
      'unclosed.csv',
      'email,name\nok@unclosed.example,Ok\n"never@unclosed.example,Closed\nlost@unclosed.example,Lost\n',
    );
    // Placed on the line where the quote opened, not where the parser gave up (the end of the file).
    expect(await planImport(db(), broken, { delimiter: ',', email: 0, name: 1, topics: null }, t0)).toMatchObject({
      ok: false,
      error: expect.stringContaining('never closed in the row that starts on line 3,'),
    });
    const padded = writeCsv(
      'unclosed-late.csv',
      [
        'email,name',
        ...Array.from({ length: 11 }, (_, i) => `ok${i}@unclosed.example,Ok`),
        '"never@unclosed.example,Closed',
        ...Array.from({ length: 30 }, (_, i) => `after${i}@unclosed.example,After`),
      ].join('\n'),
    );
    const late = await planImport(db(), padded, { delimiter: ',', email: 0, name: 1, topics: null }, t0);
    expect(late).toMatchObject({ ok: false, error: expect.stringContaining('line 13,') });
    expect(late.ok ? '' : late.error).not.toContain('line 43');
    expect(await planImport(db(), path.join(dir, 'missing.csv'), comma, t0)).toMatchObject({ ok: false });
  });

  it('an error midway (the progress callback throws) leaves nothing written', async () => {
    const plan = unwrap(await planImport(db(), smallFile('throw.csv', 'throw.example', 3 * IMPORT_CHUNK), comma, t0));
    expect(plan.counts.add).toBe(3 * IMPORT_CHUNK);
    const before = await tableCounts(db());
    await expect(
      applyImport(db(), plan, consent, t0, ({ done }) => {
        if (done >= 2 * IMPORT_CHUNK) throw new Error('the admin closed the tab');
      }),
    ).rejects.toThrow('the admin closed the tab');
    expect(await tableCounts(db())).toEqual(before);
    expect(await statusesIn(db(), 'throw.example')).toEqual({});
  });

  it('a poisoned row late in the plan (a constraint violation) leaves nothing written', async () => {
    const plan: ImportPlan = unwrap(
      await planImport(db(), smallFile('poison.csv', 'poison.example', 3 * IMPORT_CHUNK), comma, t0),
    );
    // The last chunk gets one address twice: its multi-row insert violates UNIQUE(email).
    plan.writes.emails[3 * IMPORT_CHUNK - 1] = plan.writes.emails[3 * IMPORT_CHUNK - 2]!;
    const before = await tableCounts(db());
    const chunks: number[] = [];
    await expect(applyImport(db(), plan, consent, t0, ({ done }) => void chunks.push(done))).rejects.toThrow();
    expect(chunks).toEqual([IMPORT_CHUNK, 2 * IMPORT_CHUNK]);
    expect(await tableCounts(db())).toEqual(before);
  });

  it('a process killed (SIGKILL) in the middle of applying leaves nothing written', { timeout: 60_000 }, async () => {
    const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
    const own = createDatabase(created.url, { poolSize: 1 });
    try {
      await migrateToLatest(own);
      await seed(own, [{ email: 'earlier@kill.example', status: 'active' }]);
      const before = await tableCounts(own);
      const file = smallFile('kill.csv', 'kill.example', 5 * IMPORT_CHUNK);
      const script = writeCsv(
        'kill-child.ts',
        `import { createDatabase } from ${JSON.stringify(path.join(root, 'src/lib/db/database.ts'))};
import { applyImport, planImport } from ${JSON.stringify(path.join(root, 'src/lib/subscribers/import.service.ts'))};
const db = createDatabase(process.env.URL);
const plan = await planImport(db, process.env.FILE, { delimiter: ',', email: 0, name: 1, topics: 2 });
if (!plan.ok) throw new Error(plan.error);
await applyImport(db, plan.value, { consentNote: 'kill test', actor: 'test' }, Date.now(), ({ done }) => {
  if (done >= ${2 * IMPORT_CHUNK}) { process.stdout.write('killing at ' + done + '\\n'); process.kill(process.pid, 'SIGKILL'); }
});
process.stdout.write('finished\\n');
`,
      );
      const child = spawn(process.execPath, [script], {
        env: { ...process.env, URL: created.url, FILE: file },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, sig) => resolve(sig)),
      );
      expect(signal).toBe('SIGKILL');
      expect(out).toBe(`killing at ${2 * IMPORT_CHUNK}\n`);
      expect(await tableCounts(own)).toEqual(before);
      if (dialect === 'sqlite')
        expect(
          (await sql<{ integrity_check: string }>`pragma integrity_check`.execute(own)).rows[0]?.integrity_check,
        ).toBe('ok');
    } finally {
      await own.destroy();
      await created.drop();
    }
  });
});
