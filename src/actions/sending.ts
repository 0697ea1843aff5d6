import { ActionError, defineAction } from 'astro:actions';
import { z } from 'zod';
import { appContext } from '../lib/app/context.ts';
import type { Failure } from '../lib/outcome.ts';
import { localTimeToEpoch } from '../lib/sending/schedule-time.ts';
import { checkPeopleRule } from '../lib/reports/people.service.ts';
import {
  cancelSend,
  pauseSend,
  requestSend,
  resumeSend,
  reviewSend,
  sendOfIssue,
} from '../lib/sending/send.service.ts';

import { getSettings } from '../lib/settings/settings.service.ts';
import { pickWinner, stopExperiment } from '../lib/experiments/experiments.service.ts';
import { experimentFormValues, experimentFromForm } from '../admin/experiment-form.ts';
import { failureToActionError, authorize } from './authorize.ts';

/**
 * Sending an issue from the admin (issues.send: marketers and admins): send now or at a time
 * in the site's time zone, then pause, resume or cancel. Each handler checks its permission
 * first; the middleware refuses them earlier too (ADMIN_ACTIONS in src/web/admin-routes.ts).
 */

const issueId = z.coerce.number({ error: 'Which issue?' }).int().positive();

function refusal(failure: Failure): ActionError {
  return failureToActionError(failure);
}

async function sendOf(id: number) {
  const app = await appContext();
  const send = await sendOfIssue(app.db, id);
  if (!send) throw new ActionError({ code: 'NOT_FOUND', message: 'This issue has no send.' });
  return { app, sendId: Number(send.id) };
}

export const sending = {
  sending: {
    /**
     * Two steps: without `confirmed` the request is only checked and the confirmation step is
     * answered (who, how many, when); with `confirmed=yes` the send is made, its first message
     * going out after the undo window (SEND_UNDO_SECONDS) at the earliest.
     */
    send: defineAction({
      accept: 'form',
      input: z.object({
        issueId,
        audience: z.enum(['all', 'topics', 'behaviour'], { error: 'Choose who gets the issue.' }),
        topics: z.array(z.string().max(100)).max(20).optional(),
        /** With audience=behaviour: the people behind a figure of an earlier issue (see src/lib/reports/people.ts). */
        fromIssue: z.string().max(20).optional(),
        figure: z.string().max(40).optional(),
        link: z.string().max(20).optional(),
        when: z.enum(['now', 'later'], { error: 'Choose when to send.' }),
        at: z.string().max(40).optional(),
        confirmed: z.literal('yes', { error: 'Confirm the send on the confirmation step.' }).optional(),
        // The experiment (src/admin/experiment-form.ts): checked by the sending service, as the API's.
        ab: z.string().max(10).optional(),
        subjectA: z.string().max(1000).optional(),
        subjectB: z.string().max(1000).optional(),
        subjectC: z.string().max(1000).optional(),
        subjectD: z.string().max(1000).optional(),
        preheaderA: z.string().max(1000).optional(),
        preheaderB: z.string().max(1000).optional(),
        preheaderC: z.string().max(1000).optional(),
        preheaderD: z.string().max(1000).optional(),
        bodyA: z.string().max(100_000).optional(),
        bodyB: z.string().max(100_000).optional(),
        bodyC: z.string().max(100_000).optional(),
        bodyD: z.string().max(100_000).optional(),
        testShare: z.string().max(20).optional(),
        waitHours: z.string().max(20).optional(),
        measure: z.string().max(40).optional(),
        holdout: z.string().max(10).optional(),
        holdoutShare: z.string().max(20).optional(),
      }),
      handler: async (input, context) => {
        const user = authorize(context, 'issues.send');
        const app = await appContext();
        if (input.audience === 'topics' && (input.topics ?? []).length === 0)
          throw new ActionError({
            code: 'BAD_REQUEST',
            message: 'Tick at least one topic, or send to every active subscriber.',
          });
        let at: number | null = null;
        if (input.when === 'later') {
          const settings = await getSettings(app.db);
          const parsed = localTimeToEpoch(input.at ?? '', settings.timeZone);
          if (!parsed.ok) throw new ActionError({ code: 'BAD_REQUEST', message: parsed.message });
          if (parsed.at <= Date.now())
            throw new ActionError({
              code: 'BAD_REQUEST',
              message: 'That time has passed: choose a later one, or send now.',
            });
          at = parsed.at;
        }
        const behaviour = { issue: input.fromIssue, figure: input.figure, link: input.link };
        const experimentForm = experimentFormValues((name) => {
          const value = (input as Record<string, unknown>)[name];
          return typeof value === 'string' ? value : undefined;
        });
        const request = {
          issueId: input.issueId,
          audience:
            input.audience === 'topics'
              ? { topics: input.topics }
              : input.audience === 'behaviour'
                ? { behaviour }
                : {},
          at,
          createdBy: user.id,
          undoMs: app.config.sending.undoMs,
          experiment: experimentFromForm(experimentForm),
        };
        const form = {
          audience: input.audience,
          topics: input.topics ?? [],
          when: input.when,
          at: input.at ?? '',
          fromIssue: input.fromIssue ?? '',
          figure: input.figure ?? '',
          link: input.link ?? '',
          experiment: experimentForm,
        };
        if (input.confirmed !== 'yes') {
          const review = await reviewSend(app.db, app.issueSending, request);
          if (!review.ok) throw refusal(review);
          const people = input.audience === 'behaviour' ? await checkPeopleRule(app.db, behaviour) : undefined;
          const behaviourText = people?.ok
            ? `${people.value.description} of “${people.value.issue.subject}”`
            : undefined;
          return {
            stage: 'review' as const,
            form,
            behaviourText,
            recipients: review.value.recipients,
            scheduledAt: review.value.scheduledAt,
            undoMs: app.config.sending.undoMs,
            experiment: review.value.experiment,
          };
        }
        const result = await requestSend(app.db, app.issueSending, request);
        if (!result.ok) throw refusal(result);
        return {
          stage: 'sent' as const,
          sendId: result.value.sendId,
          state: result.value.state,
          recipients: result.value.recipients,
          scheduledAt: result.value.scheduledAt,
          created: result.value.created,
        };
      },
    }),

    pause: defineAction({
      accept: 'form',
      input: z.object({ issueId }),
      handler: async (input, context) => {
        const user = authorize(context, 'issues.send');
        const { app, sendId } = await sendOf(input.issueId);
        const result = await pauseSend(app.db, sendId, `Paused by ${user.name}.`);
        if (!result.ok) throw refusal(result);
        return { paused: true };
      },
    }),

    resume: defineAction({
      accept: 'form',
      input: z.object({ issueId }),
      handler: async (input, context) => {
        authorize(context, 'issues.send');
        const { app, sendId } = await sendOf(input.issueId);
        const result = await resumeSend(app.db, sendId);
        if (!result.ok) throw refusal(result);
        return { resumed: true };
      },
    }),

    /** An A/B test's winner chosen by the marketer before the wait ends: it goes to the rest now. */
    pickWinner: defineAction({
      accept: 'form',
      input: z.object({ issueId, arm: z.enum(['A', 'B', 'C', 'D'], { error: 'Which variant?' }) }),
      handler: async (input, context) => {
        authorize(context, 'issues.send');
        const app = await appContext();
        const result = await pickWinner(app.db, input.issueId, input.arm);
        if (!result.ok) throw refusal(result);
        return { picked: input.arm };
      },
    }),

    /** An A/B test stopped: the rest get nothing. */
    stopExperiment: defineAction({
      accept: 'form',
      input: z.object({ issueId }),
      handler: async (input, context) => {
        authorize(context, 'issues.send');
        const app = await appContext();
        const result = await stopExperiment(app.db, input.issueId);
        if (!result.ok) throw refusal(result);
        return result.value;
      },
    }),

    cancel: defineAction({
      accept: 'form',
      input: z.object({ issueId }),
      handler: async (input, context) => {
        authorize(context, 'issues.send');
        const { app, sendId } = await sendOf(input.issueId);
        const result = await cancelSend(app.db, app.issueSending, sendId);
        if (!result.ok) throw refusal(result);
        return result.value;
      },
    }),
  },
};
