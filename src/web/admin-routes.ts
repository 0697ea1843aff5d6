import type { Permission } from '../lib/auth/roles.ts';

/**
 * The one list of what needs signing in, and who may use it. The admin navigation is drawn
 * from it, the middleware gates actions with it, and the role-matrix test
 * (test/server/role-matrix.test.ts) requests every entry as anonymous, writer, marketer and
 * admin. A new admin page, API route or action is one line here; the test fails for a file
 * under src/pages/admin or src/pages/api that is missing.
 *
 * Each page, route and action still checks its permission itself (requirePage,
 * requireApi, authorize): this list is not the gate, it is what the gates are tested against.
 */

export interface AdminPage {
  /** The route as Astro names it, e.g. "/admin/issues/[id]". */
  route: string;
  /** A path to request in tests when the route has parameters. */
  sample?: string;
  title: string;
  permission: Permission;
  /** Shown in the admin navigation, in this order. */
  nav?: boolean;
  /** The status the sample answers a role that may see it, when not 200 (e.g. 404 for a sample id that does not exist). */
  sampleStatus?: number;
}

export const ADMIN_PAGES: readonly AdminPage[] = [
  { route: '/admin', title: 'Dashboard', permission: 'admin.enter', nav: true },
  { route: '/admin/issues', title: 'Issues', permission: 'issues.view', nav: true },
  { route: '/admin/issues/new', title: 'New issue', permission: 'issues.draft' },
  {
    route: '/admin/issues/[id]',
    sample: '/admin/issues/999999',
    sampleStatus: 404,
    title: 'Edit issue',
    permission: 'issues.draft',
  },
  {
    route: '/admin/issues/[id]/preview',
    sample: '/admin/issues/999999/preview',
    sampleStatus: 404,
    title: 'Issue preview',
    permission: 'issues.view',
  },
  {
    route: '/admin/issues/[id]/send',
    sample: '/admin/issues/999999/send',
    sampleStatus: 404,
    title: 'Send issue',
    permission: 'issues.send',
  },
  {
    route: '/admin/issues/[id]/progress',
    sample: '/admin/issues/999999/progress',
    sampleStatus: 404,
    title: 'Sending progress',
    permission: 'issues.view',
  },
  {
    route: '/admin/issues/[id]/report',
    sample: '/admin/issues/999999/report',
    sampleStatus: 404,
    title: 'Issue report',
    permission: 'reports.view',
  },
  {
    route: '/admin/issues/[id]/people',
    sample: '/admin/issues/999999/people?figure=opened',
    sampleStatus: 404,
    title: 'The people behind a figure',
    permission: 'subscribers.manage',
  },
  { route: '/admin/reports', title: 'Reports', permission: 'reports.view', nav: true },
  { route: '/admin/subscribers', title: 'Subscribers', permission: 'subscribers.manage', nav: true },
  {
    route: '/admin/subscribers/[id]',
    sample: '/admin/subscribers/999999',
    sampleStatus: 404,
    title: 'Subscriber',
    permission: 'subscribers.manage',
  },
  { route: '/admin/subscribers/import', title: 'Import subscribers', permission: 'subscribers.manage' },
  {
    route: '/admin/subscribers/import/[job]',
    sample: `/admin/subscribers/import/${'0'.repeat(32)}`,
    sampleStatus: 404,
    title: 'Import',
    permission: 'subscribers.manage',
  },
  { route: '/admin/outbox', title: 'Outbox', permission: 'outbox.view', nav: true },
  {
    route: '/admin/outbox/[file]',
    sample: '/admin/outbox/20261126T000000.000Z-0000000000000000.eml',
    sampleStatus: 404,
    title: 'Outbox message',
    permission: 'outbox.view',
  },
  { route: '/admin/articles', title: 'Articles', permission: 'articles.view', nav: true },
  { route: '/admin/offline-events', title: 'Offline events', permission: 'offline-events.manage', nav: true },
  { route: '/admin/offline-events/import', title: 'Import offline events', permission: 'offline-events.manage' },
  { route: '/admin/tally', title: 'Tally', permission: 'tally.record', nav: true },
  { route: '/admin/settings', title: 'Settings', permission: 'settings.manage', nav: true },
  { route: '/admin/users', title: 'Users', permission: 'users.manage', nav: true },
  { route: '/admin/api-keys', title: 'API keys', permission: 'api-keys.manage' },
  { route: '/admin/account', title: 'Your account', permission: 'admin.enter' },
  { route: '/admin/digest', title: 'Weekly digest preview', permission: 'reports.view' },
];

/**
 * Admin routes that answer with something other than a page (a CSV download, an upload, a
 * message's raw HTML): the same gate as a page (requirePage: the login redirect, or 403).
 */
export interface AdminEndpoint {
  method: 'GET' | 'POST';
  route: string;
  sample?: string;
  permission: Permission;
  /** The status the sample answers a role that may use it, when not 200. */
  sampleStatus?: number;
}

export const ADMIN_ENDPOINTS: readonly AdminEndpoint[] = [
  { method: 'GET', route: '/admin/subscribers/export.csv', permission: 'subscribers.manage' },
  { method: 'GET', route: '/admin/reports/issues.csv', permission: 'reports.view' },
  {
    method: 'GET',
    route: '/admin/issues/[id]/people.csv',
    sample: '/admin/issues/999999/people.csv?figure=opened',
    sampleStatus: 404,
    permission: 'subscribers.manage',
  },
  { method: 'POST', route: '/admin/subscribers/import/upload', permission: 'subscribers.manage', sampleStatus: 303 },
  {
    method: 'GET',
    route: '/admin/subscribers/import/[job]/rejected.csv',
    sample: `/admin/subscribers/import/${'0'.repeat(32)}/rejected.csv`,
    sampleStatus: 404,
    permission: 'subscribers.manage',
  },
  {
    method: 'GET',
    route: '/admin/outbox/[file]/html',
    sample: '/admin/outbox/20261126T000000.000Z-0000000000000000.eml/html',
    sampleStatus: 404,
    permission: 'outbox.view',
  },
  // The tally page's script (JSON; a request that is not JSON gets 415, and without a session a JSON one gets 401 rather than the login page).
  { method: 'POST', route: '/admin/tally/taps', permission: 'tally.record', sampleStatus: 415 },
  { method: 'GET', route: '/admin/offline-events/rejected', permission: 'offline-events.manage', sampleStatus: 404 },
];

/** Admin pages anyone may open: signing in, the one-time links, and the 403 page itself. */
export const PUBLIC_ADMIN_PAGES: readonly string[] = [
  '/admin/login',
  '/admin/setup',
  '/admin/invite',
  '/admin/forgot',
  '/admin/reset',
  '/admin/forbidden',
];

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  route: string;
  sample?: string;
  permission: Permission;
  /** The status the sample (sent without a body) answers a key that may use it, when not 200. */
  sampleStatus?: number;
}

/** `/api/` routes: an API key (`Authorization: Bearer …`) whose role has the permission. */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'GET', route: '/api/me', permission: 'admin.enter' },
  { method: 'GET', route: '/api/settings', permission: 'settings.manage' },
  { method: 'GET', route: '/api/users', permission: 'users.manage' },
  {
    method: 'GET',
    route: '/api/issues/[id]',
    sample: '/api/issues/999999',
    sampleStatus: 404,
    permission: 'issues.view',
  },
  {
    method: 'GET',
    route: '/api/issues/[id]/preview',
    sample: '/api/issues/999999/preview',
    sampleStatus: 404,
    permission: 'issues.view',
  },
  {
    method: 'POST',
    route: '/api/issues/[id]/send',
    sample: '/api/issues/999999/send',
    sampleStatus: 400,
    permission: 'issues.send',
  },
  {
    method: 'DELETE',
    route: '/api/issues/[id]/send',
    sample: '/api/issues/999999/send',
    sampleStatus: 404,
    permission: 'issues.send',
  },
  {
    method: 'POST',
    route: '/api/issues/[id]/experiment',
    sample: '/api/issues/999999/experiment',
    sampleStatus: 400,
    permission: 'issues.send',
  },
  {
    method: 'GET',
    route: '/api/issues/[id]/progress',
    sample: '/api/issues/999999/progress',
    sampleStatus: 404,
    permission: 'issues.view',
  },
  {
    method: 'GET',
    route: '/api/issues/[id]/report',
    sample: '/api/issues/999999/report',
    sampleStatus: 404,
    permission: 'reports.view',
  },
  { method: 'GET', route: '/api/reports/issues', permission: 'reports.view' },
  { method: 'POST', route: '/api/issues', sampleStatus: 400, permission: 'issues.draft' },
  {
    method: 'POST',
    route: '/api/issues/[id]/test',
    sample: '/api/issues/999999/test',
    sampleStatus: 400,
    permission: 'issues.send',
  },
  {
    method: 'GET',
    route: '/api/subscribers',
    sample: '/api/subscribers?email=nobody@example.com',
    sampleStatus: 404,
    permission: 'subscribers.manage',
  },
  { method: 'POST', route: '/api/subscribers', sampleStatus: 400, permission: 'subscribers.manage' },
  {
    method: 'DELETE',
    route: '/api/subscribers/[id]',
    sample: '/api/subscribers/999999',
    sampleStatus: 404,
    permission: 'subscribers.manage',
  },
];

/** `/api/` routes that need no key: webhooks that check a shared secret of their own. */
export const PUBLIC_API_ROUTES: readonly string[] = ['/api/webhooks/calls', '/api/webhooks/bounces'];

/** Actions (src/actions) that need a signed-in user, by name as Astro calls them. */
export const ADMIN_ACTIONS: Readonly<Record<string, Permission>> = {
  'accounts.logout': 'admin.enter',
  'accounts.changePassword': 'admin.enter',
  'digest.choose': 'reports.view',
  'users.invite': 'users.manage',
  'users.resendInvite': 'users.manage',
  'users.changeRole': 'users.manage',
  'users.deactivate': 'users.manage',
  'users.reactivate': 'users.manage',
  'settings.save': 'settings.manage',
  'apiKeys.create': 'api-keys.manage',
  'apiKeys.revoke': 'api-keys.manage',
  'issues.create': 'issues.draft',
  'issues.update': 'issues.draft',
  'issues.renderPreview': 'issues.draft',
  'issues.sendTest': 'issues.send',
  'sending.send': 'issues.send',
  'sending.pause': 'issues.send',
  'sending.resume': 'issues.send',
  'sending.cancel': 'issues.send',
  'sending.pickWinner': 'issues.send',
  'sending.stopExperiment': 'issues.send',
  'subscribersAdmin.add': 'subscribers.manage',
  'subscribersAdmin.update': 'subscribers.manage',
  'subscribersAdmin.unsubscribe': 'subscribers.manage',
  'subscribersAdmin.erase': 'subscribers.manage',
  'subscribersAdmin.planImport': 'subscribers.manage',
  'subscribersAdmin.startImport': 'subscribers.manage',
  'tally.tap': 'tally.record',
  'tally.undo': 'tally.record',
  'offlineEvents.add': 'offline-events.manage',
  'offlineEvents.remove': 'offline-events.manage',
  'offlineEvents.restore': 'offline-events.manage',
  'offlineEvents.upload': 'offline-events.manage',
  'offlineEvents.import': 'offline-events.manage',
};

export function adminActionPermission(name: string): Permission | undefined {
  return Object.hasOwn(ADMIN_ACTIONS, name) ? ADMIN_ACTIONS[name] : undefined;
}
