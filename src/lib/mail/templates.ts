import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePlaceholders, fillPlaceholders, listPlaceholders, type PlaceholderTemplate } from './placeholders.ts';
import { deriveLineFromHtml, deriveTextFromHtml } from './plain-text.ts';

/** What every transactional email shows: the header's name and link, the footer's address. */
export interface SiteEmailData {
  siteName: string;
  /** The public site URL (SITE_URL), linked from the header and footer. */
  siteUrl: string;
  /** One line, e.g. "12 Flathead Row, Frobozz FE1 2AB" (required in commercial email). */
  postalAddress: string;
}

/** Each email in emails/ and the placeholders it needs. Values are HTML-escaped; `…Url` values must be http(s) URLs. */
export interface EmailTemplateData {
  /** Double opt-in: "Confirm your subscription" button and link. */
  'confirm-subscription': SiteEmailData & { confirmUrl: string };
  /** `expiresIn` reads in a sentence: "1 hour", "30 minutes". */
  'password-reset': SiteEmailData & { resetUrl: string; expiresIn: string };
  /** An admin invited someone: `role` as shown to people ("marketer"), `expiresIn` e.g. "7 days". */
  invite: SiteEmailData & { inviterName: string; role: string; inviteUrl: string; expiresIn: string };
  /** After a confirmed signup: the person's own preferences and unsubscribe links in its footer. */
  welcome: SiteEmailData & { preferencesUrl: string; unsubscribeUrl: string };
  /** A fresh preferences link someone asked for; `expiresIn` e.g. "60 days". */
  'preferences-link': SiteEmailData & { preferencesUrl: string; expiresIn: string };
  /** Sign-ins to an account were paused after wrong passwords: `attempts` "10", `until` a time in words, `changeUrl` the account page. */
  'sign-in-attempts': SiteEmailData & { attempts: string; until: string; accountUrl: string };
}

export type EmailTemplateName = keyof EmailTemplateData;

export interface RenderedEmail {
  /** From the email's <mj-title>. */
  subject: string;
  html: string;
  text: string;
}

export class EmailTemplateError extends Error {
  override name = 'EmailTemplateError';
}

interface CompiledEmail {
  subject: PlaceholderTemplate;
  html: PlaceholderTemplate;
}

/** An email file that starts with `<!-- layout: NAME -->` is poured into emails/layouts/NAME.mjml at this marker. */
const LAYOUT_DECLARATION = /^\s*<!--\s*layout:\s*([a-z0-9-]+)\s*-->/;
const CONTENT_SLOT = '<!-- slot: content -->';
const TEMPLATE_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

let foundEmailsDir: string | undefined;

/**
 * The project's emails/ folder: found by walking up from this module, so it is the same
 * from src/lib/mail (tests, scripts) and from Astro's bundle under dist/<build>/server.
 */
export function defaultEmailsDir(): string {
  if (foundEmailsDir) return foundEmailsDir;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'emails', 'layouts')))
      return (foundEmailsDir = path.join(dir, 'emails'));
    const parent = path.dirname(dir);
    if (parent === dir) return (foundEmailsDir = path.resolve('emails'));
    dir = parent;
  }
}

interface MjmlNode {
  tagName?: string;
  line?: number;
  file?: string;
  errors?: { type: string; params?: { file?: string } }[];
  children?: MjmlNode[];
}

/** mj-include failures (missing file, path outside emails/) — MJML reports them only as nodes in the tree, even when strict. */
function findIncludeFailures(node: MjmlNode | undefined, found: string[] = []): string[] {
  if (!node) return found;
  for (const error of node.errors ?? [])
    found.push(
      `${error.type}${error.params?.file ? ` ${error.params.file}` : ''} (line ${node.line ?? '?'} of ${node.file ?? '?'})`,
    );
  for (const child of node.children ?? []) findIncludeFailures(child, found);
  return found;
}

async function readTemplateFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new EmailTemplateError(`No ${what}: ${file} does not exist`);
    throw error;
  }
}

/** MJML → HTML once per email, never per recipient: MJML is slow to load and to run (docs/performance.md). */
async function compileEmail(emailsDir: string, name: string): Promise<CompiledEmail> {
  const label = `email "${name}"`;
  const emailFile = path.join(emailsDir, `${name}.mjml`);
  const source = await readTemplateFile(emailFile, `email template "${name}"`);
  const layout = LAYOUT_DECLARATION.exec(source)?.[1];
  let mjml = source;
  let filePath = emailFile;
  if (layout) {
    filePath = path.join(emailsDir, 'layouts', `${layout}.mjml`);
    const layoutSource = await readTemplateFile(filePath, `layout "${layout}" (declared by ${label})`);
    if (!layoutSource.includes(CONTENT_SLOT))
      throw new EmailTemplateError(`Layout "${layout}" has no ${CONTENT_SLOT} marker`);
    // The email itself becomes an mj-include: MJML merges its <mj-head> (title, preview) into
    // the layout's head and its <mj-body> sections into the slot.
    mjml = layoutSource.replace(
      CONTENT_SLOT,
      `<mj-include path="${path.relative(path.dirname(filePath), emailFile).split(path.sep).join('/')}" />`,
    );
  }
  return compileMjml(mjml, filePath, emailsDir, label);
}

/** MJML (a whole document) → the subject and HTML as placeholder templates; includes resolve under emails/. */
async function compileMjml(mjml: string, filePath: string, emailsDir: string, label: string): Promise<CompiledEmail> {
  const { default: mjml2html } = await import('mjml');
  let result;
  try {
    result = await mjml2html(mjml, {
      filePath, // includes resolve relative to the file that contains them…
      includePath: emailsDir, // …and may reach anywhere under emails/, nowhere else
      ignoreIncludes: false, // MJML 5 ignores mj-include unless told otherwise
      validationLevel: 'strict',
      keepComments: false,
      fonts: {}, // system fonts only: no web-font requests from the reader's mail client
    });
  } catch (error) {
    throw new EmailTemplateError(
      `${label}: MJML refused it: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const includeFailures = findIncludeFailures(result.json);
  if (includeFailures.length > 0 || result.errors.length > 0) {
    throw new EmailTemplateError(
      `${label}: ${[...includeFailures.map((f) => `mj-include failed: ${f}`), ...result.errors.map((e) => e.formattedMessage)].join('; ')}`,
    );
  }
  const title = /<title>([\s\S]*?)<\/title>/.exec(result.html)?.[1] ?? '';
  if (title.trim() === '') throw new EmailTemplateError(`${label} has no <mj-title>: it becomes the subject`);
  return { subject: compilePlaceholders(title, label), html: compilePlaceholders(result.html, label) };
}

const compiled = new Map<string, Promise<CompiledEmail>>();

function loadEmail(name: string, emailsDir: string): Promise<CompiledEmail> {
  if (!TEMPLATE_NAME.test(name))
    return Promise.reject(
      new EmailTemplateError(`Not an email template name: ${JSON.stringify(String(name).slice(0, 80))}`),
    );
  const key = `${emailsDir}\0${name}`;
  let entry = compiled.get(key);
  if (!entry) {
    entry = compileEmail(emailsDir, name);
    compiled.set(key, entry);
    entry.catch(() => compiled.delete(key)); // a broken template is retried once fixed
  }
  return entry;
}

/**
 * Renders one email for one recipient: the MJML is compiled once per template and cached;
 * each call only substitutes the HTML-escaped placeholder values and derives the text part.
 * Throws EmailTemplateError for MJML errors, PlaceholderError naming any unresolved placeholder.
 */
export async function renderEmail<N extends EmailTemplateName>(
  name: N,
  data: EmailTemplateData[N],
  options: { emailsDir?: string } = {},
): Promise<RenderedEmail> {
  const email = await loadEmail(name, options.emailsDir ?? defaultEmailsDir());
  const values = data as unknown as Record<string, string>;
  const label = `email "${name}"`;
  const html = fillPlaceholders(email.html, values, label);
  return {
    subject: deriveLineFromHtml(fillPlaceholders(email.subject, values, label)),
    html,
    text: deriveTextFromHtml(html),
  };
}

/**
 * An email whose body is built per mail rather than kept in emails/ (a list of any length, such
 * as the weekly digest's issues), inside one of the layouts. `title`, `preview` and `body` are
 * MJML in which every outside value was already escaped with escapeHtml; `{{placeholders}}` in
 * them and in the layout are filled from `data` like any email's. Compiled on every call (about
 * 10 ms): for mail to a handful of people, not per subscriber.
 */
export async function renderComposedEmail(
  layout: string,
  email: { title: string; preview: string; body: string },
  data: SiteEmailData & Record<string, string>,
  options: { emailsDir?: string } = {},
): Promise<RenderedEmail> {
  if (!TEMPLATE_NAME.test(layout))
    throw new EmailTemplateError(`Not a layout name: ${JSON.stringify(layout.slice(0, 80))}`);
  const emailsDir = options.emailsDir ?? defaultEmailsDir();
  const filePath = path.join(emailsDir, 'layouts', `${layout}.mjml`);
  const layoutSource = await readTemplateFile(filePath, `layout "${layout}"`);
  if (!layoutSource.includes(CONTENT_SLOT) || !layoutSource.includes('<mj-head>'))
    throw new EmailTemplateError(`Layout "${layout}" has no ${CONTENT_SLOT} marker or no <mj-head>`);
  const mjml = layoutSource
    .replace(
      '<mj-head>',
      () => `<mj-head>\n    <mj-title>${email.title}</mj-title>\n    <mj-preview>${email.preview}</mj-preview>`,
    )
    .replace(CONTENT_SLOT, () => email.body);
  const label = `composed email in layout "${layout}"`;
  const compiledEmail = await compileMjml(mjml, filePath, emailsDir, label);
  const html = fillPlaceholders(compiledEmail.html, data, label);
  return {
    subject: deriveLineFromHtml(fillPlaceholders(compiledEmail.subject, data, label)),
    html,
    text: deriveTextFromHtml(html),
  };
}

/** The placeholders an email uses (header, footer and layout included). */
export async function listEmailPlaceholders(name: string, options: { emailsDir?: string } = {}): Promise<string[]> {
  const email = await loadEmail(name, options.emailsDir ?? defaultEmailsDir());
  return [...new Set([...listPlaceholders(email.subject), ...listPlaceholders(email.html)])];
}

/** Forgets compiled templates (after editing emails/ in a running process). */
export function clearEmailCache(): void {
  compiled.clear();
}
