import type { APIRoute } from 'astro';
import { requireApi } from '../../web/guard.ts';

/** Which key is this? Any valid key: its name and role. */
export const GET: APIRoute = async (context) => {
  const principal = await requireApi(context, 'admin.enter');
  if (principal instanceof Response) return principal;
  return Response.json(
    { key: { id: principal.keyId, name: principal.name, role: principal.role } },
    { headers: { 'cache-control': 'no-store' } },
  );
};
