import { z } from 'zod';
import type { Config } from '../config.ts';
import { displayName, isValidEmailAddress, parseMailbox, type Mailbox } from '../text/mailbox.ts';
import { parseNetworkOverrides } from '../network/admin-networks.ts';
import { normalizePhone } from '../phone/phone-number.ts';

/**
 * Site settings, edited by admins on /admin/settings and stored in the `settings` table.
 * Anything not stored takes its default (from the configuration). A fresh install has no
 * sender (unless MAIL_FROM names one), no postal address, phone or opening hours: nothing goes
 * out in someone else's name, and the pre-send checks fail until an admin sets them.
 * Read them with getSettings(db) from settings.service.ts.
 */
export interface Settings {
  siteName: string;
  /** The public URL, no trailing slash: links in mail. */
  siteUrl: string;
  senderName: string;
  /** Empty until set (or given by MAIL_FROM): newsletters cannot be sent without it. */
  senderAddress: string;
  replyTo: string | null;
  /** Printed in every newsletter footer (required by anti-spam law) and in the site's footer; empty until set. */
  postalAddress: string;
  /** The town or place shown under the site name in the site's header (may be empty). */
  placeName: string;
  /** The shop's phone number as it should be shown (may be empty); links dial its digits. */
  phone: string;
  /** The site footer's opening hours, one line each, e.g. { days: 'Monday – Friday', time: '9:00 – 17:30' }. */
  openingHours: OpeningHoursLine[];
  /** IANA name, e.g. "Europe/Amsterdam": day and hour breakdowns use it. */
  timeZone: string;
  openTracking: boolean;
  clickTracking: boolean;
  /** Tie opens and clicks to the subscriber; off = counts per issue only. */
  personTracking: boolean;
  attributionWindowDays: number;
  retentionDays: number;
  /**
   * Tracking thresholds (src/lib/tracking/classify-hit.ts): a click this many seconds after
   * delivery or sooner, from a desktop browser not seen on that network before, is a machine.
   */
  botClickSeconds: number;
  /** This many different links of one message within clickBurstSeconds, from a network that is not an access network: a sweep. */
  clickBurstLinks: number;
  clickBurstSeconds: number;
  /** A bare "Mozilla/5.0" pixel fetch this soon after delivery, from a network not known as Apple's: still Apple Mail Privacy Protection's prefetch. */
  prefetchSeconds: number;
  /**
   * Networks the admin names (src/lib/network/admin-networks.ts): one a line, a CIDR network or
   * an AS number, a role and a note. They win over the reviewed table; applied without a restart.
   */
  networkOverrides: string;
}

export interface OpeningHoursLine {
  days: string;
  time: string;
}

/**
 * The address account and subscriber mail (invitations, confirmations) goes from while no sender
 * is set, so a fresh install can still invite its staff; newsletters are refused until one is.
 */
export const FALLBACK_SENDER_ADDRESS = 'footfall@localhost';

/** True once an admin (or MAIL_FROM) named a sender: newsletters may go out. */
export function isSenderSet(settings: Pick<Settings, 'senderAddress'>): boolean {
  return settings.senderAddress !== '';
}

/** The sender as the mailer gets it: an address object, whose name nodemailer quotes or encodes whatever it holds. */
export function senderMailbox(settings: Pick<Settings, 'senderName' | 'senderAddress' | 'siteName'>): Mailbox {
  if (!isSenderSet(settings))
    return { name: displayName(settings.senderName || settings.siteName), address: FALLBACK_SENDER_ADDRESS };
  return { name: displayName(settings.senderName), address: settings.senderAddress };
}

/** "Monday: Closed" lines, as the settings form shows them. */
export function openingHoursText(lines: readonly OpeningHoursLine[]): string {
  return lines.map((line) => `${line.days}: ${line.time}`).join('\n');
}

/** True for an IANA zone name that this runtime knows (not offsets such as "+01:00"). */
export function isValidTimeZone(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(value) || value.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function serverTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isValidTimeZone(zone) ? zone : 'UTC';
}

/** Defaults of the tracking thresholds (settings a form without them keeps). */
export const trackingThresholdDefaults = {
  botClickSeconds: 10,
  clickBurstLinks: 3,
  clickBurstSeconds: 30,
  prefetchSeconds: 600,
} as const;

const seconds = (label: string, min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `Enter the ${label} as a whole number.` })
    .int(`Enter the ${label} as a whole number.`)
    .min(min, `The ${label} is at least ${min}.`)
    .max(max, `The ${label} is at most ${max}.`)
    .default(fallback);

/** The site's name until Settings say otherwise: the name of the example site the articles ship with. */
export const DEFAULT_SITE_NAME = 'Frobozz Electric';

/** The defaults: the sender from MAIL_FROM (none without it), the site URL from SITE_URL, no postal address, phone or hours. */
export function defaultSettings(
  config: Pick<Readonly<Config>, 'siteUrl'> & { mail: { from?: string | undefined } },
): Settings {
  const sender = config.mail.from ? parseMailbox(config.mail.from) : undefined;
  return {
    siteName: DEFAULT_SITE_NAME,
    siteUrl: config.siteUrl,
    senderName: sender?.ok && sender.mailbox.name ? sender.mailbox.name : DEFAULT_SITE_NAME,
    senderAddress: sender?.ok ? sender.mailbox.address.toLowerCase() : '',
    replyTo: null,
    postalAddress: '',
    placeName: '',
    phone: '',
    openingHours: [],
    timeZone: serverTimeZone(),
    openTracking: true,
    clickTracking: true,
    personTracking: true,
    attributionWindowDays: 7,
    retentionDays: 395,
    ...trackingThresholdDefaults,
    networkOverrides: '',
  };
}

const singleLine = (label: string, max: number) =>
  z
    .string({ error: `Enter the ${label}.` })
    .transform((v) => v.trim())
    .pipe(
      z
        .string()
        .min(1, `Enter the ${label}.`)
        .max(max, `Use at most ${max} characters for the ${label}.`)
        .refine(
          (v) => v.isWellFormed() && !/[\p{Cc}\u2028\u2029]/u.test(v),
          `The ${label} cannot contain line breaks or control characters.`,
        ),
    );

/** An address the mailer accepts (so the embedded default newsletter@localhost saves too), lower-cased. */
const address = (label: string) =>
  z.string({ error: `Enter the ${label}.` }).transform((value, ctx) => {
    const email = value.trim().toLowerCase();
    if (/[\p{Cc}\s]/u.test(email) || !isValidEmailAddress(email)) {
      ctx.addIssue({ code: 'custom', message: `The ${label} is not a valid email address, such as news@example.com.` });
      return z.NEVER;
    }
    return email;
  });

const days = (label: string, min: number, max: number) =>
  z.coerce
    .number({ error: `Enter the ${label} as a whole number of days.` })
    .int(`Enter the ${label} as a whole number of days.`)
    .min(min, `The ${label} is at least ${min} day${min === 1 ? '' : 's'}.`)
    .max(max, `The ${label} is at most ${max} days.`);

/**
 * A field the form may leave empty. Astro's form reader hands an empty field to the schema as null
 * (not undefined) unless the field's outermost type is optional, which a defaulted one is not; read
 * null as the empty text it was.
 */
const emptyAllowed = <T extends z.ZodType>(schema: T) => z.preprocess((value) => value ?? '', schema);

/** What the settings form may store; each refusal is a sentence naming the field. */
export const settingsSchema = z
  .object({
    siteName: singleLine('site name', 100),
    siteUrl: z
      .string({ error: 'Enter the site URL.' })
      .trim()
      .pipe(
        z
          .url({
            protocol: /^https?$/,
            error: 'Enter the site URL with http:// or https://, e.g. https://www.example.com.',
          })
          .max(300),
      )
      .transform((v) => v.replace(/\/+$/, '')),
    senderName: singleLine('sender name', 100),
    senderAddress: address('sender address'),
    replyTo: z
      .union([z.literal('').transform(() => null), z.null(), address('reply-to address')])
      .optional()
      .transform((v) => v ?? null),
    postalAddress: z
      .string({ error: 'Enter the postal address.' })
      .transform((v) => v.replace(/\r\n?/g, '\n').trim())
      .pipe(
        z
          .string()
          .min(1, 'Enter the postal address: every newsletter must show one.')
          .max(500, 'Use at most 500 characters for the postal address.')
          .refine(
            (v) => v.isWellFormed() && !/[\0-\x09\x0b-\x1f\x7f]/.test(v),
            'The postal address cannot contain control characters.',
          ),
      ),
    placeName: emptyAllowed(
      z
        .string({ error: 'Enter the place name as text.' })
        .transform((v) => v.trim())
        .pipe(
          z
            .string()
            .max(60, 'Use at most 60 characters for the place name.')
            .refine(
              (v) => v.isWellFormed() && !/[\p{Cc}\u2028\u2029]/u.test(v),
              'The place name cannot contain line breaks or control characters.',
            ),
        ),
    )
      .optional()
      .default(''),
    phone: emptyAllowed(
      z
        .string({ error: 'Enter the phone number as text.' })
        .transform((v) => v.trim())
        .pipe(
          z
            .string()
            .max(40, 'Use at most 40 characters for the phone number.')
            .refine(
              (v) => v === '' || normalizePhone(v) !== undefined,
              'Enter the phone number as digits, e.g. +44 1632 960000 or (555) 0142 (spaces, brackets and hyphens are fine), or leave it empty.',
            ),
        ),
    )
      .optional()
      .default(''),
    // Lines of text from the form; the stored list when read back.
    openingHours: emptyAllowed(
      z
        .union([z.string(), z.array(z.object({ days: z.string(), time: z.string() }))], {
          error: 'Enter the opening hours as text.',
        })
        .transform((value, ctx) => parseOpeningHours(typeof value === 'string' ? value : openingHoursText(value), ctx)),
    )
      .optional()
      .default([]),
    timeZone: z
      .string({ error: 'Choose a time zone.' })
      .trim()
      .refine(isValidTimeZone, 'Use an IANA time zone name such as Europe/Amsterdam or America/New_York.'),
    openTracking: z.boolean(),
    clickTracking: z.boolean(),
    personTracking: z.boolean(),
    attributionWindowDays: days('attribution window', 1, 90),
    retentionDays: days('data retention', 30, 3650),
    botClickSeconds: seconds(
      'seconds after delivery for a bot click',
      0,
      3600,
      trackingThresholdDefaults.botClickSeconds,
    ),
    clickBurstLinks: seconds('number of links in a click burst', 2, 100, trackingThresholdDefaults.clickBurstLinks),
    clickBurstSeconds: seconds('seconds of a click burst', 1, 600, trackingThresholdDefaults.clickBurstSeconds),
    prefetchSeconds: seconds(
      'seconds after delivery for a prefetch',
      0,
      86_400,
      trackingThresholdDefaults.prefetchSeconds,
    ),
    networkOverrides: emptyAllowed(
      z
        .string({ error: 'Enter the networks as text, one a line.' })
        .max(50_000, 'Use at most 50,000 characters for the networks.')
        .transform((value, ctx) => {
          const parsed = parseNetworkOverrides(value);
          if (parsed.ok) return parsed.text;
          const shown = parsed.errors.slice(0, 5).join(' ');
          const more = parsed.errors.length > 5 ? ` (and ${parsed.errors.length - 5} more lines to correct)` : '';
          ctx.addIssue({ code: 'custom', message: `${shown}${more} Nothing was saved.` });
          return z.NEVER;
        }),
    )
      // Outermost, so a form without the field (Astro leaves it out) keeps the default.
      .default(''),
  })
  .refine((s) => s.retentionDays >= s.attributionWindowDays, {
    error: 'Keep data at least as long as the attribution window.',
    path: ['retentionDays'],
  });

export type SettingsInput = z.input<typeof settingsSchema>;

const HOURS_LINE = /^(.{1,60}?)\s*:\s+(.{1,60})$/;

/** "Monday: Closed" one per line (blank lines skipped) → lines; a refusal names the first line that is not one. */
function parseOpeningHours(text: string, ctx: z.RefinementCtx): OpeningHoursLine[] {
  if (text.length > 2000) {
    ctx.addIssue({ code: 'custom', message: 'The opening hours are far too long.' });
    return z.NEVER;
  }
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length > 14) {
    ctx.addIssue({ code: 'custom', message: 'Use at most 14 lines for the opening hours.' });
    return z.NEVER;
  }
  const parsed: OpeningHoursLine[] = [];
  for (const [i, line] of lines.entries()) {
    const match = HOURS_LINE.exec(line);
    if (!match || !line.isWellFormed() || /\p{Cc}/u.test(line)) {
      ctx.addIssue({
        code: 'custom',
        message: `Write each line of the opening hours as “days: hours”, e.g. “Monday – Friday: 9:00 – 17:30” (line ${i + 1} is not).`,
      });
      return z.NEVER;
    }
    parsed.push({ days: match[1]!.trim(), time: match[2]!.trim() });
  }
  return parsed;
}
