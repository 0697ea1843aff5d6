import type { APIRoute } from 'astro';
import { appContext } from '../../lib/app/context.ts';
import { requireApi } from '../../web/guard.ts';
import { listUsers } from '../../lib/auth/users.service.ts';

/** The admin's users, without password hashes (admin keys only). */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'users.manage');
  if (principal instanceof Response) return principal;
  const app = await appContext();
  const users = (await listUsers(app.db)).map(({ id, email, name, role, status, created_at, last_login_at }) => ({
    id,
    email,
    name,
    role,
    status,
    createdAt: created_at,
    lastLoginAt: last_login_at,
  }));
  return Response.json({ users }, { headers: { 'cache-control': 'no-store' } });
};
