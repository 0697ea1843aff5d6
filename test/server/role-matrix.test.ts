import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, apiKeyFor, request, sessionCookie } from '../helpers/accounts.ts';
import {
  ADMIN_ACTIONS,
  ADMIN_ENDPOINTS,
  ADMIN_PAGES,
  API_ROUTES,
  PUBLIC_ADMIN_PAGES,
} from '../../src/web/admin-routes.ts';
import { can, ROLES, type Role } from '../../src/lib/auth/roles.ts';

/**
 * Every admin page, API route and action (from src/web/admin-routes.ts) requested as
 * anonymous, writer, marketer and admin. A route added to the registry is tested here with
 * no further change.
 */
describe('the role matrix', () => {
  let server: RunningServer;
  const userIds = {} as Record<Role, number>;
  const cookies = {} as Record<Role, string>;
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    server = await startServer();
    for (const role of ROLES) {
      userIds[role] = await addAccount(server.databaseUrl, `${role}@example.com`, role);
      cookies[role] = await sessionCookie(server.databaseUrl, userIds[role]);
      keys[role] = await apiKeyFor(server.databaseUrl, role);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  const pageTitle = (title: string) => `<h1 class="page-title">${title}</h1>`;

  describe.each(ADMIN_PAGES.map((page) => [page.sample ?? page.route, page] as const))('%s', (path, page) => {
    it('anonymous → redirect to the login page', async () => {
      const answer = await request(server, path);
      expect(answer.status).toBe(302);
      expect(answer.location).toMatch(/^\/admin\/login(\?next=|$)/);
      expect(answer.text).not.toContain(pageTitle(page.title));
    });

    it.each(ROLES)('%s → 200 when the role has the permission, the 403 page otherwise', async (role) => {
      const answer = await request(server, path, { cookie: cookies[role] });
      expect(answer.headers.get('cache-control')).toBe('no-store');
      if (can(role, page.permission)) {
        expect(answer.status).toBe(page.sampleStatus ?? 200);
        expect(answer.text).toContain(pageTitle(page.title));
        expect(answer.text).toMatch(
          new RegExp(`<title>${page.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} · Footfall admin</title>`),
        );
      } else {
        expect(answer.status).toBe(403);
        expect(answer.text).toContain('403');
        expect(answer.text).not.toContain(pageTitle(page.title));
      }
    });
  });

  it('public admin pages open without signing in', async () => {
    for (const path of PUBLIC_ADMIN_PAGES) {
      const answer = await request(server, path);
      if (path === '/admin/forbidden') expect(answer.status, path).toBe(302);
      else expect([200, 404, 410], path).toContain(answer.status);
      expect(answer.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  describe.each(API_ROUTES.map((route) => [`${route.method} ${route.sample ?? route.route}`, route] as const))(
    '%s',
    (_name, route) => {
      const path = route.sample ?? route.route;
      it('no key, a malformed key or an unknown key → 401 JSON', async () => {
        for (const authorization of [
          undefined,
          'Bearer',
          'Bearer nonsense',
          `Bearer ffk_${'a'.repeat(32)}`,
          `Basic ${keys.admin}`,
        ]) {
          const answer = await request(server, path, {
            method: route.method,
            headers: authorization ? { authorization } : {},
          });
          expect(answer.status, String(authorization)).toBe(401);
          expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
          expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
          expect(JSON.parse(answer.text)).toMatchObject({ error: 'unauthorized' });
        }
      });

      it.each(ROLES)('a %s key → 200 when the role has the permission, 403 JSON otherwise', async (role) => {
        const answer = await request(server, path, {
          method: route.method,
          headers: { authorization: `Bearer ${keys[role]}` },
        });
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
        if (can(role, route.permission)) {
          expect(answer.status).toBe(route.sampleStatus ?? 200);
        } else {
          expect(answer.status).toBe(403);
          expect(JSON.parse(answer.text)).toMatchObject({ error: 'forbidden' });
        }
      });

      it('a session cookie is not an API key', async () => {
        expect((await request(server, path, { method: route.method, cookie: cookies.admin })).status).toBe(401);
      });
    },
  );

  describe.each(
    ADMIN_ENDPOINTS.map((endpoint) => [`${endpoint.method} ${endpoint.sample ?? endpoint.route}`, endpoint] as const),
  )('endpoint %s', (_name, endpoint) => {
    const path = endpoint.sample ?? endpoint.route;
    // A POST as a same-origin browser form would send it, empty.
    const call = (cookie?: string) =>
      request(
        server,
        path,
        endpoint.method === 'GET'
          ? { cookie }
          : {
              method: 'POST',
              headers: { 'content-type': 'multipart/form-data; boundary=x', origin: server.url },
              body: '--x--\r\n',
              cookie,
            },
      );

    it('anonymous → redirect to the login page', async () => {
      const answer = await call();
      expect([302, 303]).toContain(answer.status);
      expect(answer.location).toMatch(/^\/admin\/login(\?next=|$)/);
    });

    it.each(ROLES)('%s → its answer when the role has the permission, 403 otherwise', async (role) => {
      const answer = await call(cookies[role]);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      if (can(role, endpoint.permission)) {
        expect(answer.status).toBe(endpoint.sampleStatus ?? 200);
        expect(answer.location ?? '').not.toMatch(/^\/admin\/login/);
      } else {
        expect(answer.status).toBe(403);
      }
    });
  });

  describe.each(Object.entries(ADMIN_ACTIONS))('action %s', (name, permission) => {
    // An empty form, as a same-origin browser would post it: past the gate, the action refuses the input (400) or runs (200).
    const call = (cookie?: string) =>
      request(server, `/_actions/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: '',
        cookie,
      });

    it('anonymous → 401', async () => {
      expect((await call()).status).toBe(401);
    });

    it.each(ROLES)('%s → 403 without the permission; past the gate otherwise', async (role) => {
      // A fresh session each time: some actions (logout) end the session they run in.
      const answer = await call(await sessionCookie(server.databaseUrl, userIds[role]));
      if (can(role, permission)) {
        expect([200, 400], answer.text).toContain(answer.status);
      } else {
        expect(answer.status).toBe(403);
      }
    });
  });

  it('encoded paths such as /%61dmin and /%2561dmin never show admin content', async () => {
    const variants = (path: string) => [
      path.replace('/admin', '/%61dmin'),
      path.replace('/admin', '/%2561dmin'),
      path.replace('/admin', '/%252561dmin'),
      path.replace('/admin', '/ad%6Din'),
      path.replace('/admin', '//admin'),
      path.replace('/admin', '/./admin'),
      path.replace('/admin', '/admin/.'),
      path.replace('/admin', '/ADMIN'),
      path.replace('/admin', '/admin%2f..%2fadmin'),
    ];
    for (const page of ADMIN_PAGES) {
      for (const path of variants(page.sample ?? page.route)) {
        const anonymous = await request(server, path);
        expect(anonymous.text, path).not.toContain(pageTitle(page.title));
        expect(anonymous.status, path).not.toBe(200);
        // Signed in, the page still asks for the role it needs.
        const writer = await request(server, path, { cookie: cookies.writer });
        if (!can('writer', page.permission)) expect(writer.text, path).not.toContain(pageTitle(page.title));
      }
    }
  });
});
