import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, startServers, type RunningServer } from '../helpers/server.ts';
import { addAccount, withDatabase } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { REPORT_TIME_ZONE, seedReportDatabase, SUBJECT_A } from '../helpers/reports.ts';
import { shiftedClockEnv } from '../helpers/shifted-clock.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { eventually } from '../helpers/sending.ts';
import { digestWeekOf } from '../../src/lib/digest/digest-week.ts';

const DAY = 86_400_000;

/**
 * The digest as the running server sends it: its send worker (the one scheduler) at Monday
 * 09:00 site time (the process's clock moved there), real SMTP to a sink. One marketer opted
 * in, one did not; a restart, or a second server on the same PostgreSQL, sends nothing more.
 */
for (const dialect of testDialects()) {
  describe(`weekly digest from the send worker [${dialect}]`, () => {
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    let url: string;
    let dir: string;
    let env: Record<string, string>;
    const servers: RunningServer[] = [];

    beforeAll(async () => {
      sink = await startSmtpSink();
      dir = mkdtempSync(path.join(tmpdir(), 'footfall-digest-worker-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      url = created.url;
      const port = await freePort();
      const seed = await seedReportDatabase(url, `http://127.0.0.1:${port}`);
      // Monday 09:00 of the week after issue A went out (its digest covers A's week).
      const mondayNine = digestWeekOf(seed.a.sentAt + 7 * DAY, REPORT_TIME_ZONE).dueAt + 3_600_000;
      env = {
        PORT: String(port),
        SMTP_URL: sink.url,
        MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
        SEND_WORKER: '1',
        DIGEST_CHECK_MS: '100',
        ...shiftedClockEnv(mondayNine - Date.now()),
      };
      const mara = await addAccount(url, 'mara@example.com', 'marketer');
      await addAccount(url, 'max@example.com', 'marketer');
      await withDatabase(url, (db) =>
        db.updateTable('users').set({ weekly_digest: 1 }).where('id', '=', mara).execute(),
      );
    }, 120_000);
    afterAll(async () => {
      for (const server of servers) await server.stop();
      await sink?.close();
      await drop?.();
    });

    const sentRows = () =>
      withDatabase(
        url,
        async (db) =>
          (await db.selectFrom('digest_sends').select(['user_id', 'sent_at']).execute()).filter(
            (r) => r.sent_at !== null,
          ).length,
      );

    it('the opted-in marketer gets one digest; the other marketer none', async () => {
      servers.push(await startServer({ dataDir: dir, databaseUrl: url, env }));
      const [mail] = await sink.waitFor(1, 20_000);
      expect(sink.envelopes.map((e) => e.rcptTo)).toEqual([['mara@example.com']]);
      expect(mail!.subject).toBe('Frobozz Electric weekly digest: 1 issue last week');
      expect(mail!.text).toContain(SUBJECT_A);
      await eventually(async () => (await sentRows()) === 1, 'the digest recorded as sent');
    });

    it(
      dialect === 'postgres'
        ? 'a restart and a second server on the same database send nothing more'
        : 'a restart sends nothing more',
      async () => {
        await servers.pop()!.stop();
        const port = await freePort();
        // On PostgreSQL a second worker, started side by side with the first.
        servers.push(
          ...(await startServers([
            { dataDir: dir, databaseUrl: url, env },
            ...(dialect === 'postgres'
              ? [
                  {
                    dataDir: mkdtempSync(path.join(tmpdir(), 'footfall-digest-second-')),
                    databaseUrl: url,
                    env: { ...env, PORT: String(port) },
                  },
                ]
              : []),
          ])),
        );
        // Each worker has checked the digest many times over (every 100 ms) once both say they run.
        await eventually(
          () => servers.every((s) => /\[send\] worker .* running/.test(s.output())),
          'the workers running',
          20_000,
        );
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(sink.messages).toHaveLength(1);
        expect(await sentRows()).toBe(1);
      },
    );
  });
}
