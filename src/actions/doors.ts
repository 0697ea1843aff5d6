import { ActionError, defineAction } from 'astro:actions';
import { z } from 'astro/zod';
import { appContext } from '../lib/app/context.ts';
import { parseWeekHoursText } from '../lib/door/counter-rules.ts';
import { addDoorCounter, changeDoorCounter, COUNTER_KEY, removeDoorCounter } from '../lib/door/door-counts.service.ts';
import { getSettings } from '../lib/settings/settings.service.ts';
import {
  applyDoorImport,
  doorMappingFromFields,
  inspectDoorCsv,
  planDoorImport,
} from '../lib/door/door-import.service.ts';
import { deleteUpload } from '../lib/offline/offline-uploads.ts';
import { authorize } from './authorize.ts';
import { keepCsvUpload, keptUpload, uploadFileInput, uploadId } from './csv-uploads.ts';

/** Door counters in Settings (settings.manage): add, change the name or the staff rule, remove. */

const name = z.string().trim().min(1, 'Give the door a name.').max(80, 'At most 80 characters.');
const staffPerDay = z.coerce
  .number({ error: 'Enter a whole number of people (0 for none).' })
  .int('Enter a whole number of people (0 for none).')
  .min(0, 'Enter a whole number of people (0 for none).')
  .max(1000, 'At most 1000 a day.');
const openingHours = z
  .string()
  .max(500)
  .nullish()
  .transform((text, ctx) => {
    const parsed = parseWeekHoursText(text ?? '');
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.hours;
  });

export const doors = {
  doors: {
    add: defineAction({
      accept: 'form',
      input: z.object({
        key: z
          .string()
          .trim()
          .toLowerCase()
          .regex(COUNTER_KEY, 'Letters a–z, digits, - and _ (up to 40), e.g. “front”: what the counter sends.'),
        name,
        staffPerDay,
        openingHours,
      }),
      handler: async (input, context) => {
        authorize(context, 'settings.manage');
        const app = await appContext();
        const { timeZone } = await getSettings(app.db);
        const result = await addDoorCounter(app.db, { ...input, timeZone });
        if (!result.ok) throw new ActionError({ code: 'CONFLICT', message: Object.values(result.fields).join(' ') });
        return { key: result.counter.key };
      },
    }),
    update: defineAction({
      accept: 'form',
      input: z.object({ id: z.coerce.number().int().positive(), name, staffPerDay, openingHours }),
      handler: async (input, context) => {
        authorize(context, 'settings.manage');
        const app = await appContext();
        const { timeZone } = await getSettings(app.db);
        const changed = await changeDoorCounter(app.db, input.id, { ...input, timeZone });
        if (!changed) throw new ActionError({ code: 'NOT_FOUND', message: 'That counter no longer exists.' });
        return { key: changed.key };
      },
    }),
    remove: defineAction({
      accept: 'form',
      input: z.object({ id: z.coerce.number().int().positive() }),
      handler: async (input, context) => {
        authorize(context, 'settings.manage');
        const app = await appContext();
        if (!(await removeDoorCounter(app.db, input.id)))
          throw new ActionError({ code: 'NOT_FOUND', message: 'That counter no longer exists.' });
        return { removed: true };
      },
    }),

    /** A counter's export, step 1: keep the file (as the offline import does) and answer its id. */
    upload: defineAction({
      accept: 'form',
      input: uploadFileInput,
      handler: async (input, context) => {
        const user = authorize(context, 'offline-events.manage');
        return keepCsvUpload(input.file, user.id, (_app, file) => inspectDoorCsv(file));
      },
    }),

    /** Step 3: the dry run again, then everything it accepts in one transaction. */
    import: defineAction({
      accept: 'form',
      input: z.object({
        upload: uploadId,
        delimiter: z.string().max(20),
        time: z.string().max(10),
        end: z.string().max(10),
        in: z.string().max(10),
        out: z.string().max(10).nullish(),
        counter: z.string().max(50),
      }),
      handler: async (input, context) => {
        authorize(context, 'offline-events.manage');
        const app = await appContext();
        const { timeZone } = await getSettings(app.db);
        const upload = await keptUpload(app, input.upload);
        const mapping = doorMappingFromFields(input);
        if (!mapping)
          throw new ActionError({ code: 'BAD_REQUEST', message: 'Choose the columns, then run the dry run again.' });
        const plan = await planDoorImport(app.db, upload.file, mapping, { timeZone });
        if (!plan.ok) throw new ActionError({ code: 'BAD_REQUEST', message: plan.error });
        const outcome = await applyDoorImport(app.db, plan.value, { timeZone });
        await deleteUpload(app.config.dataDir, upload.id);
        return { ...outcome, fileName: upload.fileName, rejected: plan.value.rejected };
      },
    }),
  },
};
