import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_ACTIONS,
  ADMIN_ENDPOINTS,
  ADMIN_PAGES,
  API_ROUTES,
  PUBLIC_ADMIN_PAGES,
  PUBLIC_API_ROUTES,
} from '../../../src/web/admin-routes.ts';
import { can, PERMISSIONS, ROLES } from '#lib/auth/roles.ts';
import { projectRoot } from '../../helpers/server.ts';

/** "src/pages/admin/issues/[id].astro" → "/admin/issues/[id]". */
function routesUnder(dir: string): string[] {
  const base = path.join(projectRoot, 'src/pages');
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(astro|ts|js|md)$/.test(entry.name) && !entry.name.startsWith('_')) {
        const route =
          '/' +
          path
            .relative(base, full)
            .replace(/\.(astro|ts|js|md)$/, '')
            .replace(/(^|\/)index$/, '');
        found.push(route.replace(/\/$/, ''));
      }
    }
  };
  walk(path.join(base, dir));
  return found.sort();
}

describe('the admin route registry', () => {
  it('lists every page under src/pages/admin (a new page must join the role matrix)', () => {
    const registered = new Set([
      ...ADMIN_PAGES.map((p) => p.route),
      ...ADMIN_ENDPOINTS.map((e) => e.route),
      ...PUBLIC_ADMIN_PAGES,
    ]);
    for (const route of routesUnder('admin'))
      expect(registered.has(route), `${route} is missing from src/web/admin-routes.ts`).toBe(true);
  });

  it('lists every route under src/pages/api', () => {
    const registered = new Set([...API_ROUTES.map((r) => r.route), ...PUBLIC_API_ROUTES]);
    for (const route of routesUnder('api'))
      expect(registered.has(route), `${route} is missing from src/web/admin-routes.ts`).toBe(true);
  });

  it('has routes with parameters carry a sample path', () => {
    for (const entry of [...ADMIN_PAGES, ...ADMIN_ENDPOINTS, ...API_ROUTES])
      if (entry.route.includes('[')) expect(entry.sample, entry.route).toMatch(/^\/(admin|api)\//);
  });

  it('the role model: admin may do everything; writers never send; only admins manage users, settings and keys', () => {
    for (const permission of Object.keys(PERMISSIONS) as (keyof typeof PERMISSIONS)[])
      expect(can('admin', permission)).toBe(true);
    expect(can('writer', 'issues.send')).toBe(false);
    expect(can('writer', 'issues.draft')).toBe(true);
    expect(can('marketer', 'issues.send')).toBe(true);
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      for (const permission of ['users.manage', 'settings.manage', 'api-keys.manage'] as const)
        expect(can(role, permission)).toBe(false);
    }
    for (const permission of Object.values(ADMIN_ACTIONS)) expect(Object.keys(PERMISSIONS)).toContain(permission);
    for (const role of ROLES) expect(can(role, 'tally.record')).toBe(true);
  });
});
