import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { insertUser } from '#lib/auth/users.repository.ts';
import { countOfflineEvents } from '#lib/offline/offline-events.repository.ts';
import {
  applyOfflineImport,
  inspectOfflineCsv,
  offlineRejectedRowsCsv,
  parseKind,
  planOfflineImport,
  type OfflineColumnMapping,
} from '#lib/offline/offline-import.service.ts';
import { mappingFromFields, mappingToFields, suggestedFields } from '#lib/offline/import-mapping.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'footfall-offline-import-'));
const tz = 'Europe/London';
const now = Date.UTC(2026, 10, 26, 18);

function file(name: string, content: string): string {
  const full = path.join(dir, name);
  writeFileSync(full, content);
  return full;
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

const LOG = [
  'When;Type;Comment;Issue;Mentioned',
  '2026-11-26 09:12;call;asked about the W-40;autumn-widgets;yes',
  '2026-11-26T10:40:00Z;Walk-in;;;',
  '2026-11-26 10:40;walk in;;;no',
  '2026-11-26 10:40;walk in;;;no', // identical: a second person, imported too
  '',
  '26/11/2026 11:00;call;;;',
  '2026-03-29 01:30;call;the hour that never was;;',
  '2026-11-26 12:00;fax;;;',
  '2026-11-26 12:05;call;;Autumn Widgets!;',
  '2026-11-26 12:10;call;;;maybe',
  '2026-12-25 09:00;call;from the future;;',
  '2026-11-26 12:15;call',
  '2026-10-25 01:30;call;the hour that happened twice;;',
  '"=HYPERLINK(""http://evil"")";call;;;',
  '2026-11-26 12:20;call;;spring-sale;',
].join('\n');

describeEachDatabase('offline events CSV import', (db) => {
  let autumn: number;

  it('inspects: delimiter, header, first rows, suggested columns', async () => {
    const issue = await db()
      .insertInto('issues')
      .values({
        slug: 'autumn-widgets',
        subject: 'Autumn widgets',
        preheader: '',
        body_markdown: '',
        featured_articles: '[]',
        status: 'sent',
        created_by: null,
        created_at: now,
        updated_at: now,
        sent_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    autumn = Number(issue.id);
    const preview = unwrap(await inspectOfflineCsv(file('log.csv', LOG), tz));
    expect(preview.delimiter).toBe(';');
    expect(preview.header).toEqual(['When', 'Type', 'Comment', 'Issue', 'Mentioned']);
    expect(preview.rows).toHaveLength(10);
    expect(preview.suggested).toEqual({ time: 0, kind: 1, note: 2, issue: 3, mentioned: 4 });
    const fields = suggestedFields(preview);
    expect(mappingFromFields(fields)).toEqual({ delimiter: ';', time: 0, kind: 1, note: 2, issue: 3, mentioned: 4 });
    expect(mappingToFields(mappingFromFields(fields)!)).toEqual(fields);
    // No telling header: the time column is the one whose values read as times; no kind column → every row a call.
    const bare = unwrap(await inspectOfflineCsv(file('bare.csv', 'a,b\nx,2026-11-01 10:00\ny,2026-11-02 11:00\n'), tz));
    expect(bare.suggested).toMatchObject({ time: 1, kind: null });
    expect(suggestedFields(bare).kind).toBe('all:call');
  });

  it('the dry run counts exactly and gives every rejected row its reason; it writes nothing', async () => {
    const mapping: OfflineColumnMapping = { delimiter: ';', time: 0, kind: 1, note: 2, issue: 3, mentioned: 4 };
    const plan = unwrap(await planOfflineImport(db(), file('log.csv', LOG), mapping, { timeZone: tz }, now));
    expect(plan.counts).toEqual({
      rows: 15,
      import: 5,
      call: 2,
      walk_in: 3,
      identical_in_file: 2,
      with_issue: 1,
      rejected: 9,
      blank: 1,
    });
    expect(plan.rejectedBy).toEqual({
      bad_time: 3,
      unknown_kind: 1,
      bad_issue: 1,
      bad_mentioned: 1,
      future_time: 1,
      missing_columns: 1,
      unknown_issue: 1,
    });
    expect(plan.rejected.map((r) => [r.row, r.code])).toEqual([
      [7, 'bad_time'],
      [8, 'bad_time'],
      [9, 'unknown_kind'],
      [10, 'bad_issue'],
      [11, 'bad_mentioned'],
      [12, 'future_time'],
      [13, 'missing_columns'],
      [15, 'bad_time'],
      [16, 'unknown_issue'],
    ]);
    expect(plan.rejected.find((r) => r.row === 8)!.reason).toMatch(/did not happen in Europe\/London/);
    expect(plan.rejected.find((r) => r.row === 9)!.reason).toBe('unknown kind "fax" (use "call" or "walk-in")');
    expect(plan.rejected.find((r) => r.row === 16)!.reason).toBe('unknown issue slug "spring-sale" (no issue has it)');
    const writes = plan.writes.map((w) => [w.kind, w.at, w.note, w.issue_id, w.mentioned_newsletter]);
    expect(writes).toEqual([
      ['call', Date.UTC(2026, 10, 26, 9, 12), 'asked about the W-40', autumn, 1],
      ['walk_in', Date.UTC(2026, 10, 26, 10, 40), null, null, null],
      ['walk_in', Date.UTC(2026, 10, 26, 10, 40), null, null, 0],
      ['walk_in', Date.UTC(2026, 10, 26, 10, 40), null, null, 0],
      // 01:30 on the night the clocks go back happened twice: the first one (BST).
      ['call', Date.UTC(2026, 9, 25, 0, 30), 'the hour that happened twice', null, null],
    ]);
    expect(new Set(plan.writes.map((w) => w.client_id)).size).toBe(5);
    expect(await db().selectFrom('offline_events').select('id').execute()).toEqual([]);

    // The report: row, reason, the row as read (formula-escaped for spreadsheets).
    const report = parse<{ row: string; reason: string; raw: string }>(offlineRejectedRowsCsv(plan), { columns: true });
    expect(report).toHaveLength(9);
    expect(report[0]).toEqual({
      row: '7',
      reason: expect.stringMatching(/^bad time: not a time: "26\/11\/2026 11:00"/),
      raw: '26/11/2026 11:00;call;;;',
    });
    const formula = report.find((r) => r.row === '15')!;
    expect(formula.raw.startsWith("'=") || formula.raw.startsWith('"=')).toBe(true);
  });

  it('applies in one transaction; importing the same file (or an overlapping export) again adds nothing twice', async () => {
    const userId = await insertUser(db(), {
      email: 'mara@example.com',
      name: 'Mara',
      role: 'marketer',
      status: 'active',
      password_hash: null,
      created_at: now,
      updated_at: now,
      last_login_at: null,
    });
    const mapping: OfflineColumnMapping = { delimiter: ';', time: 0, kind: 1, note: 2, issue: 3, mentioned: 4 };
    const plan = unwrap(await planOfflineImport(db(), file('log.csv', LOG), mapping, { timeZone: tz }, now));
    expect(await applyOfflineImport(db(), plan, { userId }, now)).toEqual({ imported: 5, skipped: 0 });
    const day = { from: Date.UTC(2026, 10, 26), to: Date.UTC(2026, 10, 27) };
    expect(await countOfflineEvents(db(), { kind: 'walk_in', ...day })).toBe(3);
    expect(await countOfflineEvents(db(), { kind: 'call', ...day })).toBe(1);
    const stored = await db()
      .selectFrom('offline_events')
      .selectAll()
      .where('issue_id', '=', autumn)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      source: 'csv',
      recorded_at: now,
      recorded_by: userId,
      note: 'asked about the W-40',
      mentioned_newsletter: 1,
    });
    expect(await countOfflineEvents(db(), { kind: 'call', ...day, issueId: autumn })).toBe(1);

    // The same plan applied twice (two tabs): nothing doubles.
    expect(await applyOfflineImport(db(), plan, { userId }, now)).toEqual({ imported: 0, skipped: 5 });

    // An overlapping export: the three walk-ins of 10:40 again, a fourth one and a later call.
    const overlap = [
      'When;Type;Comment;Issue;Mentioned',
      ...Array.from({ length: 4 }, () => '2026-11-26 10:40;walk in;;;no'),
      '2026-11-26 16:00;call;;;',
    ].join('\n');
    const again = unwrap(await planOfflineImport(db(), file('overlap.csv', overlap), mapping, { timeZone: tz }, now));
    expect(again.counts).toMatchObject({ import: 2, rejected: 3 });
    expect(again.rejectedBy).toEqual({ already_imported: 3 });
    expect(again.rejected[0]!.reason).toMatch(/^already imported/);
    expect(await applyOfflineImport(db(), again, { userId }, now)).toEqual({ imported: 2, skipped: 0 });
    expect(await countOfflineEvents(db(), { kind: 'walk_in', ...day })).toBe(4);
  });

  it('one kind for every row, comma files, tab files, file-level errors', async () => {
    const calls = unwrap(
      await planOfflineImport(
        db(),
        file('calls.csv', 'started,number\n2026-11-20 09:00,+44…\n2026-11-20 09:30,\n'),
        { delimiter: ',', time: 0, kind: 'call', note: null, issue: null, mentioned: null },
        { timeZone: 'UTC' },
        now,
      ),
    );
    expect(calls.counts).toMatchObject({ import: 2, call: 2, walk_in: 0 });
    const tabs = unwrap(await inspectOfflineCsv(file('tabs.tsv', 'time\tkind\n2026-11-20 09:00\tcall\n'), tz));
    expect(tabs.delimiter).toBe('\t');
    expect(
      await planOfflineImport(
        db(),
        file('empty.csv', ''),
        { delimiter: ',', time: 0, kind: 'call', note: null, issue: null, mentioned: null },
        { timeZone: tz },
        now,
      ),
    ).toEqual({ ok: false, error: 'The file is empty.' });
    expect(
      await planOfflineImport(
        db(),
        file('narrow.csv', 'time\n2026-11-20 09:00\n'),
        { delimiter: ',', time: 3, kind: 'call', note: null, issue: null, mentioned: null },
        { timeZone: tz },
        now,
      ),
    ).toEqual({
      ok: false,
      error: 'Choose the column that holds the time.',
    });
    const unclosed = await planOfflineImport(
      db(),
      file('quote.csv', `time,note\n2026-11-20 09:00,"never closed\n${'x,'.repeat(40_000)}`),
      { delimiter: ',', time: 0, kind: 'call', note: 1, issue: null, mentioned: null },
      { timeZone: tz },
      now,
    );
    expect(unclosed.ok).toBe(false);
    if (!unclosed.ok) expect(unclosed.error).toMatch(/never closed/);
  });

  it('lists rejected rows in file order (an unknown issue is found later, in a batch), reads rows with extra values as a warning, and places an unclosed quote where it opened', async () => {
    const mapping: OfflineColumnMapping = { delimiter: ',', time: 0, kind: 1, note: 2, issue: 3, mentioned: null };
    const csv = [
      'time,kind,note,issue',
      '2026-11-20 09:00,call,,no-such-issue',
      '2026-11-20 09:05,fax,,',
      '2026-11-20 09:10,call,came in,,asked about springs',
      '2026-11-20 09:15,walk-in,,',
      'tomorrow,call,,',
    ].join('\n');
    const plan = unwrap(await planOfflineImport(db(), file('order.csv', csv), mapping, { timeZone: tz }, now));
    expect(plan.rejected.map((r) => [r.row, r.code])).toEqual([
      [2, 'unknown_issue'],
      [3, 'unknown_kind'],
      [6, 'bad_time'],
    ]);
    // Row 4 has a value past the last column: imported from its mapped columns, the extra value ignored and said so.
    expect(plan.extraColumns).toEqual({ rows: 1, examples: [4] });
    expect(plan.counts).toMatchObject({ import: 2, rejected: 3 });
    expect(plan.writes.map((w) => w.note)).toEqual(['came in', null]);

    const broken = [
      'time,kind,note',
      '2026-11-20 09:00,call,fine',
      '2026-11-20 09:05,call,"fine, quoted"',
      '',
      '2026-11-20 09:10,call,"never closed',
      '2026-11-20 09:15,call,after',
      '2026-11-20 09:20,call,after',
    ].join('\n');
    const refused = await planOfflineImport(
      db(),
      file('unclosed.csv', broken),
      { ...mapping, issue: null },
      { timeZone: tz },
      now,
    );
    expect(refused).toEqual({
      ok: false,
      error: expect.stringContaining('never closed in the row that starts on line 5,'),
    });
  });

  it('kinds in the words people use', () => {
    for (const word of ['call', 'CALL', 'Phone call', 'phone-call', 'telephone', 'calls'])
      expect(parseKind(word), word).toBe('call');
    for (const word of ['walk-in', 'Walk in', 'WALKIN', 'walk_in', 'visit', 'in-store'])
      expect(parseKind(word), word).toBe('walk_in');
    for (const word of ['', 'fax', 'email', 'c']) expect(parseKind(word), word).toBeUndefined();
  });
});
