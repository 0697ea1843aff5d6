import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#lib/config.ts';
import { createAppContext, type AppContext } from '#lib/app/context.ts';
import { migrateToLatest } from '#lib/db/migrate.ts';
import { createIssue } from '#lib/issues/issues.service.ts';
import { getSendProgress, requestSend } from '#lib/sending/send.service.ts';
import { createSendWorker } from '#lib/sending/run-worker.ts';
import type { SendWorker } from '#lib/sending/worker.ts';
import { createTestDatabaseUrl, testDialects } from '../../helpers/databases.ts';
import { eventually, ledgerOf, seedSubscribers } from '../../helpers/sending.ts';
import { useTestShop } from '../../helpers/shop.ts';

/**
 * The worker starts a scheduled send with the same port the routes use, so freezing the issue
 * checks its own-site links against the site's pages: an article taken down between scheduling
 * and the send's time stops the send instead of mailing a dead link.
 */
for (const dialect of testDialects()) {
  describe(`the send worker freezes a scheduled issue with the own-site link check (${dialect})`, () => {
    const pages = new Set(['/articles/winter-checklist']);
    let app: AppContext;
    let drop: () => Promise<void>;
    let worker: SendWorker | undefined;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-worker-links-'));
      const created = await createTestDatabaseUrl(dialect, dir);
      drop = created.drop;
      app = createAppContext(
        loadConfig({
          NODE_ENV: 'test',
          DATABASE_URL: created.url,
          DATA_DIR: dir,
          SECRET: 'worker-links-secret-'.padEnd(40, 'x'),
          SEND_POLL_MS: '20',
        }),
        { sitePages: () => pages },
      );
      await migrateToLatest(app.db);
      await useTestShop(app.db);
    });

    afterAll(async () => {
      await worker?.stop();
      await app.close();
      await drop();
    });

    it('pauses the send saying which link is broken, and mails nobody', async () => {
      await seedSubscribers(app.db, 2);
      const issue = await createIssue(
        app.db,
        {
          subject: 'Winter',
          slug: 'winter',
          preheader: 'Get ready',
          body_markdown: 'Read [our winter checklist](/articles/winter-checklist/).',
          featured_articles: [],
        },
        { articles: new Map(), createdBy: null },
      );
      if (!issue.ok) throw new Error(issue.message);
      const scheduled = await requestSend(app.db, app.issueSending, {
        issueId: issue.value.id,
        audience: {},
        at: Date.now() + 1500,
      });
      expect(scheduled).toMatchObject({ ok: true }); // the page exists when the send is requested
      pages.delete('/articles/winter-checklist'); // the article is taken down before the send's time

      worker = createSendWorker(app);
      await worker.start();
      await eventually(
        async () => (await getSendProgress(app.db, issue.value.id)).send?.state !== 'scheduled',
        'the worker to start or stop the send',
      );

      const { send } = await getSendProgress(app.db, issue.value.id);
      expect(send).toMatchObject({
        state: 'paused',
        pausedReason: expect.stringContaining('a page this site does not have'),
      });
      expect(await ledgerOf(app.db, issue.value.id)).toEqual([]);
    });
  });
}
