import { ActionError, defineAction } from 'astro:actions';
import { z } from 'astro/zod';
import { appContext } from '../lib/app/context.ts';
import { parseWeekHoursText } from '../lib/door/counter-rules.ts';
import { addDoorCounter, changeDoorCounter, COUNTER_KEY, removeDoorCounter } from '../lib/door/door-counts.service.ts';
import { getSettings } from '../lib/settings/settings.service.ts';
import { authorize } from './authorize.ts';

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
        const result = await addDoorCounter(app.db, input);
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
        const changed = await changeDoorCounter(app.db, input.id, input, timeZone);
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
        const { timeZone } = await getSettings(app.db);
        if (!(await removeDoorCounter(app.db, input.id, timeZone)))
          throw new ActionError({ code: 'NOT_FOUND', message: 'That counter no longer exists.' });
        return { removed: true };
      },
    }),
  },
};
