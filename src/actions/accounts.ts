import { ActionError, defineAction, type ActionAPIContext } from 'astro:actions';
import { z } from 'zod';
import { appContext } from '../lib/app/context.ts';
import { accountMail, accountMailDelayMs } from '../lib/auth/account-mail.ts';
import { createApiKey, revokeApiKey } from '../lib/auth/api-keys.service.ts';
import { safeNextPath } from '../web/guard.ts';
import { emailField, nameField, newPasswordField, passwordField, roleField } from '../lib/auth/inputs.ts';
import { invalidateSession } from '../lib/auth/session.service.ts';
import { deleteSessionCookie, setSessionCookie } from '../web/session-cookie.ts';
import {
  acceptInvite,
  changePassword,
  changeUserRole,
  completeSetup,
  deactivateUser,
  inviteUser,
  reactivateUser,
  requestPasswordReset,
  resendInvite,
  resetPassword,
  signIn,
  type SignedIn,
  type SignInDeps,
} from '../lib/auth/users.service.ts';
import { RESET_REQUESTS_PER_ADDRESS, RESET_REQUESTS_PER_EMAIL } from '../lib/security/rate-limit.ts';
import { saveSettings, settingsSchema } from '../lib/settings/settings.service.ts';
import { authorize, failureToActionError } from './authorize.ts';

/**
 * Accounts, users, settings and API keys. Every handler that needs a user starts with
 * authorize(context, permission); the middleware refuses them earlier too (ADMIN_ACTIONS).
 */

/** Long enough for any real value, short enough that nothing huge is hashed or stored. */
const bounded = (max: number) => z.string().max(max, `That is too long (at most ${max} characters).`);
const token = z.string().regex(/^[a-z2-7]{32}$/, 'This link is not valid. Use the whole link from the email.');
const id = z.coerce.number().int().positive();

/** Starts `task` a random moment after the answer has gone out (behind the server entry; under `astro dev`, after the handler). */
function runAfterResponse(context: ActionAPIContext, task: () => Promise<void>): void {
  const later = () => void setTimeout(() => void task(), accountMailDelayMs());
  if (context.locals.afterResponse) context.locals.afterResponse(later);
  else later();
}

function clientAddress(context: ActionAPIContext): string {
  return context.locals.clientAddress ?? context.clientAddress;
}

async function startSession(context: ActionAPIContext, signedIn: SignedIn): Promise<void> {
  const app = await appContext();
  setSessionCookie(context.cookies, signedIn.token, signedIn.session.expiresAt, app.config.siteUrl);
  context.locals.user = signedIn.user;
  context.locals.session = signedIn.session;
}

/**
 * The sign-in throttle over the shared database, and the lock-out mail to the account holder,
 * sent after the answer (so its time says nothing about the account).
 */
async function signInDeps(context: ActionAPIContext): Promise<SignInDeps> {
  const app = await appContext();
  return {
    db: app.db,
    throttle: app.loginThrottle,
    onLockedOut: (user, lock) =>
      runAfterResponse(context, async () => {
        try {
          await accountMail(app).sendSignInAttempts?.(user.email, {
            name: user.name,
            attempts: lock.attempts,
            until: lock.until,
            accountUrl: `${app.config.siteUrl}/admin/account`,
          });
        } catch (error) {
          console.error(
            `[accounts] the sign-in attempts mail to user ${user.id} failed:`,
            error instanceof Error ? error.message : error,
          );
        }
      }),
  };
}

async function mailDeps() {
  const app = await appContext();
  return { db: app.db, siteUrl: app.config.siteUrl, mail: accountMail(app) };
}

export const accounts = {
  accounts: {
    login: defineAction({
      accept: 'form',
      input: z.object({ email: emailField, password: passwordField, next: bounded(500).optional() }),
      handler: async (input, context) => {
        const result = await signIn(await signInDeps(context), { ...input, address: clientAddress(context) });
        if (!result.ok) throw failureToActionError(result, context);
        await startSession(context, result.value);
        return { next: safeNextPath(input.next) };
      },
    }),

    logout: defineAction({
      accept: 'form',
      handler: async (_input, context) => {
        authorize(context, 'admin.enter');
        const app = await appContext();
        await invalidateSession(app.db, context.locals.session!.id);
        deleteSessionCookie(context.cookies);
        context.locals.user = undefined;
        context.locals.session = undefined;
        return { signedOut: true };
      },
    }),

    setup: defineAction({
      accept: 'form',
      input: z.object({ token, email: emailField, name: nameField, password: newPasswordField }),
      handler: async (input, context) => {
        const app = await appContext();
        const result = await completeSetup(app.db, input);
        if (!result.ok) throw failureToActionError(result, context);
        await startSession(context, result.value);
        return { name: result.value.user.name };
      },
    }),

    acceptInvite: defineAction({
      accept: 'form',
      input: z.object({ token, name: nameField, password: newPasswordField }),
      handler: async (input, context) => {
        const app = await appContext();
        const result = await acceptInvite(app.db, input);
        if (!result.ok) throw failureToActionError(result, context);
        await startSession(context, result.value);
        return { name: result.value.user.name };
      },
    }),

    requestReset: defineAction({
      accept: 'form',
      input: z.object({ email: emailField }),
      handler: async (input, context) => {
        const app = await appContext();
        const limit = await app.rateLimits.hit(RESET_REQUESTS_PER_ADDRESS, clientAddress(context));
        if (!limit.allowed) {
          context.locals.retryAfterSeconds = limit.retryAfterSeconds;
          throw new ActionError({
            code: 'TOO_MANY_REQUESTS',
            message: 'Too many reset requests from your network. Try again later.',
          });
        }
        // Three mails an hour per address at most; past that the answer is the same, and nothing is sent.
        // Answer first, look up and mail after: whether the address has an account never shows in the time taken.
        if ((await app.rateLimits.hit(RESET_REQUESTS_PER_EMAIL, input.email)).allowed) {
          runAfterResponse(context, async () => {
            try {
              await requestPasswordReset(await mailDeps(), input.email);
            } catch (error) {
              console.error('[accounts] password reset mail failed:', error instanceof Error ? error.message : error);
            }
          });
        }
        return { email: input.email };
      },
    }),

    resetPassword: defineAction({
      accept: 'form',
      input: z.object({ token, password: newPasswordField }),
      handler: async (input, context) => {
        const app = await appContext();
        const result = await resetPassword(app.db, input);
        if (!result.ok) throw failureToActionError(result, context);
        await startSession(context, result.value);
        return { name: result.value.user.name };
      },
    }),

    changePassword: defineAction({
      accept: 'form',
      input: z.object({ currentPassword: bounded(1000), newPassword: newPasswordField }),
      handler: async (input, context) => {
        const user = authorize(context, 'admin.enter');
        const result = await changePassword(await signInDeps(context), {
          userId: user.id,
          sessionId: context.locals.session!.id,
          currentPassword: input.currentPassword,
          newPassword: input.newPassword,
          address: clientAddress(context),
        });
        if (!result.ok) throw failureToActionError(result, context);
        return result.value;
      },
    }),
  },

  users: {
    invite: defineAction({
      accept: 'form',
      input: z.object({ email: emailField, name: nameField, role: roleField }),
      handler: async (input, context) => {
        const actor = authorize(context, 'users.manage');
        const result = await inviteUser(await mailDeps(), { ...input, invitedBy: actor });
        if (!result.ok) throw failureToActionError(result, context);
        return { email: result.value.user.email, acceptUrl: result.value.acceptUrl, mailed: result.value.mailed };
      },
    }),

    resendInvite: defineAction({
      accept: 'form',
      input: z.object({ userId: id }),
      handler: async (input, context) => {
        const actor = authorize(context, 'users.manage');
        const result = await resendInvite(await mailDeps(), { userId: input.userId, invitedBy: actor });
        if (!result.ok) throw failureToActionError(result, context);
        return { email: result.value.user.email, acceptUrl: result.value.acceptUrl, mailed: result.value.mailed };
      },
    }),

    changeRole: defineAction({
      accept: 'form',
      input: z.object({ userId: id, role: roleField }),
      handler: async (input, context) => {
        const actor = authorize(context, 'users.manage');
        const app = await appContext();
        const result = await changeUserRole(app.db, { ...input, actor });
        if (!result.ok) throw failureToActionError(result, context);
        return { email: result.value.email, role: result.value.role };
      },
    }),

    deactivate: defineAction({
      accept: 'form',
      input: z.object({ userId: id }),
      handler: async (input, context) => {
        const actor = authorize(context, 'users.manage');
        const app = await appContext();
        const result = await deactivateUser(app.db, { userId: input.userId, actor });
        if (!result.ok) throw failureToActionError(result, context);
        return { email: result.value.email };
      },
    }),

    reactivate: defineAction({
      accept: 'form',
      input: z.object({ userId: id }),
      handler: async (input, context) => {
        authorize(context, 'users.manage');
        const app = await appContext();
        const result = await reactivateUser(app.db, { userId: input.userId });
        if (!result.ok) throw failureToActionError(result, context);
        return { email: result.value.email };
      },
    }),
  },

  settings: {
    save: defineAction({
      accept: 'form',
      input: settingsSchema,
      handler: async (input, context) => {
        const user = authorize(context, 'settings.manage');
        const app = await appContext();
        const result = await saveSettings(app.db, input, user.id);
        if (!result.ok) throw new ActionError({ code: 'BAD_REQUEST', message: Object.values(result.errors).join(' ') });
        return { saved: true };
      },
    }),
  },

  apiKeys: {
    create: defineAction({
      accept: 'form',
      input: z.object({ name: nameField, role: roleField }),
      handler: async (input, context) => {
        const user = authorize(context, 'api-keys.manage');
        const app = await appContext();
        const result = await createApiKey(app.db, { ...input, createdBy: user.id });
        if (!result.ok) throw failureToActionError(result, context);
        return { key: result.value.key, name: result.value.apiKey.name, role: result.value.apiKey.role };
      },
    }),

    revoke: defineAction({
      accept: 'form',
      input: z.object({ id }),
      handler: async (input, context) => {
        authorize(context, 'api-keys.manage');
        const app = await appContext();
        const result = await revokeApiKey(app.db, input.id);
        if (!result.ok) throw failureToActionError(result, context);
        return { revoked: input.id };
      },
    }),
  },
};
