import type { DB } from '../db/database.ts';
import type { Mailer } from '../mail/mailer.ts';
import { renderEmail } from '../mail/templates.ts';
import { getSettings } from '../settings/settings.service.ts';
import { TOKEN_LIFETIME_MS } from './account-tokens.service.ts';
import type { AccountMail } from './users.service.ts';

/** "1 hour", "7 days": how long a link lasts, in words for the email. */
export function describeDuration(ms: number): string {
  const hours = Math.round(ms / 3_600_000);
  if (hours < 1) return `${Math.max(1, Math.round(ms / 60_000))} minutes`;
  if (hours < 48) return hours === 1 ? '1 hour' : `${hours} hours`;
  const days = Math.round(hours / 24);
  return `${days} days`;
}

/** Invitations and password resets through the same mail layer (and sender settings) as the newsletter. */
export function accountMail(deps: { db: DB; mailer: Mailer }): AccountMail {
  const send = async (to: string, rendered: { subject: string; html: string; text: string }) => {
    const settings = await getSettings(deps.db);
    await deps.mailer.send({
      to,
      from: `"${settings.senderName.replace(/["\\]/g, '')}" <${settings.senderAddress}>`,
      ...(settings.replyTo ? { replyTo: settings.replyTo } : {}),
      ...rendered,
    });
  };
  const site = async () => {
    const settings = await getSettings(deps.db);
    return { siteName: settings.siteName, siteUrl: settings.siteUrl, postalAddress: settings.postalAddress.replace(/\s*\n\s*/g, ', ') };
  };
  return {
    async sendInvite(to, data) {
      const rendered = await renderEmail('invite', {
        ...(await site()),
        inviterName: data.inviterName,
        role: data.role,
        inviteUrl: data.acceptUrl,
        expiresIn: describeDuration(TOKEN_LIFETIME_MS.invite),
      });
      await send(to, rendered);
    },
    async sendPasswordReset(to, data) {
      const rendered = await renderEmail('password-reset', { ...(await site()), resetUrl: data.resetUrl, expiresIn: describeDuration(TOKEN_LIFETIME_MS.reset) });
      await send(to, rendered);
    },
  };
}
