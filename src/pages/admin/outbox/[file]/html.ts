import type { APIRoute } from 'astro';
import { appContext } from '#lib/app/context.ts';
import { requirePage } from '../../../../web/guard.ts';
import { can } from '#lib/auth/roles.ts';
import { htmlForViewer, outboxFolder } from '#lib/mail/outbox-access.ts';
import { readOutboxMessageForViewer } from '#lib/mail/outbox-viewer.ts';

/**
 * An outbox message's HTML on its own, for the viewer's sandboxed frame. The CSP lets it show
 * images and inline styles and nothing else: no script, no form, no frame, no fetch; and it is
 * a sandbox of its own even when opened directly. Its open pixel and tracked links are made inert
 * first (src/lib/mail/outbox-viewer.ts): viewing never counts as the recipient's open or click.
 */
const CSP =
  "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

export const GET: APIRoute = async (context) => {
  const user = await requirePage(context, 'outbox.view');
  if (user instanceof Response) return user;
  const app = await appContext();
  const message = await readOutboxMessageForViewer(
    app,
    outboxFolder(app.config.dataDir),
    context.params.file ?? '',
    can(user.role, 'users.manage'),
  );
  if (!message?.html)
    return new Response('No such message.\n', {
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  return new Response(htmlForViewer(message.html), {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'SAMEORIGIN', // the viewer's frame; every other answer is DENY
    },
  });
};
