import { randomInt } from 'node:crypto';
import { sendSiteEmail, type SiteEmailDeps } from '../mail/site-email.ts';
import { getSettings } from '../settings/settings.service.ts';
import { TOKEN_LIFETIME_MS } from './account-tokens.service.ts';
import type { AccountMail } from './users.service.ts';

/**
 * How long after the answer a mail that must not show in it (a reset link, a lockout notice) is
 * looked up, built and sent: a random moment between 0.2 and 1.2 s. Run at once, its work (the
 * account's lookup, the token, the rendering: ~1.5 ms of CPU) slowed the very next request, the
 * form's redirect, by about that much whenever the address had an account (`npm run bench:auth`
 * measured 1.3–1.6× for the POST and its redirect). Later and at a random moment it lines up with
 * neither.
 */
export function accountMailDelayMs(): number {
  return 200 + randomInt(1_000);
}

/** "1 hour", "7 days": how long a link lasts, in words for the email. */
function describeDuration(ms: number): string {
  const hours = Math.round(ms / 3_600_000);
  if (hours < 1) return `${Math.max(1, Math.round(ms / 60_000))} minutes`;
  if (hours < 48) return hours === 1 ? '1 hour' : `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}

/** Invitations and password resets through the same mail layer (and sender settings) as the newsletter. */
export function accountMail(deps: SiteEmailDeps): AccountMail {
  return {
    async sendInvite(to, data) {
      await sendSiteEmail(deps, to, 'invite', {
        inviterName: data.inviterName,
        role: data.role,
        inviteUrl: data.acceptUrl,
        expiresIn: describeDuration(TOKEN_LIFETIME_MS.invite),
      });
    },
    async sendPasswordReset(to, data) {
      await sendSiteEmail(deps, to, 'password-reset', {
        resetUrl: data.resetUrl,
        expiresIn: describeDuration(TOKEN_LIFETIME_MS.reset),
      });
    },
    async sendSignInAttempts(to, data) {
      const { timeZone } = await getSettings(deps.db);
      const until = new Intl.DateTimeFormat('en-GB', {
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
        timeZone,
      }).format(new Date(data.until));
      await sendSiteEmail(deps, to, 'sign-in-attempts', {
        attempts: String(data.attempts),
        until: `${until} (${timeZone})`,
        accountUrl: data.accountUrl,
      });
    },
  };
}
