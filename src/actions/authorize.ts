import { ActionError, type ActionAPIContext } from 'astro:actions';
import { checkAccess } from '../web/guard.ts';
import { FAILURE_STATUS, type Failure } from '../lib/outcome.ts';
import type { Permission } from '../lib/auth/roles.ts';
import type { AuthUser } from '../lib/auth/session.service.ts';

/**
 * The first line of every action that needs a signed-in user:
 *   const user = authorize(context, 'subscribers.manage');
 * Throws UNAUTHORIZED (401) without a session, FORBIDDEN (403) when the role lacks the
 * permission. Also list the action in src/web/admin-routes.ts (ADMIN_ACTIONS).
 */
export function authorize(context: Pick<ActionAPIContext, 'locals'>, permission: Permission): AuthUser {
  const user = context.locals.user;
  const access = checkAccess(user, permission);
  if (access === 'unauthenticated') throw new ActionError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  if (access === 'forbidden') throw new ActionError({ code: 'FORBIDDEN', message: 'Your role does not allow this.' });
  return user!;
}

/** A service's refusal as an action error with the matching status; a throttle also sets Retry-After. */
export function failureToActionError(failure: Failure, context?: Pick<ActionAPIContext, 'locals'>): ActionError {
  if (failure.retryAfterSeconds && context) context.locals.retryAfterSeconds = failure.retryAfterSeconds;
  return new ActionError({ code: ActionError.statusToCode(FAILURE_STATUS[failure.reason]), message: failure.message });
}
