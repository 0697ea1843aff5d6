import type { SubscriberTimelineItem } from '../lib/subscribers/timeline.service.ts';

/**
 * A subscriber's timeline in words: their record's events (subscriber_events) and their opens,
 * clicks and attributed visits. Record kinds this file does not know yet still show: their name
 * made readable and every detail as it was recorded.
 */
export interface TimelineEntry {
  at: number;
  kind: string;
  title: string;
  /** The newsletter issue the entry belongs to, shown after the title as a link. */
  issue?: { id: number; subject: string } | undefined;
  details: [label: string, value: string][];
}

type Detail = Record<string, unknown>;

const VIA: Record<string, string> = {
  'one-click': 'one click in their mail program (List-Unsubscribe)',
  page: 'the unsubscribe page',
  preferences: 'their preferences page',
  admin: 'the admin',
  api: 'the API',
};

const EMAILS: Record<string, string> = {
  welcome: 'Welcome email sent',
  'confirm-subscription': 'Confirmation email sent',
};

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(text).join(', ') || 'none';
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'bigint' ? String(value) : typeof value;
}

function humanize(kind: string): string {
  const words = kind.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : 'Event';
}

/** `who` of a `by` value: "user:3" → the name from `people`, else as recorded. */
export type PersonNames = (by: string) => string;

function pick(detail: Detail, labels: Record<string, string>, names: PersonNames): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, label] of Object.entries(labels)) {
    const value = detail[key];
    if (value === undefined || value === null || value === '') continue;
    out.push([label, key === 'by' && typeof value === 'string' ? names(value) : text(value)]);
  }
  return out;
}

export function describeEvent(
  event: { at: number; kind: string; detail: string | null },
  names: PersonNames = (by) => by,
): TimelineEntry {
  let detail: Detail = {};
  try {
    const parsed: unknown = event.detail ? JSON.parse(event.detail) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) detail = parsed as Detail;
  } catch {
    detail = { detail: event.detail };
  }
  const entry = (title: string, details: [string, string][]): TimelineEntry => ({
    at: event.at,
    kind: event.kind,
    title,
    details,
  });
  switch (event.kind) {
    case 'signup':
      return entry('Signed up', pick(detail, { form: 'Form', campaign: 'Campaign', issue: 'Issue' }, names));
    case 'signup_repeated':
      return entry(
        'Signed up again; the confirmation email was sent again',
        pick(detail, { form: 'Form', campaign: 'Campaign' }, names),
      );
    case 'confirmed':
      return entry(
        'Confirmed the subscription (double opt-in)',
        pick(detail, { consent_text_version: 'Consent text version' }, names),
      );
    case 'email_sent':
      return entry(
        EMAILS[text(detail.email)] ?? `Email sent: ${text(detail.email)}`,
        pick(detail, { issue: 'Issue' }, names),
      );
    case 'unsubscribed':
      return entry('Unsubscribed', [
        ...(detail.via ? [['Through', VIA[text(detail.via)] ?? text(detail.via)] as [string, string]] : []),
        ...pick(detail, { issue: 'Issue' }, names),
      ]);
    case 'resubscribed':
      return entry(
        'Subscribed again (confirmed by email)',
        pick(detail, { consent_text_version: 'Consent text version' }, names),
      );
    case 'resubscribe_requested':
      return entry('Asked to subscribe again; a confirmation email was sent', []);
    case 'preferences_link_sent':
      return entry('Asked for a new preferences link; it was emailed', []);
    case 'preferences_changed':
      return entry('Preferences changed', pick(detail, { by: 'By', topics: 'Topics', paused: 'Paused' }, names));
    case 'merged':
      return entry(
        'Signed up again through an add or import; topics merged',
        pick(detail, { by: 'By', form: 'Through', topics: 'Topics added' }, names),
      );
    case 'added':
      return entry(
        'Added as already confirmed',
        pick(detail, { by: 'By', form: 'Through', reason: 'Consent note' }, names),
      );
    case 'imported':
      return entry('Imported from a CSV file', pick(detail, { by: 'By', reason: 'Consent note' }, names));
    case 'bounced':
      return entry(
        'Mail bounced; the address is suppressed',
        Object.entries(detail).map(([k, v]) => [humanize(k), text(v)]),
      );
    case 'complained':
      return entry(
        'Reported a newsletter as spam; the address is suppressed',
        Object.entries(detail).map(([k, v]) => [humanize(k), text(v)]),
      );
    default:
      return entry(
        humanize(event.kind),
        Object.entries(detail).map(([k, v]) => [humanize(k), text(v)]),
      );
  }
}

/** Each class in words, as DESIGN.md defines it. */
const OPEN_CLASSES: Record<string, string> = {
  human: 'human: likely a person',
  proxy: 'proxy: a mail provider’s image proxy fetching as the reader opens (counts as human, first open only)',
  apple_mpp: 'apple_mpp: Apple Mail Privacy Protection fetching ahead (a machine)',
  scanner: 'scanner: a security scanner (a machine)',
};
const CLICK_CLASSES: Record<string, string> = { human: 'human: likely a person', bot: 'bot: a machine' };

const BOUNCE_TITLES = {
  hard: 'Hard bounce reported for',
  soft: 'Soft bounce reported for',
  complaint: 'Spam complaint reported for',
} as const;
const BOUNCE_KINDS = {
  hard: 'hard: the address does not take mail (suppressed)',
  soft: 'soft: a temporary failure (not suppressed)',
  complaint: 'complaint: the reader marked it as spam (suppressed)',
} as const;
const BOUNCE_SOURCES: Record<string, string> = {
  webhook: 'the generic bounce webhook',
  ses: 'Amazon SES (through SNS)',
  postmark: 'Postmark',
  mailgun: 'Mailgun',
  sendgrid: 'SendGrid',
  mailbox: 'the bounce mailbox',
  smtp: 'the SMTP session',
};

function describeBounce(
  item: Extract<SubscriberTimelineItem, { source: 'bounce' }>,
  issue: { id: number; subject: string } | undefined,
): TimelineEntry {
  return {
    at: item.at,
    kind: `bounce.${item.kind}`,
    title: issue ? BOUNCE_TITLES[item.kind] : BOUNCE_TITLES[item.kind].replace(/ for$/, ''),
    issue,
    details: [
      ['Kind', BOUNCE_KINDS[item.kind]],
      ['Reason', item.reason || 'none given'],
      ['Reported by', BOUNCE_SOURCES[item.via] ?? item.via],
    ],
  };
}

/** One entry of the merged timeline (src/lib/subscribers/timeline.service.ts) in words. */
export function describeTimelineItem(item: SubscriberTimelineItem, names: PersonNames = (by) => by): TimelineEntry {
  if (item.source === 'subscriber') return describeEvent(item, names);
  const issue = item.issue ?? undefined;
  if (item.source === 'bounce') return describeBounce(item, issue);
  switch (item.kind) {
    case 'opened':
      return {
        at: item.at,
        kind: 'opened',
        title: 'Opened',
        issue,
        details: [
          ['Class', OPEN_CLASSES[item.class] ?? item.class],
          ['Reason', item.reason],
        ],
      };
    case 'clicked':
      return {
        at: item.at,
        kind: 'clicked',
        title: 'Clicked a link in',
        issue,
        details: [
          ['Link', item.url],
          ['Class', CLICK_CLASSES[item.class] ?? item.class],
        ],
      };
    case 'visited':
      return {
        at: item.at,
        kind: 'visited',
        title: item.later ? 'Came back: a later visit from' : 'Visited the site from',
        issue,
        details: [
          ['Landed on', item.landingPath],
          ...(item.later
            ? [
                ['Later visit', 'yes: after their first landing from this issue, they came back on their own'] as [
                  string,
                  string,
                ],
              ]
            : []),
        ],
      };
  }
}
