import type { APIRoute } from 'astro';
import { appContext } from '../lib/app/context.ts';
import { pingDatabase, dialectOf } from '../lib/db/database.ts';

export const GET: APIRoute = async () => {
  const app = await appContext();
  const reachable = await pingDatabase(app.db);
  return Response.json(
    { status: reachable ? 'ok' : 'degraded', database: { dialect: dialectOf(app.db), reachable } },
    { status: reachable ? 200 : 503, headers: { 'cache-control': 'no-store' } },
  );
};
