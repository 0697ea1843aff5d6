import type { DB } from '../db/database.ts';
import { getSettings, senderMailbox } from '../settings/settings.service.ts';
import type { Mailer, SentMail } from './mailer.ts';
import type { OutgoingMail } from './message.ts';
import { renderEmail, type EmailTemplateData, type EmailTemplateName, type SiteEmailData } from './templates.ts';

export interface SiteEmailDeps {
  db: DB;
  mailer: Mailer;
}

/**
 * Names the email (`welcome`, `invite`, …) in every site email, so the outbox viewer can tell
 * subscriber mail from account mail (invitations and password resets, for admins' eyes only).
 */
export const EMAIL_NAME_HEADER = 'X-Footfall-Email';

/** Renders one of the emails in emails/ with the site's name, URL and postal address, and sends it from the configured sender. */
export async function sendSiteEmail<N extends EmailTemplateName>(
  deps: SiteEmailDeps,
  to: string,
  name: N,
  data: Omit<EmailTemplateData[N], keyof SiteEmailData>,
  extra: { headers?: Record<string, string>; listUnsubscribe?: OutgoingMail['listUnsubscribe'] } = {},
): Promise<SentMail> {
  const settings = await getSettings(deps.db);
  const site: SiteEmailData = {
    siteName: settings.siteName,
    siteUrl: settings.siteUrl,
    postalAddress: settings.postalAddress.replace(/\s*\n\s*/g, ', '),
  };
  const rendered = await renderEmail(name, { ...site, ...data } as EmailTemplateData[N]);
  return deps.mailer.send({
    to,
    from: senderMailbox(settings),
    ...(settings.replyTo ? { replyTo: settings.replyTo } : {}),
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    headers: { ...extra.headers, [EMAIL_NAME_HEADER]: name },
    ...(extra.listUnsubscribe ? { listUnsubscribe: extra.listUnsubscribe } : {}),
  });
}
