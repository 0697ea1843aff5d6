import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IssueLinkKind } from '../db/schema.ts';
import { compilePlaceholders, escapeHtml } from '../mail/placeholders.ts';
import { deriveTextFromHtml } from '../mail/plain-text.ts';
import { defaultEmailsDir, EmailTemplateError } from '../mail/templates.ts';
import type { FeaturedArticle } from './issue.ts';
import { classifyHref, utmContent, withUtm } from './links.ts';
import { renderMarkdown } from './markdown.ts';

/**
 * One issue → one email, rendered once per issue (MJML costs milliseconds; sending only fills
 * placeholders): Markdown → HTML → the MJML newsletter layout (emails/layouts/newsletter.mjml
 * and its partials) → mjml2html → link rewriting.
 *
 * Rewriting registers every link of the email once, in order (position, target, label, kind)
 * and, with click tracking on, replaces it by `${siteUrl}/t/c/{{click_N}}`; own-site targets
 * carry UTM tags whatever the tracking settings. The result is a template whose only
 * placeholders are per recipient:
 *
 *   {{open}}            the open-pixel token           (/t/o/{{open}})
 *   {{click_N}}         the click token of link N       (/t/c/{{click_N}})
 *   {{unsubscribeUrl}}  the recipient's unsubscribe page
 *   {{preferencesUrl}}  the recipient's preferences page
 */

export interface RenderSettings {
  siteName: string;
  /** No trailing slash. */
  siteUrl: string;
  postalAddress: string;
  openTracking: boolean;
  clickTracking: boolean;
}

export interface IssueContent {
  slug: string;
  subject: string;
  preheader: string;
  bodyMarkdown: string;
  featuredArticles: readonly FeaturedArticle[];
  /** Normalised ("+441632960001"): the footer's "Call us at …" link dials it; absent or null for none. */
  trackedPhone?: string | null;
  /** The number as the marketer typed it: what the footer shows (the normalised one without it). */
  trackedPhoneDisplay?: string | null;
}

/** A link found while rewriting, before it has an id. `url` is the registered target. */
export interface RenderedLink {
  position: number;
  url: string;
  label: string;
  kind: IssueLinkKind;
}

/** A link that cannot go out; its href was replaced by "#" in the email. */
export interface LinkProblem {
  href: string;
  label: string;
  reason: string;
}

export interface ImageRef {
  src: string;
  alt: string | null;
  /** The open pixel (alt="" on purpose). */
  pixel: boolean;
}

export interface RenderedIssue {
  subject: string;
  /** HTML with per-recipient placeholders only. */
  html: string;
  /** The plain-text part, derived once from `html`, with the same placeholders. */
  text: string;
  links: RenderedLink[];
  problems: LinkProblem[];
  images: ImageRef[];
  openTracking: boolean;
  clickTracking: boolean;
  /** How long mjml2html took (ms): the unit the personalisation benchmark compares against. */
  mjmlMs: number;
}

export const PERSONAL_PLACEHOLDERS = ['open', 'unsubscribeUrl', 'preferencesUrl'] as const;
const ISSUE_PLACEHOLDERS = ['subject', 'preheader', 'siteName', 'siteUrl', 'postalAddress'] as const;
/** Filled with markup the renderer makes (the footer's phone line, empty without a number), not with escaped text. */
const TRACKED_PHONE_LINE = 'trackedPhoneLine';
const CLICK_PLACEHOLDER = /^click_(\d+)$/;
const HONEYPOT = '{{honeypotUrl}}';
const REQUIRED_SLOTS = ['open-pixel', 'body', 'articles', 'honeypot'] as const;

export function isClickPlaceholder(name: string): number | undefined {
  const match = CLICK_PLACEHOLDER.exec(name);
  return match ? Number(match[1]) : undefined;
}

const slot = (name: string) => `<!-- slot: ${name} -->`;

async function readEmailFile(emailsDir: string, relative: string): Promise<string> {
  try {
    return await readFile(path.join(emailsDir, relative), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new EmailTemplateError(`No ${relative} in ${emailsDir}`);
    throw error;
  }
}

/** Fills `{{name}}` in an MJML partial with HTML-escaped values; a name without a value is an error. */
function fillPartial(source: string, values: Record<string, string>, label: string): string {
  return source.replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
    if (!Object.hasOwn(values, name)) throw new EmailTemplateError(`${label}: unknown placeholder {{${name}}}`);
    return escapeHtml(values[name]!);
  });
}

function absoluteUrl(value: string, siteUrl: string): string {
  try {
    return new URL(value, siteUrl + '/').href;
  } catch {
    return value;
  }
}

async function articleCards(
  articles: readonly FeaturedArticle[],
  settings: RenderSettings,
  emailsDir: string,
): Promise<string> {
  if (articles.length === 0) return '';
  const [list, card] = await Promise.all([
    readEmailFile(emailsDir, 'partials/featured-articles.mjml'),
    readEmailFile(emailsDir, 'partials/article-card.mjml'),
  ]);
  if (!list.includes(slot('cards')))
    throw new EmailTemplateError(`partials/featured-articles.mjml has no ${slot('cards')} marker`);
  const withoutImage = card.replace(/\s*<mj-image\b[^>]*\/>/, '');
  const cards = articles.map((article) =>
    fillPartial(
      article.image ? card : withoutImage,
      {
        url: `${settings.siteUrl}/articles/${article.slug}/`,
        title: article.title,
        description: article.description,
        imageUrl: article.image ? absoluteUrl(article.image, settings.siteUrl) : '',
        imageAlt: article.imageAlt ?? '',
      },
      'partials/article-card.mjml',
    ),
  );
  return list.replace(slot('cards'), cards.join('\n'));
}

function openPixel(settings: RenderSettings): string {
  if (!settings.openTracking) return '';
  return `<mj-raw><img src="${escapeHtml(settings.siteUrl)}/t/o/{{open}}" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;overflow:hidden;" /></mj-raw>`;
}

/** One link no person sees or hears (display:none, aria-hidden, out of the tab order): a click on it is a bot's. */
function honeypot(settings: RenderSettings): string {
  if (!settings.clickTracking) return '';
  return `<mj-raw><div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:0;line-height:0;" aria-hidden="true"><a href="${HONEYPOT}" tabindex="-1" aria-hidden="true" style="color:transparent;text-decoration:none;">&#8203;</a></div></mj-raw>`;
}

interface MjmlNode {
  errors?: { type: string; params?: { file?: string } }[];
  children?: MjmlNode[];
  line?: number;
  file?: string;
}

function includeFailures(node: MjmlNode | undefined, found: string[] = []): string[] {
  if (!node) return found;
  for (const error of node.errors ?? [])
    found.push(`${error.type}${error.params?.file ? ` ${error.params.file}` : ''}`);
  for (const child of node.children ?? []) includeFailures(child, found);
  return found;
}

/** The MJML source of an issue (slots filled, placeholders not yet). */
export async function composeIssueMjml(
  content: IssueContent,
  settings: RenderSettings,
  emailsDir = defaultEmailsDir(),
): Promise<string> {
  const layout = await readEmailFile(emailsDir, 'layouts/newsletter.mjml');
  for (const name of REQUIRED_SLOTS)
    if (!layout.includes(slot(name)))
      throw new EmailTemplateError(`layouts/newsletter.mjml has no ${slot(name)} marker`);
  const body = renderMarkdown(content.bodyMarkdown, 'email', settings.siteUrl);
  const cards = await articleCards(content.featuredArticles, settings, emailsDir);
  // Replacement functions: a "$" in the body must stay a "$".
  return layout
    .replace(slot('open-pixel'), () => openPixel(settings))
    .replace(slot('body'), () => body)
    .replace(slot('articles'), () => cards)
    .replace(slot('honeypot'), () => honeypot(settings));
}

/** mjml2html (async in MJML 5), strict, includes confined to emails/. */
export async function runMjml(mjml: string, emailsDir = defaultEmailsDir()): Promise<{ html: string; ms: number }> {
  const { default: mjml2html } = await import('mjml');
  const started = performance.now();
  let result;
  try {
    result = await mjml2html(mjml, {
      filePath: path.join(emailsDir, 'layouts/newsletter.mjml'),
      includePath: emailsDir,
      ignoreIncludes: false,
      validationLevel: 'strict',
      keepComments: false,
      fonts: {},
    });
  } catch (error) {
    throw new EmailTemplateError(
      `newsletter: MJML refused it: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const ms = performance.now() - started;
  const failures = includeFailures(result.json as MjmlNode);
  if (failures.length > 0 || result.errors.length > 0) {
    throw new EmailTemplateError(
      `newsletter: ${[...failures.map((f) => `mj-include failed: ${f}`), ...result.errors.map((e) => e.formattedMessage)].join('; ')}`,
    );
  }
  return { html: result.html, ms };
}

/** "Call us at <a href="tel:…">…</a><br />": a tel: link like any other, so link rewriting registers and tracks it. */
function trackedPhoneLine(trackedPhone: string | null | undefined, display: string | null | undefined): string {
  if (!trackedPhone) return '';
  return `Call us at <a href="tel:${escapeHtml(trackedPhone)}" style="color:#4f5a6b;text-decoration:underline;">${escapeHtml(display || trackedPhone)}</a><br />`;
}

/** Issue-level placeholders filled (escaped); per-recipient ones written back as {{name}}. */
function fillIssuePlaceholders(html: string, content: IssueContent, settings: RenderSettings): string {
  const template = compilePlaceholders(html, 'newsletter');
  const values: Record<(typeof ISSUE_PLACEHOLDERS)[number], string> = {
    subject: content.subject,
    preheader: content.preheader,
    siteName: settings.siteName,
    siteUrl: settings.siteUrl,
    postalAddress: settings.postalAddress.replace(/\s*\n\s*/g, ', '),
  };
  let out = template.parts[0]!;
  template.names.forEach((name, i) => {
    if (Object.hasOwn(values, name)) out += escapeHtml(values[name as keyof typeof values]);
    else if (name === TRACKED_PHONE_LINE) out += trackedPhoneLine(content.trackedPhone, content.trackedPhoneDisplay);
    else if ((PERSONAL_PLACEHOLDERS as readonly string[]).includes(name) || name === 'honeypotUrl')
      out += `{{${name}}}`;
    else
      throw new EmailTemplateError(
        `newsletter: unknown placeholder {{${name}}} (issue-level: ${ISSUE_PLACEHOLDERS.join(', ')}; per recipient: ${PERSONAL_PLACEHOLDERS.join(', ')})`,
      );
    out += template.parts[i + 1]!;
  });
  return out;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes the entities an attribute value can hold (&amp; &#38; &#x26; …). */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, code: string) => {
    if (code.startsWith('#')) {
      const point = code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10);
      return Number.isFinite(point) && point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : entity;
    }
    return ENTITIES[code.toLowerCase()] ?? entity;
  });
}

/** The value of one attribute in a start tag, entities decoded; undefined when absent. */
export function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i').exec(tag);
  if (!match) return undefined;
  return decodeEntities(match[1] ?? match[2] ?? match[3] ?? '');
}

function replaceAttribute(tag: string, name: string, value: string): string {
  return tag.replace(
    new RegExp(`(\\s${name}\\s*=\\s*)(?:"[^"]*"|'[^']*'|[^\\s"'>]+)`, 'i'),
    (_, lead: string) => `${lead}"${value}"`,
  );
}

/** What a person reads as the link: its text, else the alt text of an image in it. */
function linkLabel(inner: string): string {
  const text = decodeEntities(inner.replace(/<[^>]*>/g, ' '))
    .replace(/[\s\u200b]+/g, ' ')
    .trim();
  if (text) return text.slice(0, 200);
  const alt = /<img\b[^>]*>/i.exec(inner);
  return (alt ? attribute(alt[0], 'alt')?.trim() : undefined)?.slice(0, 200) ?? '';
}

/** Every <img> of an email: its src and alt (null when there is no alt attribute). */
export function scanImages(html: string, siteUrl: string): ImageRef[] {
  const images: ImageRef[] = [];
  for (const match of html.matchAll(/<img\b[^>]*>/gi)) {
    const src = attribute(match[0], 'src') ?? '';
    images.push({ src, alt: attribute(match[0], 'alt') ?? null, pixel: src.startsWith(`${siteUrl}/t/o/`) });
  }
  return images;
}

interface Rewritten {
  html: string;
  links: RenderedLink[];
  problems: LinkProblem[];
}

/**
 * Registers every <a href> of the email in order and rewrites it: tracked (/t/c/{{click_N}})
 * or the plain target. The recipient's own unsubscribe and preferences links stay as they
 * are: they carry their own signed token and must work without a redirect.
 */
export function rewriteLinks(html: string, content: Pick<IssueContent, 'slug'>, settings: RenderSettings): Rewritten {
  const links: RenderedLink[] = [];
  const problems: LinkProblem[] = [];
  let out = '';
  let last = 0;
  const anchors = /<a\b[^>]*>/gi;
  for (let match = anchors.exec(html); match; match = anchors.exec(html)) {
    const tag = match[0];
    const href = attribute(tag, 'href');
    out += html.slice(last, match.index);
    last = match.index + tag.length;
    if (href === undefined || href === '{{unsubscribeUrl}}' || href === '{{preferencesUrl}}') {
      out += tag;
      continue;
    }
    const close = html.indexOf('</a>', last);
    const label = linkLabel(close === -1 ? '' : html.slice(last, close));
    let target: { url: string; kind: IssueLinkKind };
    if (href === HONEYPOT) {
      target = { url: `${settings.siteUrl}/`, kind: 'honeypot' };
    } else {
      const classified = classifyHref(href, settings.siteUrl);
      if (!classified.ok) {
        problems.push({ href, label, reason: classified.reason });
        out += replaceAttribute(tag, 'href', '#');
        continue;
      }
      target = { url: classified.url, kind: classified.kind };
    }
    const position = links.length + 1;
    const url = target.kind === 'site' ? withUtm(target.url, content.slug, utmContent(position, label)) : target.url;
    links.push({ position, url, label: target.kind === 'honeypot' ? 'honeypot' : label || url, kind: target.kind });
    const written = settings.clickTracking
      ? `${escapeHtml(settings.siteUrl)}/t/c/{{click_${position}}}`
      : escapeHtml(url);
    out += replaceAttribute(tag, 'href', written);
  }
  out += html.slice(last);
  return { html: out, links, problems };
}

/** Relative image sources made absolute (mail clients have no base URL). */
function absoluteImages(html: string, siteUrl: string): string {
  return html.replace(/<img\b[^>]*>/gi, (tag) => {
    const src = attribute(tag, 'src');
    if (src === undefined || /^[a-z][a-z0-9+.-]*:/i.test(src) || src.includes('{{')) return tag;
    return replaceAttribute(tag, 'src', escapeHtml(absoluteUrl(src, siteUrl)));
  });
}

// Braces written by the issue's author are entities in the HTML; html-to-text would decode
// them into text that looks like placeholders. They travel as private-use characters instead.
const OPEN_BRACE = '\ue000';
const CLOSE_BRACE = '\ue001';

/**
 * The plain-text template: derived once per issue from the HTML template. A link around
 * nothing but an image (a card's picture) would read as a bare URL: the text part leaves it
 * out — the card's title and button carry the same link.
 */
export function deriveTextTemplate(html: string): string {
  const shielded = html
    .replace(/<a\b[^>]*>\s*<img\b[^>]*>\s*<\/a>/gi, '')
    .replace(/&#123;|&#x7b;|&lbrace;/gi, OPEN_BRACE)
    .replace(/&#125;|&#x7d;|&rbrace;/gi, CLOSE_BRACE);
  return deriveTextFromHtml(shielded);
}

/** Back from the shielded form: the text with the author's braces as braces. */
export function unshieldBraces(text: string): string {
  return text.replaceAll(OPEN_BRACE, '{').replaceAll(CLOSE_BRACE, '}');
}

/** Renders an issue's email once. Throws EmailTemplateError when the layout or MJML is broken. */
export async function renderIssueEmail(
  content: IssueContent,
  settings: RenderSettings,
  options: { emailsDir?: string } = {},
): Promise<RenderedIssue> {
  const emailsDir = options.emailsDir ?? defaultEmailsDir();
  const mjml = await composeIssueMjml(content, settings, emailsDir);
  const { html: compiled, ms } = await runMjml(mjml, emailsDir);
  const filled = absoluteImages(fillIssuePlaceholders(compiled, content, settings), settings.siteUrl);
  const rewritten = rewriteLinks(filled, content, settings);
  return {
    subject: content.subject,
    html: rewritten.html,
    text: deriveTextTemplate(rewritten.html),
    links: rewritten.links,
    problems: rewritten.problems,
    images: scanImages(rewritten.html, settings.siteUrl),
    openTracking: settings.openTracking,
    clickTracking: settings.clickTracking,
    mjmlMs: ms,
  };
}
