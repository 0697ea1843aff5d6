import type { APIRoute } from 'astro';
import { appContext } from '../lib/app/context.ts';
import { pingDatabase, dialectOf } from '../lib/db/database.ts';
import { findCommitTroubles } from '../lib/sending/worker-health.ts';

/** 200 `ok`, or 503 `degraded` when the database cannot be reached or a send worker cannot record what it sends. */
export const GET: APIRoute = async () => {
  const app = await appContext();
  const now = Date.now();
  const reachable = await pingDatabase(app.db);
  const troubles = await findCommitTroubles(app.db, now, app.config.sending.leaseMs);
  const ok = reachable && troubles.length === 0;
  return Response.json(
    {
      status: ok ? 'ok' : 'degraded',
      database: { dialect: dialectOf(app.db), reachable },
      sending: {
        status: troubles.length === 0 ? 'ok' : 'cannot_record',
        workers: troubles.map((t) => ({ worker: t.workerId, failing_since: t.since, failed_attempts: t.attempts, last_error: t.lastError })),
      },
    },
    { status: ok ? 200 : 503, headers: { 'cache-control': 'no-store' } },
  );
};
