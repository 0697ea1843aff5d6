import type { DB } from '../db/database.ts';
import { hasAnySend } from '../sending/sends.repository.ts';
import { findAllSettings } from '../settings/settings.repository.ts';
import { getSettings, isSenderSet } from '../settings/settings.service.ts';
import { hasAnySubscriber } from '../subscribers/subscribers.repository.ts';

export type FirstStepId = 'sender' | 'postal-address' | 'time-zone' | 'import' | 'first-issue';

export interface FirstStep {
  id: FirstStepId;
  label: string;
  /** Why it matters, in one sentence. */
  why: string;
  done: boolean;
  /** Where it is done. */
  href: string;
  /** Whose job it is: Settings are the admins'. */
  permission: 'settings.manage' | 'subscribers.manage' | 'issues.draft';
}

/**
 * What a new install needs before its first send, in order, and which of it is done: a sender
 * and a postal address (newsletters are refused without them), the time zone confirmed (every
 * day and hour of the reports uses it), subscribers, and a first issue sent. The dashboard
 * shows the list until every step is done.
 */
export async function firstSteps(db: DB, now = Date.now()): Promise<FirstStep[]> {
  const [settings, stored, subscribers, sent] = await Promise.all([
    getSettings(db, { now }),
    findAllSettings(db),
    hasAnySubscriber(db),
    hasAnySend(db),
  ]);
  const storedKeys = new Set(stored.map((row) => row.key));
  return [
    {
      id: 'sender',
      label: 'Set the sender',
      why: 'The name and address your newsletter comes from; nothing can be sent until there is one.',
      done: isSenderSet(settings),
      href: '/admin/settings#field-senderName',
      permission: 'settings.manage',
    },
    {
      id: 'postal-address',
      label: 'Enter your postal address',
      why: 'Anti-spam law wants it in every newsletter; the site’s footer shows it too.',
      done: settings.postalAddress !== '',
      href: '/admin/settings#field-postalAddress',
      permission: 'settings.manage',
    },
    {
      id: 'time-zone',
      label: 'Confirm the time zone',
      why: `Reports count days and hours in it (now ${settings.timeZone}, the server's).`,
      done: storedKeys.has('timeZone'),
      href: '/admin/settings#field-timeZone',
      permission: 'settings.manage',
    },
    {
      id: 'import',
      label: 'Import your subscribers',
      why: 'Bring your list from a CSV file (or let people sign up on the site).',
      done: subscribers,
      href: '/admin/subscribers/import',
      permission: 'subscribers.manage',
    },
    {
      id: 'first-issue',
      label: 'Write and send your first issue',
      why: 'Compose it, preview it, send yourself a test, then send it.',
      done: sent,
      href: '/admin/issues/new',
      permission: 'issues.draft',
    },
  ];
}
