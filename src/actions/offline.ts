import { ActionError, defineAction } from 'astro:actions';
import { z } from 'astro/zod';
import { appContext } from '../lib/app/context.ts';
import { parseEventTime } from '../lib/offline/event-time.ts';
import { mappingFromFields } from '../lib/offline/import-mapping.ts';
import {
  addManualEvent,
  recordTap,
  removeOfflineEvent,
  restoreOfflineEvent,
  undoTap,
} from '../lib/offline/offline-events.service.ts';
import { applyOfflineImport, inspectOfflineCsv, planOfflineImport } from '../lib/offline/offline-import.service.ts';
import { deleteUpload } from '../lib/offline/offline-uploads.ts';
import { getSettings } from '../lib/settings/settings.service.ts';
import { authorize } from './authorize.ts';
import { keepCsvUpload, keptUpload, uploadFileInput, uploadId } from './csv-uploads.ts';

/**
 * The tally page (any signed-in role) and the Offline events pages (offline-events.manage).
 * Every handler starts with authorize(); the names are listed in admin-routes.ts.
 */

const kind = z.enum(['call', 'walk_in'], { error: 'Choose “Phone call” or “Walk-in”.' });
const id = z.coerce.number().int().positive();
const clientId = z.string().max(100);
const note = z.string().max(2000, 'That note is far too long.').optional();

const UNDO_CODES = {
  not_found: 'NOT_FOUND',
  not_yours: 'FORBIDDEN',
  already_undone: 'CONFLICT',
  too_late: 'CONFLICT',
} as const;

async function timeZone() {
  const app = await appContext();
  return { app, timeZone: (await getSettings(app.db)).timeZone };
}

export const offline = {
  tally: {
    /** One tap from the plain form (no script): stored now; the form's id makes a resubmit harmless. */
    tap: defineAction({
      accept: 'form',
      input: z.object({ kind, clientId, mentioned: z.boolean().optional(), note }),
      handler: async (input, context) => {
        const user = authorize(context, 'tally.record');
        const app = await appContext();
        const outcome = await recordTap(app.db, user.id, {
          kind: input.kind,
          clientId: input.clientId,
          mentioned: input.mentioned ? true : null,
          note: input.note,
        });
        if (!outcome.ok) throw new ActionError({ code: 'BAD_REQUEST', message: outcome.message });
        return { id: outcome.event.id, kind: outcome.event.kind, at: outcome.event.at, duplicate: outcome.duplicate };
      },
    }),

    undo: defineAction({
      accept: 'form',
      input: z.object({ id }),
      handler: async (input, context) => {
        const user = authorize(context, 'tally.record');
        const app = await appContext();
        const outcome = await undoTap(app.db, user.id, { id: input.id });
        if (!outcome.ok) throw new ActionError({ code: UNDO_CODES[outcome.code], message: outcome.message });
        return { kind: outcome.event.kind, at: outcome.event.at };
      },
    }),
  },

  offlineEvents: {
    add: defineAction({
      accept: 'form',
      input: z.object({
        kind,
        at: z.string().max(40),
        mentioned: z.enum(['yes', 'no', 'unknown']).default('unknown'),
        note,
        clientId,
      }),
      handler: async (input, context) => {
        const user = authorize(context, 'offline-events.manage');
        const { app, timeZone: tz } = await timeZone();
        const time = parseEventTime(input.at.replace('T', ' '), tz);
        if (!time.ok) throw new ActionError({ code: 'BAD_REQUEST', message: `The time: ${time.reason}.` });
        const outcome = await addManualEvent(app.db, user.id, {
          kind: input.kind,
          at: time.at,
          mentioned: input.mentioned === 'yes' ? true : input.mentioned === 'no' ? false : null,
          note: input.note,
          clientId: input.clientId,
        });
        if (!outcome.ok) throw new ActionError({ code: 'BAD_REQUEST', message: outcome.message });
        return { id: outcome.event.id, kind: outcome.event.kind, at: outcome.event.at, duplicate: outcome.duplicate };
      },
    }),

    remove: defineAction({
      accept: 'form',
      input: z.object({ id }),
      handler: async (input, context) => {
        const user = authorize(context, 'offline-events.manage');
        const app = await appContext();
        const outcome = await removeOfflineEvent(app.db, input.id, user.id);
        if (!outcome.ok) throw new ActionError({ code: 'NOT_FOUND', message: outcome.message });
        return { id: outcome.event.id, kind: outcome.event.kind, at: outcome.event.at };
      },
    }),

    restore: defineAction({
      accept: 'form',
      input: z.object({ id }),
      handler: async (input, context) => {
        authorize(context, 'offline-events.manage');
        const app = await appContext();
        const outcome = await restoreOfflineEvent(app.db, input.id);
        if (!outcome.ok) throw new ActionError({ code: 'NOT_FOUND', message: outcome.message });
        return { id: outcome.event.id, kind: outcome.event.kind, at: outcome.event.at };
      },
    }),

    /** Step 1: keep the file (under DATA_DIR) and answer its id; the page then shows the preview. */
    upload: defineAction({
      accept: 'form',
      input: uploadFileInput,
      handler: async (input, context) => {
        const user = authorize(context, 'offline-events.manage');
        return keepCsvUpload(input.file, user.id, async (app, file) =>
          inspectOfflineCsv(file, (await getSettings(app.db)).timeZone),
        );
      },
    }),

    /** Step 3: the dry run again (the file may be checked against newer data), then everything it accepts in one transaction. */
    import: defineAction({
      accept: 'form',
      input: z.object({
        upload: uploadId,
        delimiter: z.string().max(20),
        time: z.string().max(10),
        kind: z.string().max(20),
        note: z.string().max(10).optional(),
        issue: z.string().max(10).optional(),
        mentioned: z.string().max(10).optional(),
      }),
      handler: async (input, context) => {
        const user = authorize(context, 'offline-events.manage');
        const { app, timeZone: tz } = await timeZone();
        const upload = await keptUpload(app, input.upload);
        const mapping = mappingFromFields(input);
        if (!mapping)
          throw new ActionError({
            code: 'BAD_REQUEST',
            message: 'Choose the time column and the kind, then run the dry run again.',
          });
        const plan = await planOfflineImport(app.db, upload.file, mapping, { timeZone: tz });
        if (!plan.ok) throw new ActionError({ code: 'BAD_REQUEST', message: plan.error });
        const outcome = await applyOfflineImport(app.db, plan.value, { userId: user.id });
        await deleteUpload(app.config.dataDir, upload.id);
        return {
          ...outcome,
          fileName: upload.fileName,
          rejected: plan.value.counts.rejected,
          call: plan.value.counts.call,
          walkIn: plan.value.counts.walk_in,
        };
      },
    }),
  },
};
