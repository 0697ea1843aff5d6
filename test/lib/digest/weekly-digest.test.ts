import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedReportData, SUBJECT_A, SUBJECT_B, type ReportSeed } from '../../helpers/reports.ts';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { eventually } from '../../helpers/sending.ts';
import { createMailer, type Mailer } from '#lib/mail/mailer.ts';
import { composeWeeklyDigest } from '#admin/weekly-digest.ts';
import { issueHeadline } from '#admin/issue-headline.ts';
import { issueReport } from '#lib/reports/issue-report.service.ts';
import { chooseWeeklyDigest, sendWeeklyDigests, type DigestDeps } from '#lib/digest/digest.service.ts';
import { digestWeekOf, dueDigestWeek } from '#lib/digest/digest-week.ts';
import { readDigestStopToken } from '#lib/digest/digest-links.ts';
import { createIssueSendingPort } from '#lib/issues/sending-port.ts';
import { weeklyDigestChore } from '#lib/sending/run-worker.ts';
import { SendWorker } from '#lib/sending/worker.ts';
import type { DB } from '#lib/db/database.ts';

const SITE = 'http://127.0.0.1:4321';
const SECRET = 'd'.repeat(43);
// Issue A goes out on Monday 7 December (four days before this), B in November.
const SEEDED_AT = Date.parse('2026-12-11T12:00:00Z');
// The digest of the week of 14 December is due on Monday at 08:00 in London (UTC in winter).
const DUE = Date.parse('2026-12-14T08:00:00Z');

async function addUser(db: DB, email: string, role: 'admin' | 'marketer' | 'writer'): Promise<number> {
  const row = await db
    .insertInto('users')
    .values({
      email,
      name: email.split('@')[0]!,
      role,
      status: 'active',
      password_hash: 'x',
      created_at: SEEDED_AT,
      updated_at: SEEDED_AT,
      last_login_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

it('the digest is due from Monday 08:00 in the site’s zone and covers the Monday-to-Sunday before', () => {
  expect(dueDigestWeek(DUE - 60_000, 'Europe/London')).toBeUndefined();
  expect(dueDigestWeek(DUE, 'Europe/London')).toEqual({
    week: '2026-12-14',
    dueAt: DUE,
    from: Date.parse('2026-12-07T00:00:00Z'),
    to: Date.parse('2026-12-14T00:00:00Z'),
  });
  // New York: 08:00 there is 13:00 UTC; on Sunday night there it is still the week before.
  expect(digestWeekOf(Date.parse('2026-12-14T03:00:00Z'), 'America/New_York').week).toBe('2026-12-07');
  expect(dueDigestWeek(Date.parse('2026-12-14T12:59:00Z'), 'America/New_York')).toBeUndefined();
  expect(dueDigestWeek(Date.parse('2026-12-14T13:00:00Z'), 'America/New_York')?.week).toBe('2026-12-14');
});

describeEachDatabase('weekly digest', (db, dialect) => {
  let sink: SmtpSink;
  let mailer: Mailer;
  let seed: ReportSeed;
  let mara: number;
  let max: number;
  let deps: DigestDeps;
  const logged: string[] = [];

  beforeAll(async () => {
    sink = await startSmtpSink();
    mailer = createMailer({ smtpUrl: sink.url, outboxDir: mkdtempSync(path.join(tmpdir(), 'footfall-digest-')) });
    seed = await seedReportData(db(), SITE, SEEDED_AT);
    mara = await addUser(db(), 'mara@frobozz.example', 'marketer');
    max = await addUser(db(), 'max@frobozz.example', 'marketer');
    deps = { db: db(), mailer, secret: SECRET, compose: composeWeeklyDigest, log: (line) => void logged.push(line) };
  });
  afterAll(async () => {
    await mailer?.close();
    await sink?.close();
  });

  it('off by default; a writer cannot have it; only the marketer who opted in gets it, once, with the figures her report leads with', async () => {
    const writer = await addUser(db(), 'wes@frobozz.example', 'writer');
    expect(await chooseWeeklyDigest(db(), writer, true)).toMatchObject({ ok: false, reason: 'not_allowed' });
    expect(await sendWeeklyDigests(deps, 'test-a', DUE)).toBe(0); // nobody asked
    expect(await chooseWeeklyDigest(db(), mara, true)).toEqual({ ok: true, on: true });
    expect(await sendWeeklyDigests(deps, 'test-a', DUE - 60_000)).toBe(0); // Monday 07:59
    expect(sink.messages).toHaveLength(0);

    expect(await sendWeeklyDigests(deps, 'test-a', DUE + 3_600_000)).toBe(1);
    const [mail] = await sink.waitFor(1);
    expect(sink.envelopes[0]!.rcptTo).toEqual(['mara@frobozz.example']);
    expect(mail!.subject).toBe('Frobozz Electric weekly digest: 1 issue last week');
    expect(mail!.text).toContain(SUBJECT_A);
    expect(mail!.text).not.toContain(SUBJECT_B);
    expect(mail!.html).toContain('Winter widgets &#38; &#60;batteries&#62;'); // escaped, never markup
    // The same tiles as the report page, from the same report.
    const report = (await issueReport(db(), seed.a.issueId, { now: DUE + 3_600_000 }))!;
    const { added, reach } = issueHeadline(report, DUE + 3_600_000);
    const text = mail!.text!.replace(/\s+/g, ' ');
    for (const tile of reach) expect(text).toContain(`${tile.figure} ${tile.label}`);
    for (const tile of added) expect(text).toContain(`${tile.figure} ${tile.label}`);
    expect(reach.map((t) => t.figure)).toEqual(['10', '60%', '30%']);
    expect(text).toContain(`${SITE}/admin/issues/${seed.a.issueId}/report`);
    const stop = /\/digest\/stop\/([\w.-]+)/.exec(String(mail!.html))![1]!;
    expect(readDigestStopToken(SECRET, stop)).toBe(mara);

    // A restart (the next check, the same week) sends nothing more.
    expect(await sendWeeklyDigests(deps, 'test-b', DUE + 2 * 3_600_000)).toBe(0);
    expect(sink.messages).toHaveLength(1);
  });

  it('two senders at the same moment: the claim lets one mail through', async () => {
    expect(await chooseWeeklyDigest(db(), max, true)).toEqual({ ok: true, on: true });
    const sent = await Promise.all([
      sendWeeklyDigests(deps, 'first', DUE + 4 * 3_600_000),
      sendWeeklyDigests(deps, 'second', DUE + 4 * 3_600_000),
    ]);
    expect(sent.sort()).toEqual([0, 1]);
    await sink.waitFor(2);
    expect(sink.envelopes.map((e) => e.rcptTo[0])).toEqual(['mara@frobozz.example', 'max@frobozz.example']);
    const rows = await db()
      .selectFrom('digest_sends')
      .select(['user_id', 'week', 'sent_at'])
      .orderBy('user_id')
      .execute();
    expect(rows.map((r) => [Number(r.user_id), r.week, r.sent_at !== null])).toEqual([
      [mara, '2026-12-14', true],
      [max, '2026-12-14', true],
    ]);
  });

  it('a relay that refuses: recorded, tried again after the retry wait, sent once', async () => {
    const refusing = await startSmtpSink({ respond: () => ({ code: 451, message: 'try later' }) });
    const down = createMailer({
      smtpUrl: refusing.url,
      outboxDir: mkdtempSync(path.join(tmpdir(), 'footfall-digest-')),
    });
    const nextWeek = DUE + 7 * 86_400_000;
    try {
      expect(await sendWeeklyDigests({ ...deps, mailer: down }, 'down', nextWeek)).toBe(0);
      const failed = await db()
        .selectFrom('digest_sends')
        .select(['failure'])
        .where('week', '=', '2026-12-21')
        .execute();
      expect(failed).toHaveLength(2);
      for (const row of failed) expect(row.failure).toMatch(/try later/);
      expect(await sendWeeklyDigests(deps, 'up', nextWeek + 60_000)).toBe(0); // within the retry wait
      expect(await sendWeeklyDigests(deps, 'up', nextWeek + 16 * 60_000)).toBe(2);
      await sink.waitFor(4);
      expect(await sendWeeklyDigests(deps, 'up', nextWeek + 40 * 60_000)).toBe(0);
    } finally {
      await down.close();
      await refusing.close();
    }
  });

  if (dialect === 'postgres') {
    it('two send workers (the scheduler that sends issues) on one database: one digest', async () => {
      await db().deleteFrom('digest_sends').execute();
      await db().updateTable('users').set({ weekly_digest: 0 }).where('id', '=', max).execute();
      const before = sink.messages.length;
      const runs = [0, 0];
      const workers = [0, 1].map((i) => {
        const chore = weeklyDigestChore(
          { db: db(), mailer, secret: SECRET, compose: composeWeeklyDigest },
          20,
          () => {},
        );
        return new SendWorker({
          db: db(),
          mailer,
          hooks: createIssueSendingPort({ secret: SECRET, knownPaths: async () => undefined }),
          concurrency: 1,
          leaseMs: 60_000,
          pollMs: 50,
          retryBaseMs: 1000,
          maxAttempts: 3,
          pauseAfterFailures: 20,
          clock: () => DUE + 3_600_000,
          log: () => {},
          chores: [
            {
              ...chore,
              run: async (now, id) => {
                await chore.run(now, id);
                runs[i]!++;
              },
            },
          ],
        });
      });
      await Promise.all(workers.map((w) => w.start()));
      try {
        await eventually(() => runs[0]! >= 3 && runs[1]! >= 3, 'both workers checked the digest three times');
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
      await sink.waitFor(before + 1);
      expect(sink.messages.length - before).toBe(1);
      expect(sink.envelopes.at(-1)!.rcptTo).toEqual(['mara@frobozz.example']);
      const claim = await db().selectFrom('digest_sends').select('claimed_by').executeTakeFirstOrThrow();
      expect(workers.map((w) => w.id)).toContain(claim.claimed_by);
    });
  }
});
