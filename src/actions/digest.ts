import { ActionError, defineAction } from 'astro:actions';
import { z } from 'zod';
import { appContext } from '../lib/app/context.ts';
import { readDigestStopToken } from '../lib/digest/digest-links.ts';
import { chooseWeeklyDigest, stopWeeklyDigest } from '../lib/digest/digest.service.ts';
import { authorize } from './authorize.ts';

export const digest = {
  digest: {
    /** The account page's switch: on or off, nothing else. */
    choose: defineAction({
      accept: 'form',
      input: z.object({
        weeklyDigest: z.enum(['on', 'off'], { error: 'Choose whether to get the weekly digest: on or off.' }),
      }),
      handler: async (input, context) => {
        const user = authorize(context, 'reports.view');
        const app = await appContext();
        const result = await chooseWeeklyDigest(app.db, user.id, input.weeklyDigest === 'on');
        if (!result.ok)
          throw new ActionError({
            code: result.reason === 'not_found' ? 'NOT_FOUND' : 'FORBIDDEN',
            message: result.message,
          });
        return { on: result.on };
      },
    }),

    /** The stop link's button (no sign-in: the signed link names the account). */
    stop: defineAction({
      accept: 'form',
      input: z.object({ token: z.string().max(500) }),
      handler: async (input) => {
        const app = await appContext();
        const userId = readDigestStopToken(app.secret, input.token);
        if (userId === undefined)
          throw new ActionError({
            code: 'BAD_REQUEST',
            message: 'This link is incomplete or was changed: turn the digest off on your account page instead.',
          });
        const result = await stopWeeklyDigest(app.db, userId);
        if (!result.ok) throw new ActionError({ code: 'NOT_FOUND', message: result.message });
        return { on: false };
      },
    }),
  },
};
