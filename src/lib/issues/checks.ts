import type { IssueLinkKind } from '../db/schema.ts';
import { escapeHtml } from '../mail/placeholders.ts';
import type { ImageRef, LinkProblem } from './render.ts';
import { sitePath } from './links.ts';

/**
 * The pre-send checklist. An `error` blocks sending (and test sends stay possible, so the
 * marketer can look at the problem in an inbox); a `warning` is advice.
 */
export type CheckStatus = 'ok' | 'warning' | 'error';

export interface CheckResult {
  id: CheckId;
  label: string;
  status: CheckStatus;
  /** One sentence: what was found. */
  message: string;
  /** The offending items, when there are any (links, images, placeholders). */
  details?: string[];
}

export type CheckId =
  | 'sender'
  | 'size'
  | 'unsubscribe'
  | 'postal-address'
  | 'image-alt'
  | 'image-format'
  | 'links'
  | 'site-links'
  | 'articles'
  | 'subject'
  | 'preheader'
  | 'placeholders'
  | 'https';

/** Gmail clips a message at ~102 KB of HTML, and a clipped message loses its pixel. */
export const HTML_SIZE_LIMIT = 92 * 1024;
export const SUBJECT_ERROR_LENGTH = 150;
export const SUBJECT_WARNING_LENGTH = 70;
export const PREHEADER_ERROR_LENGTH = 250;
export const PREHEADER_WARNING_LENGTH = 140;

export interface CheckSubject {
  subject: string;
  preheader: string;
  bodyMarkdown: string;
  /** Featured article slugs that are not (or no longer) in the content collection. */
  unknownArticles: readonly string[];
  /** The HTML exactly as a recipient gets it (a sample recipient's message). */
  sampleHtml: string;
  /** The template, before personalisation. */
  templateHtml: string;
  /** Why the sample message could not be handed to the mailer (From, Reply-To, a header), when it could not. */
  mailProblem?: string | null;
  /** False while nobody set a sender (a fresh install): the sample goes from a placeholder address. */
  senderSet?: boolean;
  links: readonly { url: string; label: string; kind: IssueLinkKind }[];
  problems: readonly LinkProblem[];
  images: readonly ImageRef[];
  postalAddress: string;
  siteUrl: string;
  /**
   * Paths of the pages the site has (no trailing slash, "/" for home), e.g. "/articles/x".
   * Without it, own-site links are not checked (said so in the result).
   */
  knownPaths?: ReadonlySet<string>;
}

const PLACEHOLDER = /\{\{[^{}]{0,60}\}\}/g;

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

function describeLink(link: { url: string; label: string }): string {
  return link.label && link.label !== link.url ? `“${link.label}” → ${link.url}` : link.url;
}

function result(id: CheckId, label: string, status: CheckStatus, message: string, details?: string[]): CheckResult {
  return details && details.length > 0 ? { id, label, status, message, details } : { id, label, status, message };
}

function senderCheck(subject: CheckSubject): CheckResult {
  const label = 'Sender and headers can be sent';
  if (subject.senderSet === false)
    return result(
      'sender',
      label,
      'error',
      'No sender is set yet: enter the sender’s name and address under Settings (a fresh install has none, so nothing goes out in a made-up name).',
    );
  if (subject.mailProblem)
    return result(
      'sender',
      label,
      'error',
      `The message cannot be sent as it stands: ${subject.mailProblem}. Correct the sender under Settings.`,
    );
  return result('sender', label, 'ok', 'From, Reply-To and every header are valid.');
}

function sizeCheck(subject: CheckSubject): CheckResult {
  const bytes = Buffer.byteLength(subject.sampleHtml, 'utf8');
  const label = 'Size below 92 KB';
  if (bytes >= HTML_SIZE_LIMIT) {
    return result(
      'size',
      label,
      'error',
      `The HTML is ${kb(bytes)} after link rewriting: Gmail clips messages near 102 KB and a clipped message loses its open pixel. Shorten the body or feature fewer articles.`,
    );
  }
  return result('size', label, 'ok', `${kb(bytes)} of ${kb(HTML_SIZE_LIMIT)}.`);
}

function unsubscribeCheck(subject: CheckSubject): CheckResult {
  const label = 'Unsubscribe link';
  const inTemplate = /<a\b[^>]*\shref="\{\{unsubscribeUrl\}\}"/.test(subject.templateHtml);
  const inSample = subject.sampleHtml.includes(`${escapeHtml(subject.siteUrl)}/unsubscribe/`);
  if (!inTemplate || !inSample)
    return result(
      'unsubscribe',
      label,
      'error',
      'The footer has no unsubscribe link: the newsletter layout must link {{unsubscribeUrl}}.',
    );
  return result(
    'unsubscribe',
    label,
    'ok',
    'Every message has its own one-click unsubscribe link and List-Unsubscribe headers.',
  );
}

function postalAddressCheck(subject: CheckSubject): CheckResult {
  const label = 'Postal address';
  const line = subject.postalAddress.replace(/\s*\n\s*/g, ', ').trim();
  if (!line)
    return result(
      'postal-address',
      label,
      'error',
      'No postal address is set: add it under Settings (the law requires one in every newsletter).',
    );
  if (!subject.sampleHtml.includes(escapeHtml(line)))
    return result(
      'postal-address',
      label,
      'error',
      'The footer does not show the postal address: the newsletter layout must print {{postalAddress}}.',
    );
  return result('postal-address', label, 'ok', `The footer shows “${line}”.`);
}

function imageAltCheck(subject: CheckSubject): CheckResult {
  const label = 'Alt text on every image';
  const missing = subject.images.filter((image) => !image.pixel && (image.alt === null || image.alt.trim() === ''));
  if (missing.length > 0) {
    return result(
      'image-alt',
      label,
      'error',
      `${missing.length === 1 ? 'An image has' : `${missing.length} images have`} no alt text: many readers see images off, and screen readers read the alt text. In Markdown: ![what the picture shows](/images/x.png); for an article card, set heroAlt in its frontmatter.`,
      missing.map((image) => image.src),
    );
  }
  const count = subject.images.filter((image) => !image.pixel).length;
  return result(
    'image-alt',
    label,
    'ok',
    count === 0 ? 'No images.' : `${count} image${count === 1 ? '' : 's'}, each with alt text.`,
  );
}

function imageFormatCheck(subject: CheckSubject): CheckResult {
  const label = 'Image formats';
  const svg = subject.images.filter((image) => !image.pixel && /\.svgz?(?:[?#]|$)/i.test(image.src));
  if (svg.length > 0)
    return result(
      'image-format',
      label,
      'warning',
      'Gmail and Outlook do not show SVG images: those readers see the alt text instead. Use PNG or JPEG for pictures that matter.',
      svg.map((image) => image.src),
    );
  return result('image-format', label, 'ok', 'No SVG images.');
}

function linksCheck(subject: CheckSubject): CheckResult {
  const label = 'Every link is a valid http(s), mailto: or tel: address';
  if (subject.problems.length > 0) {
    return result(
      'links',
      label,
      'error',
      `${subject.problems.length === 1 ? 'A link cannot' : `${subject.problems.length} links cannot`} go out as written.`,
      subject.problems.map((p) => `“${p.label || p.href}” (${p.href.slice(0, 200)}) ${p.reason}`),
    );
  }
  const count = subject.links.filter((link) => link.kind !== 'honeypot').length;
  return result('links', label, 'ok', `${count} link${count === 1 ? '' : 's'}, all valid.`);
}

function siteLinksCheck(subject: CheckSubject): CheckResult {
  const label = 'Links to this site point at pages that exist';
  const own = subject.links.filter((link) => link.kind === 'site');
  if (!subject.knownPaths)
    return result('site-links', label, 'warning', 'Not checked here: the list of the site’s pages was not available.');
  const broken = own.filter((link) => !subject.knownPaths!.has(sitePath(link.url)));
  if (broken.length > 0) {
    return result(
      'site-links',
      label,
      'error',
      `${broken.length === 1 ? 'A link points' : `${broken.length} links point`} at a page this site does not have.`,
      broken.map(describeLink),
    );
  }
  return result(
    'site-links',
    label,
    'ok',
    own.length === 0
      ? 'No links to this site.'
      : `${own.length} link${own.length === 1 ? '' : 's'} to this site, each to a page that exists.`,
  );
}

function articlesCheck(subject: CheckSubject): CheckResult {
  const label = 'Featured articles exist';
  if (subject.unknownArticles.length > 0)
    return result(
      'articles',
      label,
      'error',
      'Some featured articles are no longer published: remove them from the issue.',
      [...subject.unknownArticles],
    );
  return result('articles', label, 'ok', 'Every featured article is published.');
}

function subjectCheck(subject: CheckSubject): CheckResult {
  const label = 'Subject length';
  const length = Array.from(subject.subject).length;
  if (length === 0) return result('subject', label, 'error', 'The subject is empty.');
  if (length > SUBJECT_ERROR_LENGTH)
    return result(
      'subject',
      label,
      'error',
      `The subject has ${length} characters; keep it under ${SUBJECT_ERROR_LENGTH}.`,
    );
  if (length > SUBJECT_WARNING_LENGTH)
    return result(
      'subject',
      label,
      'warning',
      `The subject has ${length} characters: inboxes show about ${SUBJECT_WARNING_LENGTH} (phones fewer), so say the important part first.`,
    );
  return result('subject', label, 'ok', `${length} characters.`);
}

function preheaderCheck(subject: CheckSubject): CheckResult {
  const label = 'Preheader length';
  const length = Array.from(subject.preheader).length;
  if (length === 0)
    return result(
      'preheader',
      label,
      'warning',
      'No preheader: inboxes will show the first words of the email instead.',
    );
  if (length > PREHEADER_ERROR_LENGTH)
    return result(
      'preheader',
      label,
      'error',
      `The preheader has ${length} characters; keep it under ${PREHEADER_ERROR_LENGTH}.`,
    );
  if (length > PREHEADER_WARNING_LENGTH)
    return result(
      'preheader',
      label,
      'warning',
      `The preheader has ${length} characters: inboxes show about 90–${PREHEADER_WARNING_LENGTH}.`,
    );
  return result('preheader', label, 'ok', `${length} characters.`);
}

function placeholderCheck(subject: CheckSubject): CheckResult {
  const label = 'No unresolved placeholders';
  const found: string[] = [];
  for (const [where, text] of [
    ['subject', subject.subject],
    ['preheader', subject.preheader],
    ['body', subject.bodyMarkdown],
  ] as const) {
    for (const match of text.matchAll(PLACEHOLDER)) found.push(`${match[0]} in the ${where}`);
  }
  for (const match of subject.sampleHtml.matchAll(PLACEHOLDER)) found.push(`${match[0]} in the rendered email`);
  if (found.length > 0) {
    return result(
      'placeholders',
      label,
      'error',
      'Footfall fills no personal fields such as {{name}}: a reader would see the braces. Write the text out.',
      [...new Set(found)].slice(0, 20),
    );
  }
  return result('placeholders', label, 'ok', 'None.');
}

function httpsCheck(subject: CheckSubject): CheckResult {
  const label = 'Site URL uses https';
  if (!subject.siteUrl.startsWith('https://')) {
    return result(
      'https',
      label,
      'warning',
      `The site URL is ${subject.siteUrl}: Gmail and Yahoo expect an https one-click unsubscribe link from bulk senders. Set an https site URL under Settings before a real send.`,
    );
  }
  return result('https', label, 'ok', 'Links and the unsubscribe address use https.');
}

/** Runs every check, in the order the checklist shows them. */
export function runChecks(subject: CheckSubject): CheckResult[] {
  return [
    senderCheck(subject),
    subjectCheck(subject),
    preheaderCheck(subject),
    placeholderCheck(subject),
    sizeCheck(subject),
    unsubscribeCheck(subject),
    postalAddressCheck(subject),
    imageAltCheck(subject),
    imageFormatCheck(subject),
    linksCheck(subject),
    siteLinksCheck(subject),
    articlesCheck(subject),
    httpsCheck(subject),
  ];
}

export function hasBlockingErrors(checks: readonly CheckResult[]): boolean {
  return checks.some((check) => check.status === 'error');
}

/** The errors, as one sentence each: why sending is refused. */
export function blockingMessages(checks: readonly CheckResult[]): string[] {
  return checks.filter((check) => check.status === 'error').map((check) => `${check.label}: ${check.message}`);
}
