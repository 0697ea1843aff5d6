import { ActionError, defineAction } from 'astro:actions';
import { z } from 'zod';
import { appContext } from '../lib/app/context.ts';
import { issueInputSchema } from '../lib/issues/issue.ts';
import {
  createIssue,
  renderUnsavedPreview,
  sendTestIssue,
  updateIssue,
  type IssueFailure,
} from '../lib/issues/issues.service.ts';
import { articleCatalog } from '../site/newsletter.ts';
import { authorize } from './authorize.ts';

/**
 * Composing newsletter issues. Writers and marketers draft (issues.draft); sending a test is
 * sending (issues.send: marketers and admins). Each handler checks its permission first; the
 * middleware refuses them earlier too (ADMIN_ACTIONS in src/web/admin-routes.ts).
 */

const CODES = {
  invalid: 'BAD_REQUEST',
  'not-found': 'NOT_FOUND',
  conflict: 'CONFLICT',
  'mail-failed': 'BAD_GATEWAY',
} as const;

function refusal(failure: IssueFailure): ActionError {
  const fields = failure.fields ? Object.values(failure.fields) : [];
  return new ActionError({
    code: CODES[failure.reason],
    message: fields.length > 0 ? fields.join(' ') : failure.message,
  });
}

const id = z.coerce.number({ error: 'Which issue?' }).int().positive();

export const issues = {
  issues: {
    create: defineAction({
      accept: 'form',
      input: issueInputSchema,
      handler: async (input, context) => {
        const user = authorize(context, 'issues.draft');
        const app = await appContext();
        const result = await createIssue(app.db, input, { articles: await articleCatalog(), createdBy: user.id });
        if (!result.ok) throw refusal(result);
        return { id: result.value.id, slug: result.value.slug };
      },
    }),

    update: defineAction({
      accept: 'form',
      input: issueInputSchema.extend({ id }),
      handler: async ({ id: issueId, ...input }, context) => {
        authorize(context, 'issues.draft');
        const app = await appContext();
        const result = await updateIssue(app.db, issueId, input, { articles: await articleCatalog() });
        if (!result.ok) throw refusal(result);
        return { id: result.value.id, slug: result.value.slug };
      },
    }),

    /** The live preview while typing: the email for the form as it stands, nothing stored. */
    renderPreview: defineAction({
      accept: 'form',
      input: issueInputSchema.extend({ id: id.optional() }),
      handler: async ({ id: _id, ...input }, context) => {
        authorize(context, 'issues.draft');
        const app = await appContext();
        const result = await renderUnsavedPreview(app.db, input, { articles: await articleCatalog() });
        if (!result.ok) throw refusal(result);
        return { html: result.value.html };
      },
    }),

    sendTest: defineAction({
      accept: 'form',
      input: z.object({
        id,
        to: z.string({ error: 'Enter at least one address.' }).max(2000, 'That is far too long for a few addresses.'),
      }),
      handler: async (input, context) => {
        authorize(context, 'issues.send');
        const app = await appContext();
        const result = await sendTestIssue(app, input.id, input.to);
        if (!result.ok) throw refusal(result);
        return { sent: result.value.sent };
      },
    }),
  },
};
