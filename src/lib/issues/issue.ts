import { z } from 'zod';
import type { IssueLinkKind, IssueStatus } from '../db/schema.ts';
import { normalizePhone } from '../phone/phone-number.ts';

export type { IssueLinkKind, IssueStatus } from '../db/schema.ts';

/** An article as a card in an issue: what the route passes in from the content collection. */
export interface FeaturedArticle {
  /** The article's id in the collection: its page is /articles/<slug>/. */
  slug: string;
  title: string;
  description: string;
  /** A site path (/images/x.svg) or absolute URL; null without a picture. */
  image: string | null;
  imageAlt: string | null;
}

/** An issue as the rest of Footfall sees it (times epoch ms). */
export interface Issue {
  id: number;
  slug: string;
  subject: string;
  preheader: string;
  bodyMarkdown: string;
  featuredArticles: FeaturedArticle[];
  status: IssueStatus;
  createdBy: number | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  /** Calls to it are credited to this issue. Normalised ("+441632960001"); null without one. */
  trackedPhone: string | null;
  /** The same number as the marketer typed it ("+44 (0)1632 960001"): what the footer, archive and admin show. */
  trackedPhoneDisplay: string | null;
  /** True once the snapshot is stored (sending started): the content can no longer change. */
  frozen: boolean;
}

/** A registered link: click redirects go only to `url`. */
export interface IssueLink {
  id: number;
  position: number;
  url: string;
  label: string;
  kind: IssueLinkKind;
}

export const SUBJECT_MAX = 150;
export const PREHEADER_MAX = 250;
export const SLUG_MAX = 80;
export const BODY_MAX = 200_000;
export const FEATURED_MAX = 12;
const SLUG_SHAPE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** "Winter is coming — 20% off!" → "winter-is-coming-20-off" (empty when nothing is left). */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX)
    .replace(/-+$/, '');
}

export function isSlug(value: string): boolean {
  return value.length <= SLUG_MAX && SLUG_SHAPE.test(value);
}

const oneLine = (label: string, max: number, required: boolean) =>
  z
    .string({ error: required ? `Enter the ${label}.` : `The ${label} must be text.` })
    .transform((v) => v.replace(/\s+/g, ' ').trim())
    .pipe(
      z
        .string()
        .min(required ? 1 : 0, `Enter the ${label}.`)
        .max(max, `Keep the ${label} to ${max} characters at most.`)
        .refine(
          (v) => v.isWellFormed() && !/[\p{Cc}\u2028\u2029]/u.test(v),
          `The ${label} cannot contain control characters.`,
        ),
    );

/**
 * What composing an issue accepts, from the admin form and from `POST /api/issues` alike.
 * Field names are the API's. Each refusal is a sentence naming the field.
 */
export const issueInputSchema = z.object({
  subject: oneLine('subject', SUBJECT_MAX, true),
  // Optional fields stay plain .optional() (no .default): Astro's form parsing reads an empty
  // field as undefined only then. Absent means empty.
  preheader: oneLine('preheader', PREHEADER_MAX, false).optional(),
  /** Empty or absent: made from the subject. */
  slug: z
    .string({ error: 'The slug must be text.' })
    .trim()
    .toLowerCase()
    .refine(
      (v) => v === '' || isSlug(v),
      `Use lower-case letters, digits and single hyphens for the slug (at most ${SLUG_MAX} characters), e.g. winter-offers.`,
    )
    .optional(),
  body_markdown: z
    .string({ error: 'The body must be Markdown text.' })
    .max(BODY_MAX, `Keep the body under ${BODY_MAX.toLocaleString('en')} characters.`)
    .transform((v) => v.replace(/\r\n?/g, '\n'))
    .refine(
      (v) => v.isWellFormed() && !/[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(v),
      'The body cannot contain control characters.',
    )
    .optional(),
  featured_articles: z
    .array(z.string({ error: 'Name each featured article by its slug.' }).trim().max(200), {
      error: 'List the featured articles as slugs, e.g. ["choosing-your-first-widget"].',
    })
    .max(FEATURED_MAX, `Feature at most ${FEATURED_MAX} articles.`)
    .optional(),
  /** Empty, absent or null: none. The number as typed (spaces collapsed): the service keeps it for people and normalises it for matching calls. */
  tracked_phone: z
    .string({ error: 'The tracked phone number must be text.' })
    .trim()
    .refine(
      (v) => v === '' || normalizePhone(v) !== undefined,
      'Enter the tracked phone number as digits, e.g. +44 1632 960001 (spaces, brackets and hyphens are fine), or leave it empty.',
    )
    .transform((v) => (v === '' ? null : v.replace(/\s+/g, ' ')))
    .nullable()
    .optional(),
});

/** Per-field messages from a failed parse: `{ subject: 'Enter the subject.' }`. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? 'body');
    fields[key] ??= issue.message;
  }
  return fields;
}
