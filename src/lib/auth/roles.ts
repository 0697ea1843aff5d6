import type { UserRole } from '../db/schema.ts';

export type Role = UserRole;

export const ROLES: readonly Role[] = ['admin', 'marketer', 'writer'];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'Admin — everything, including users and settings',
  marketer: 'Marketer — subscribers, issues (compose and send), reports, offline events',
  writer: 'Writer — article statistics, issue drafts (never sending)',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

const everyone = ['admin', 'marketer', 'writer'] as const;

/**
 * What each role may do. Pages, actions and API routes ask for a permission, never for a
 * role, so a role's reach is read (and changed) here in one place.
 */
export const PERMISSIONS = {
  /** Signed in at all: the dashboard, one's own account. */
  'admin.enter': everyone,
  'issues.view': everyone,
  'issues.draft': everyone,
  'issues.send': ['admin', 'marketer'],
  /** The issue reports, the comparison and the site dashboard's figures. */
  'reports.view': ['admin', 'marketer'],
  'subscribers.manage': ['admin', 'marketer'],
  /** The mail outbox (DATA_DIR/outbox): subscriber mail; account mail only with users.manage. */
  'outbox.view': ['admin', 'marketer'],
  'offline-events.manage': ['admin', 'marketer'],
  /** The tally page: whoever answers the phone or the door taps it, whatever their role. */
  'tally.record': everyone,
  /** Per-article views and newsletter share. */
  'articles.view': everyone,
  'settings.manage': ['admin'],
  'users.manage': ['admin'],
  'api-keys.manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}
