import type { APIRoute } from 'astro';
import { appContext } from '../lib/app/context.ts';
import { checkHealth } from '../lib/app/health.service.ts';

/** 200 `ok`, or 503 `degraded` when the database cannot be reached or a send worker cannot record what it sends. */
export const GET: APIRoute = async () => {
  const app = await appContext();
  const { ok, database, sending } = await checkHealth(app.db, app.config.sending.leaseMs);
  return Response.json(
    { status: ok ? 'ok' : 'degraded', database, sending },
    { status: ok ? 200 : 503, headers: { 'cache-control': 'no-store' } },
  );
};
