import { createHash, randomBytes } from 'node:crypto';
import type { DB } from '../db/database.ts';
import type { Mailer } from '../mail/mailer.ts';
import { getSettings, isSenderSet, senderMailbox, type Settings } from '../settings/settings.service.ts';
import { normalizeEmail } from '../subscribers/email-address.ts';
import { hasBlockingErrors, blockingMessages, runChecks, type CheckResult } from './checks.ts';
import {
  fieldErrors,
  issueInputSchema,
  slugify,
  type FeaturedArticle,
  type Issue,
  type IssueLink,
  type IssueStatus,
} from './issue.ts';
import {
  deleteLinksExcept,
  findFrozenIssueIds,
  findIssueById,
  findIssueBySlug,
  findLinksByIssue,
  findSlugsLike,
  findSnapshot,
  insertIssue,
  insertLinksIfMissing,
  insertSnapshotIfMissing,
  listIssueRows,
  retireLinksExcept,
  listSentIssueRows,
  updateIssueInStatus,
  type IssueLinkRow,
  type IssueRow,
  type IssueSnapshotRow,
} from './issues.repository.ts';
import { renderMarkdown } from './markdown.ts';
import { createPersonalizer, sampleRecipient, type IssueSnapshot, type SnapshotHeaders } from './personalize.ts';
import { renderIssueEmail, scanImages, type RenderedIssue, type RenderSettings } from './render.ts';
import { validateOutgoingMail, InvalidMailError, type OutgoingMail } from '../mail/message.ts';
import { describeMailError, isMailSendError } from '../mail/transport.ts';
import { normalizePhone } from '../phone/phone-number.ts';
import { phoneHash } from '../phone/phone-hash.ts';
import { formatMailbox, parseMailbox, type Mailbox } from '../text/mailbox.ts';

export interface IssueFailure {
  ok: false;
  /** 'mail-failed': the mail server refused or could not be reached; the message says what it answered. */
  reason: 'invalid' | 'not-found' | 'conflict' | 'mail-failed';
  message: string;
  /** Per field (API names: subject, preheader, slug, body_markdown, featured_articles, to). */
  fields?: Record<string, string>;
}
export type IssueOutcome<T> = { ok: true; value: T } | IssueFailure;

/** The articles an issue may feature, by slug: the route builds it from the content collection. */
export type ArticleCatalog = ReadonlyMap<string, FeaturedArticle>;

/** Statuses in which the content may still change (and no snapshot exists). */
export const EDITABLE_STATUSES: readonly IssueStatus[] = ['draft', 'scheduled'];

export class IssueNotReadyError extends Error {
  override name = 'IssueNotReadyError';
  readonly checks: CheckResult[];
  constructor(message: string, checks: CheckResult[] = []) {
    super(message);
    this.checks = checks;
  }
}

const invalid = (message: string, fields?: Record<string, string>): IssueFailure => ({
  ok: false,
  reason: 'invalid',
  message,
  ...(fields ? { fields } : {}),
});
const notFound = (): IssueFailure => ({ ok: false, reason: 'not-found', message: 'There is no such issue.' });

function parseFeatured(json: string): FeaturedArticle[] {
  try {
    const value = JSON.parse(json) as unknown;
    if (!Array.isArray(value)) return [];
    const items: unknown[] = value;
    return items
      .filter(
        (a): a is FeaturedArticle =>
          typeof a === 'object' &&
          a !== null &&
          'slug' in a &&
          typeof a.slug === 'string' &&
          'title' in a &&
          typeof a.title === 'string' &&
          'description' in a &&
          typeof a.description === 'string',
      )
      .map((a) => ({
        slug: a.slug,
        title: a.title,
        description: a.description,
        image: a.image ?? null,
        imageAlt: a.imageAlt ?? null,
      }));
  } catch {
    return [];
  }
}

function toIssue(row: IssueRow, frozen: boolean): Issue {
  return {
    id: Number(row.id),
    slug: row.slug,
    subject: row.subject,
    preheader: row.preheader,
    bodyMarkdown: row.body_markdown,
    featuredArticles: parseFeatured(row.featured_articles),
    status: row.status,
    createdBy: row.created_by === null ? null : Number(row.created_by),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    sentAt: row.sent_at === null ? null : Number(row.sent_at),
    trackedPhone: row.tracked_phone,
    trackedPhoneDisplay: row.tracked_phone_display ?? row.tracked_phone,
    frozen,
  };
}

export async function getIssue(db: DB, id: number): Promise<Issue | undefined> {
  if (!Number.isSafeInteger(id) || id <= 0) return undefined;
  const row = await findIssueById(db, id);
  if (!row) return undefined;
  return toIssue(row, (await findSnapshot(db, id)) !== undefined);
}

export interface IssueSummary {
  id: number;
  slug: string;
  subject: string;
  status: IssueStatus;
  updatedAt: number;
  sentAt: number | null;
  frozen: boolean;
}

/** Every issue for the admin list, most recently changed first. */
export async function listIssues(db: DB): Promise<IssueSummary[]> {
  const rows = await listIssueRows(db);
  const frozen = await findFrozenIssueIds(
    db,
    rows.map((r) => Number(r.id)),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    slug: r.slug,
    subject: r.subject,
    status: r.status,
    updatedAt: Number(r.updated_at),
    sentAt: r.sent_at === null ? null : Number(r.sent_at),
    frozen: frozen.has(Number(r.id)),
  }));
}

/** The first free slug: `base`, then `base-2`, `base-3`, … */
async function freeSlug(db: DB, base: string, exceptId?: number): Promise<string> {
  const root = base || 'issue';
  const taken = new Set(await findSlugsLike(db, root));
  if (exceptId !== undefined) {
    const own = await findIssueById(db, exceptId);
    if (own) taken.delete(own.slug);
  }
  if (!taken.has(root)) return root;
  for (let n = 2; ; n++) {
    const candidate = `${root.slice(0, 70)}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

interface ParsedInput {
  subject: string;
  preheader: string;
  slug: string | undefined;
  bodyMarkdown: string;
  featured: FeaturedArticle[];
  trackedPhone: { number: string; display: string } | null;
}

/** The tracked number as typed, for people, and normalised ("+44 (0)1632 960-001" → "+441632960001"), for matching calls. */
function trackedPhoneOf(typed: string | null | undefined): ParsedInput['trackedPhone'] {
  const number = typed ? normalizePhone(typed) : undefined;
  return typed && number ? { number, display: typed } : null;
}

function parseInput(input: unknown, articles: ArticleCatalog): IssueOutcome<ParsedInput> {
  const parsed = issueInputSchema.safeParse(input ?? {});
  if (!parsed.success) return invalid('Please correct the fields named.', fieldErrors(parsed.error));
  const featured: FeaturedArticle[] = [];
  const unknown: string[] = [];
  for (const slug of new Set(parsed.data.featured_articles ?? [])) {
    const article = articles.get(slug);
    if (article) featured.push(article);
    else unknown.push(slug);
  }
  if (unknown.length > 0) {
    return invalid('Please correct the fields named.', {
      featured_articles: `No published article has the slug ${unknown.map((s) => `“${s.slice(0, 80)}”`).join(', ')}.`,
    });
  }
  return {
    ok: true,
    value: {
      subject: parsed.data.subject,
      preheader: parsed.data.preheader ?? '',
      slug: parsed.data.slug || undefined,
      bodyMarkdown: parsed.data.body_markdown ?? '',
      featured,
      trackedPhone: trackedPhoneOf(parsed.data.tracked_phone),
    },
  };
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && /unique|duplicate key/i.test(error.message);
}

/**
 * A new draft. The slug is the one given (it must be free) or one made from the subject.
 * `input` is untrusted (a form or API body): refusals name each field.
 */
export async function createIssue(
  db: DB,
  input: unknown,
  options: { articles: ArticleCatalog; createdBy: number | null },
  now = Date.now(),
): Promise<IssueOutcome<Issue>> {
  const parsed = parseInput(input, options.articles);
  if (!parsed.ok) return parsed;
  const { subject, preheader, slug: wanted, bodyMarkdown, featured, trackedPhone } = parsed.value;
  if (wanted && (await findIssueBySlug(db, wanted)))
    return {
      ok: false,
      reason: 'conflict',
      message: `The slug “${wanted}” belongs to another issue.`,
      fields: { slug: `The slug “${wanted}” belongs to another issue: choose another.` },
    };
  for (let attempt = 0; ; attempt++) {
    const slug = wanted ?? (await freeSlug(db, slugify(subject)));
    try {
      const id = await insertIssue(db, {
        slug,
        subject,
        preheader,
        body_markdown: bodyMarkdown,
        featured_articles: JSON.stringify(featured),
        status: 'draft',
        created_by: options.createdBy,
        created_at: now,
        updated_at: now,
        sent_at: null,
        tracked_phone: trackedPhone?.number ?? null,
        tracked_phone_display: trackedPhone?.display ?? null,
      });
      return { ok: true, value: toIssue((await findIssueById(db, id))!, false) };
    } catch (error) {
      // Two drafts with the same subject at once: the second takes the next number.
      if (!isUniqueViolation(error) || wanted || attempt >= 3) {
        if (isUniqueViolation(error))
          return {
            ok: false,
            reason: 'conflict',
            message: `The slug “${slug}” belongs to another issue.`,
            fields: { slug: `The slug “${slug}” belongs to another issue: choose another.` },
          };
        throw error;
      }
    }
  }
}

/** Saves a draft's content; refused once sending started (the snapshot is frozen). An empty slug is made again from the subject. */
export async function updateIssue(
  db: DB,
  id: number,
  input: unknown,
  options: { articles: ArticleCatalog },
  now = Date.now(),
): Promise<IssueOutcome<Issue>> {
  const issue = await getIssue(db, id);
  if (!issue) return notFound();
  if (issue.frozen || !EDITABLE_STATUSES.includes(issue.status))
    return {
      ok: false,
      reason: 'conflict',
      message: 'This issue is being sent or was sent: its content can no longer change.',
    };
  const parsed = parseInput(input, options.articles);
  if (!parsed.ok) return parsed;
  const { subject, preheader, slug: wanted, bodyMarkdown, featured, trackedPhone } = parsed.value;
  let slug = issue.slug;
  if (wanted && wanted !== issue.slug) {
    if (await findIssueBySlug(db, wanted))
      return {
        ok: false,
        reason: 'conflict',
        message: `The slug “${wanted}” belongs to another issue.`,
        fields: { slug: `The slug “${wanted}” belongs to another issue: choose another.` },
      };
    slug = wanted;
  } else if (!wanted) {
    slug = await freeSlug(db, slugify(subject), id);
  }
  try {
    const changed = await updateIssueInStatus(db, id, EDITABLE_STATUSES, {
      slug,
      subject,
      preheader,
      body_markdown: bodyMarkdown,
      featured_articles: JSON.stringify(featured),
      tracked_phone: trackedPhone?.number ?? null,
      tracked_phone_display: trackedPhone?.display ?? null,
      updated_at: now,
    });
    if (!changed)
      return {
        ok: false,
        reason: 'conflict',
        message: 'This issue is being sent or was sent: its content can no longer change.',
      };
  } catch (error) {
    if (isUniqueViolation(error))
      return {
        ok: false,
        reason: 'conflict',
        message: `The slug “${slug}” belongs to another issue.`,
        fields: { slug: `The slug “${slug}” belongs to another issue: choose another.` },
      };
    throw error;
  }
  const saved = (await getIssue(db, id))!;
  // Rendered once now, so links the edit removed stop working at once in earlier tests and previews.
  await renderDraft(db, saved, await getSettings(db, { now }), now);
  return { ok: true, value: saved };
}

function senderDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase() || 'localhost';
}

function renderSettingsFrom(settings: Readonly<Settings>): RenderSettings {
  return {
    siteName: settings.siteName,
    siteUrl: settings.siteUrl.replace(/\/+$/, ''),
    postalAddress: settings.postalAddress,
    openTracking: settings.openTracking,
    clickTracking: settings.clickTracking,
  };
}

/** A stored snapshot's sender (formatMailbox text); a value from before names were quoted is read as written. */
function storedMailbox(text: string): Mailbox {
  const parsed = parseMailbox(text);
  return parsed.ok ? parsed.mailbox : { name: '', address: text.trim() };
}

function headerTemplate(
  issue: Pick<Issue, 'slug'>,
  settings: Readonly<Settings>,
): { from: Mailbox; replyTo: string | null; headers: SnapshotHeaders } {
  const from = senderMailbox(settings);
  const domain = senderDomain(from.address);
  // An unquoted phrase (RFC 2919): quotes would make the mailer encode the whole value.
  const listName = `${settings.siteName} newsletter`
    .replace(/[^\p{L}\p{N} !#$%&'*+/=?^_`{|}~-]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return {
    from,
    replyTo: settings.replyTo,
    headers: {
      fixed: { 'List-Id': `${listName} <newsletter.${domain}>`, 'X-Footfall-Issue': issue.slug },
      messageIdDomain: domain,
      unsubscribeMailto: `${settings.replyTo ?? from.address}?subject=unsubscribe`,
    },
  };
}

function fingerprint(link: { position: number; kind: string; url: string; label: string }): string {
  return createHash('sha256')
    .update(`${link.position}\n${link.kind}\n${link.url}\n${link.label}`)
    .digest('hex')
    .slice(0, 32);
}

function toLink(row: IssueLinkRow): IssueLink {
  return { id: Number(row.id), position: row.position, url: row.url, label: row.label, kind: row.kind };
}

/** Registers the links of a rendering (a second registration of the same rendering adds nothing) and returns them with their ids. */
/** The issue_links rows of a rendering's links. */
function linkRows(issueId: number, rendered: RenderedIssue, now: number) {
  return rendered.links.map((link) => ({
    issue_id: issueId,
    position: link.position,
    url: link.url,
    label: link.label,
    kind: link.kind,
    fingerprint: fingerprint(link),
    created_at: now,
  }));
}

/** Renders the issue's email, or an A/B test variant's (its subject, preheader and, when it has one, body). */
function renderEmail(issue: Issue, render: RenderSettings, content: VariantContent = issue): Promise<RenderedIssue> {
  return renderIssueEmail(
    {
      slug: issue.slug,
      subject: content.subject,
      preheader: content.preheader,
      bodyMarkdown: content.bodyMarkdown ?? issue.bodyMarkdown,
      featuredArticles: issue.featuredArticles,
      trackedPhone: issue.trackedPhone,
      trackedPhoneDisplay: issue.trackedPhoneDisplay,
    },
    render,
  );
}

async function registerLinks(db: DB, issueId: number, rendered: RenderedIssue, now: number): Promise<IssueLink[]> {
  const rows = linkRows(issueId, rendered, now);
  // Links this rendering no longer has stop working for test and preview clicks.
  await retireLinksExcept(
    db,
    issueId,
    rows.map((row) => row.fingerprint),
    now,
  );
  if (rows.length === 0) return [];
  await insertLinksIfMissing(db, rows);
  const stored = new Map((await findLinksByIssue(db, issueId)).map((row) => [row.fingerprint, row]));
  return rows.map((row) => toLink(stored.get(row.fingerprint)!));
}

interface Prepared {
  issue: Issue;
  snapshot: IssueSnapshot;
  /** Present for a fresh rendering (drafts), absent for a stored snapshot. */
  rendered?: RenderedIssue;
}

/** Renders a draft once and registers its links: a snapshot-shaped result, not stored. */
async function renderDraft(db: DB, issue: Issue, settings: Readonly<Settings>, now: number): Promise<Prepared> {
  const render = renderSettingsFrom(settings);
  const rendered = await renderEmail(issue, render);
  const links = await registerLinks(db, issue.id, rendered, now);
  const sender = headerTemplate(issue, settings);
  const snapshot: IssueSnapshot = {
    issueId: issue.id,
    slug: issue.slug,
    subject: issue.subject,
    from: sender.from,
    replyTo: sender.replyTo,
    html: rendered.html,
    text: rendered.text,
    headers: sender.headers,
    links,
    archiveHtml: renderMarkdown(issue.bodyMarkdown, 'archive', render.siteUrl),
    openTracking: render.openTracking,
    clickTracking: render.clickTracking,
    siteUrl: render.siteUrl,
    createdAt: now,
  };
  return { issue, snapshot, rendered };
}

function fromSnapshotRow(row: IssueSnapshotRow, issue: Pick<Issue, 'id' | 'slug'>, links: IssueLink[]): IssueSnapshot {
  const positions = new Map(links.map((link) => [link.id, link]));
  const linkIds = JSON.parse(row.link_ids) as number[];
  return {
    issueId: issue.id,
    slug: issue.slug,
    subject: row.subject,
    from: storedMailbox(row.from_address),
    replyTo: row.reply_to,
    html: row.html,
    text: row.text,
    headers: JSON.parse(row.headers) as SnapshotHeaders,
    links: linkIds.map((id) => positions.get(id)).filter((l): l is IssueLink => l !== undefined),
    archiveHtml: row.archive_html,
    openTracking: row.open_tracking === 1,
    clickTracking: row.click_tracking === 1,
    siteUrl: row.site_url,
    createdAt: Number(row.created_at),
  };
}

/** An experiment's variant of an issue: its own subject and preheader, and optionally its own body. */
export interface VariantContent {
  subject: string;
  preheader: string;
  bodyMarkdown: string | null;
}

/** A variant rendered: what is stored with it, and the rendering the checks read. */
export interface VariantRendering {
  html: string;
  text: string;
  linkIds: number[];
  rendered: RenderedIssue;
}

/**
 * Renders a variant of an issue (MJML → HTML and text, as the issue is rendered) and registers
 * its links beside the issue's (a link the issue has too is the same row; nothing is retired or
 * removed).
 */
async function renderVariant(
  db: DB,
  issue: Issue,
  render: RenderSettings,
  variant: VariantContent,
  now: number,
): Promise<VariantRendering> {
  const rendered = await renderEmail(issue, render, variant);
  const rows = linkRows(issue.id, rendered, now);
  if (rows.length > 0) await insertLinksIfMissing(db, rows);
  const stored = new Map((await findLinksByIssue(db, issue.id)).map((row) => [row.fingerprint, Number(row.id)]));
  return {
    html: rendered.html,
    text: rendered.text,
    linkIds: rows.map((row) => stored.get(row.fingerprint)!),
    rendered,
  };
}

/** The frozen issue as a variant's recipients get it: the variant's subject, message and links. */
export async function variantSnapshot(
  db: DB,
  base: IssueSnapshot,
  variant: { subject: string; html: string; text: string; linkIds: readonly number[] },
): Promise<IssueSnapshot> {
  const links = new Map((await findLinksByIssue(db, base.issueId)).map((row) => [Number(row.id), toLink(row)]));
  return {
    ...base,
    subject: variant.subject,
    html: variant.html,
    text: variant.text,
    links: variant.linkIds.map((id) => links.get(id)).filter((l): l is IssueLink => l !== undefined),
  };
}

/** The stored snapshot of an issue (sending started), or undefined. */
export async function loadSnapshot(db: DB, issueId: number): Promise<IssueSnapshot | undefined> {
  const row = await findSnapshot(db, issueId);
  if (!row) return undefined;
  const issueRow = await findIssueById(db, issueId);
  if (!issueRow) return undefined;
  const links = (await findLinksByIssue(db, issueId)).map(toLink);
  return fromSnapshotRow(row, { id: issueId, slug: issueRow.slug }, links);
}

async function prepare(db: DB, issue: Issue, settings: Readonly<Settings>, now: number): Promise<Prepared> {
  if (issue.frozen) {
    const snapshot = await loadSnapshot(db, issue.id);
    if (snapshot) return { issue, snapshot };
  }
  return renderDraft(db, issue, settings, now);
}

export interface CheckOptions {
  /** Site paths that exist (see checks.ts); without them own-site links are not checked. */
  knownPaths?: ReadonlySet<string>;
  /** The published articles; without them featured articles are not re-checked. */
  articles?: ArticleCatalog;
}

/** Why the mailer would refuse this message, or null: the same validation every send goes through. */
function mailProblem(message: OutgoingMail): string | null {
  try {
    validateOutgoingMail(message);
    return null;
  } catch (error) {
    if (error instanceof InvalidMailError) return error.message;
    throw error;
  }
}

function checksFor(
  prepared: Prepared,
  sample: OutgoingMail,
  settings: Readonly<Settings>,
  options: CheckOptions,
): CheckResult[] {
  const { issue, snapshot, rendered } = prepared;
  const sampleHtml = sample.html;
  return runChecks({
    mailProblem: mailProblem(sample),
    senderSet: isSenderSet(settings),
    subject: issue.subject,
    preheader: issue.preheader,
    bodyMarkdown: issue.bodyMarkdown,
    unknownArticles: options.articles
      ? issue.featuredArticles.filter((a) => !options.articles!.has(a.slug)).map((a) => a.slug)
      : [],
    sampleHtml,
    templateHtml: snapshot.html,
    links: snapshot.links,
    problems: rendered?.problems ?? [],
    images: rendered?.images ?? scanImages(snapshot.html, snapshot.siteUrl),
    postalAddress: settings.postalAddress,
    siteUrl: snapshot.siteUrl,
    ...(options.knownPaths ? { knownPaths: options.knownPaths } : {}),
  });
}

/** What the preview pages and the API show: the message exactly as a recipient gets it (for a sample recipient whose links record nothing). */
export interface IssuePreview {
  issue: Issue;
  snapshot: IssueSnapshot;
  message: OutgoingMail;
  /** Every header of the message as it goes out (From, To, Subject, Message-ID, List-*, …). */
  headers: Record<string, string>;
  checks: CheckResult[];
  /** True when no check is an error. */
  ready: boolean;
}

/** The full header block a message gets from the mailer (the List-Unsubscribe pair as validateOutgoingMail adds it). */
export function messageHeaders(message: OutgoingMail): Record<string, string> {
  const text = (value: string | Mailbox) => (typeof value === 'string' ? value : formatMailbox(value));
  const headers: Record<string, string> = { From: text(message.from), To: text(message.to) };
  if (message.replyTo) headers['Reply-To'] = text(message.replyTo);
  headers.Subject = message.subject;
  Object.assign(headers, message.headers);
  if (message.listUnsubscribe) {
    headers['List-Unsubscribe'] = [
      `<${message.listUnsubscribe.url}>`,
      ...(message.listUnsubscribe.mailto ? [`<mailto:${message.listUnsubscribe.mailto}>`] : []),
    ].join(', ');
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  headers['MIME-Version'] = '1.0';
  headers['Content-Type'] = 'multipart/alternative (text/plain, text/html; charset=utf-8)';
  return headers;
}

/**
 * Renders (or, once frozen, reads) an issue, registers its links, makes the sample
 * recipient's message and runs the pre-send checks. `secret` signs the sample's tokens (all
 * marked as previews: they record nothing).
 */
export async function previewIssue(
  db: DB,
  issueId: number,
  options: CheckOptions & { secret: string; now?: number },
): Promise<IssuePreview | undefined> {
  const now = options.now ?? Date.now();
  const issue = await getIssue(db, issueId);
  if (!issue) return undefined;
  const settings = await getSettings(db, { now });
  const prepared = await prepare(db, issue, settings, now);
  const message = createPersonalizer(prepared.snapshot, { secret: options.secret, mode: 'preview' })(sampleRecipient());
  const checks = checksFor(prepared, message, settings, options);
  return {
    issue,
    snapshot: prepared.snapshot,
    message,
    headers: messageHeaders(message),
    checks,
    ready: !hasBlockingErrors(checks),
  };
}

/** The checks alone, e.g. for the sending engine before it accepts a send; refused with a sentence when any check is an error. */
export async function checkIssueForSending(
  db: DB,
  issueId: number,
  options: CheckOptions = {},
  now = Date.now(),
): Promise<IssueOutcome<CheckResult[]>> {
  const preview = await previewIssue(db, issueId, { ...options, secret: randomBytes(32).toString('base64url'), now });
  if (!preview) return notFound();
  if (!preview.ready)
    return invalid(`The issue fails its pre-send checks. ${blockingMessages(preview.checks).join(' ')}`);
  return { ok: true, value: preview.checks };
}

/**
 * The pre-send checks of an A/B test's variants, each as its recipients would get it: its
 * subject, preheader and (its own or the issue's) body with the issue's sender, template and
 * links. A variant's body has links and images of its own, so it is checked as the issue is,
 * not taken on trust. Answers the renderings (stored with the variants when sending starts), or
 * the first variant's refusal, named.
 */
export async function checkVariantsForSending(
  db: DB,
  issueId: number,
  variants: readonly (VariantContent & { name: string })[],
  options: CheckOptions = {},
  now = Date.now(),
): Promise<IssueOutcome<VariantRendering[]>> {
  const issue = await getIssue(db, issueId);
  if (!issue) return notFound();
  const settings = await getSettings(db, { now });
  const render = renderSettingsFrom(settings);
  const base = await prepare(db, issue, settings, now);
  const renderings: VariantRendering[] = [];
  for (const variant of variants) {
    const rendering = await renderVariant(db, issue, render, variant, now);
    const snapshot = await variantSnapshot(db, base.snapshot, { subject: variant.subject, ...rendering });
    const sample = createPersonalizer(snapshot, { secret: randomBytes(32).toString('base64url'), mode: 'preview' })(
      sampleRecipient(),
    );
    const variantIssue: Issue = {
      ...issue,
      subject: variant.subject,
      preheader: variant.preheader,
      bodyMarkdown: variant.bodyMarkdown ?? issue.bodyMarkdown,
    };
    const checks = checksFor(
      { issue: variantIssue, snapshot, rendered: rendering.rendered },
      sample,
      settings,
      options,
    );
    if (hasBlockingErrors(checks))
      return invalid(`Variant ${variant.name} fails its pre-send checks. ${blockingMessages(checks).join(' ')}`);
    renderings.push(rendering);
  }
  return { ok: true, value: renderings };
}

/**
 * Freezes an issue when sending starts: renders it once more, registers its links, runs the
 * checks (errors refuse with IssueNotReadyError) and stores the snapshot. Idempotent: once a
 * snapshot exists it is returned as stored, whoever stored it (two callers at once store one).
 * Links that only earlier drafts had are dropped then; the snapshot's are kept for good.
 * `secret` (the server secret) keys the tracked number's hash the snapshot keeps: calls are
 * credited by it (src/lib/offline/issue-credit.ts).
 */
export async function freezeIssue(
  db: DB,
  issueId: number,
  now: number,
  options: CheckOptions & { secret: string },
): Promise<IssueSnapshot> {
  const existing = await loadSnapshot(db, issueId);
  if (existing) return existing;
  const issue = await getIssue(db, issueId);
  if (!issue) throw new IssueNotReadyError(`There is no issue ${issueId}.`);
  if (issue.status === 'sent' || issue.status === 'cancelled')
    throw new IssueNotReadyError(`Issue “${issue.subject}” is ${issue.status}: it cannot be sent.`);
  const settings = await getSettings(db, { now });
  const prepared = await renderDraft(db, issue, settings, now);
  const sample = createPersonalizer(prepared.snapshot, {
    secret: randomBytes(32).toString('base64url'),
    mode: 'preview',
  })(sampleRecipient());
  const checks = checksFor(prepared, sample, settings, options);
  if (hasBlockingErrors(checks))
    throw new IssueNotReadyError(
      `Issue “${issue.subject}” fails its pre-send checks. ${blockingMessages(checks).join(' ')}`,
      checks,
    );
  const { snapshot } = prepared;
  await db.transaction().execute(async (trx) => {
    const stored = await insertSnapshotIfMissing(trx, {
      issue_id: issueId,
      subject: snapshot.subject,
      from_address: formatMailbox(snapshot.from),
      reply_to: snapshot.replyTo,
      html: snapshot.html,
      text: snapshot.text,
      headers: JSON.stringify(snapshot.headers),
      link_ids: JSON.stringify(snapshot.links.map((l) => l.id)),
      archive_html: snapshot.archiveHtml,
      open_tracking: snapshot.openTracking ? 1 : 0,
      click_tracking: snapshot.clickTracking ? 1 : 0,
      site_url: snapshot.siteUrl,
      created_at: now,
      tracked_phone_hash: issue.trackedPhone ? phoneHash(options.secret, issue.trackedPhone) : null,
    });
    if (stored)
      await deleteLinksExcept(
        trx,
        issueId,
        snapshot.links.map((l) => l.id),
      );
  });
  return (await loadSnapshot(db, issueId))!;
}

/** Marks a frozen issue sent (the sending engine, when its last delivery is done): it joins the web archive. */
export async function markIssueSent(db: DB, issueId: number, now = Date.now()): Promise<boolean> {
  if (!(await findSnapshot(db, issueId))) return false;
  return updateIssueInStatus(db, issueId, ['draft', 'scheduled', 'sending'], {
    status: 'sent',
    sent_at: now,
    updated_at: now,
  });
}

export const MAX_TEST_RECIPIENTS = 5;

/** "a@x.com, b@y.com" or one per line → addresses, or a sentence naming the bad one. */
export function parseTestRecipients(value: string | readonly string[]): IssueOutcome<string[]> {
  const items = (typeof value === 'string' ? value.split(/[\s,;]+/) : value.flatMap((v) => String(v).split(/[\s,;]+/)))
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0)
    return invalid('Enter at least one address to send the test to.', {
      to: 'Enter at least one address to send the test to.',
    });
  if (items.length > MAX_TEST_RECIPIENTS)
    return invalid(`Send a test to at most ${MAX_TEST_RECIPIENTS} addresses at a time.`, {
      to: `At most ${MAX_TEST_RECIPIENTS} addresses.`,
    });
  const addresses: string[] = [];
  for (const item of items) {
    const checked = normalizeEmail(item);
    if (!checked.ok) return invalid(checked.error, { to: checked.error });
    if (!addresses.includes(checked.email)) addresses.push(checked.email);
  }
  return { ok: true, value: addresses };
}

/**
 * Sends the issue as it stands to a few addresses, through the same mail layer as a real send:
 * the subject starts with "[Test]", an X-Footfall-Test header marks it, and every token in it
 * is a test token — the tracker records nothing for them, so tests never count in reports.
 * The unsubscribe links name no subscriber.
 */
export async function sendTestIssue(
  deps: { db: DB; mailer: Mailer; secret: string },
  issueId: number,
  to: string | readonly string[],
  now = Date.now(),
): Promise<IssueOutcome<{ sent: string[]; messageIds: string[] }>> {
  const recipients = parseTestRecipients(to);
  if (!recipients.ok) return recipients;
  const issue = await getIssue(deps.db, issueId);
  if (!issue) return notFound();
  const settings = await getSettings(deps.db, { now });
  const { snapshot } = await prepare(deps.db, issue, settings, now);
  const personalize = createPersonalizer(snapshot, { secret: deps.secret, mode: 'test' });
  const messageIds: string[] = [];
  for (const [i, email] of recipients.value.entries()) {
    try {
      messageIds.push((await deps.mailer.send(personalize(sampleRecipient(email, null)), now)).messageId);
    } catch (error) {
      if (!isMailSendError(error)) throw error;
      // The relay's own answer, for the admin to act on (the log has it too).
      const sentSoFar = i > 0 ? ` (sent to ${recipients.value.slice(0, i).join(', ')} before that)` : '';
      return {
        ok: false,
        reason: 'mail-failed',
        message: `The test to ${email} could not be sent${sentSoFar}. The mail server answered: ${describeMailError(error)}`,
      };
    }
  }
  return { ok: true, value: { sent: recipients.value, messageIds } };
}

/** A sent issue as the web archive shows it. */
export interface ArchivedIssue {
  id: number;
  slug: string;
  subject: string;
  preheader: string;
  sentAt: number;
  /** The body: plain links, no tracking, no personal links. */
  bodyHtml: string;
  featuredArticles: FeaturedArticle[];
  /** The issue's tracked phone number, normalised (for the tel: link) and as typed (as in its footer); null without one. */
  trackedPhone: string | null;
  trackedPhoneDisplay: string | null;
}

export async function listArchivedIssues(
  db: DB,
): Promise<Omit<ArchivedIssue, 'bodyHtml' | 'featuredArticles' | 'trackedPhone' | 'trackedPhoneDisplay'>[]> {
  return (await listSentIssueRows(db)).map((r) => ({
    id: Number(r.id),
    slug: r.slug,
    subject: r.subject,
    preheader: r.preheader,
    sentAt: Number(r.sent_at ?? 0),
  }));
}

/** A sent issue by slug; undefined for drafts and unknown slugs (they are not public). */
export async function getArchivedIssue(db: DB, slug: string): Promise<ArchivedIssue | undefined> {
  if (typeof slug !== 'string' || slug.length > 100) return undefined;
  const row = await findIssueBySlug(db, slug);
  if (row?.status !== 'sent') return undefined;
  const snapshot = await findSnapshot(db, Number(row.id));
  if (!snapshot) return undefined;
  return {
    id: Number(row.id),
    slug: row.slug,
    subject: row.subject,
    preheader: row.preheader,
    sentAt: Number(row.sent_at ?? snapshot.created_at),
    bodyHtml: snapshot.archive_html,
    featuredArticles: parseFeatured(row.featured_articles),
    trackedPhone: row.tracked_phone,
    trackedPhoneDisplay: row.tracked_phone_display ?? row.tracked_phone,
  };
}

/**
 * The email for unsaved form input, for the live preview while typing: nothing is stored or
 * registered, links are plain and there is no pixel. Returns the HTML, or the field errors.
 */
export async function renderUnsavedPreview(
  db: DB,
  input: unknown,
  options: { articles: ArticleCatalog; slug?: string },
  now = Date.now(),
): Promise<IssueOutcome<{ html: string }>> {
  const parsed = parseInput(input, options.articles);
  if (!parsed.ok) return parsed;
  const settings = await getSettings(db, { now });
  const rendered = await renderIssueEmail(
    {
      slug: parsed.value.slug ?? options.slug ?? (slugify(parsed.value.subject) || 'issue'),
      subject: parsed.value.subject,
      preheader: parsed.value.preheader,
      bodyMarkdown: parsed.value.bodyMarkdown,
      featuredArticles: parsed.value.featured,
      trackedPhone: parsed.value.trackedPhone?.number ?? null,
      trackedPhoneDisplay: parsed.value.trackedPhone?.display ?? null,
    },
    { ...renderSettingsFrom(settings), openTracking: false, clickTracking: false },
  );
  const sample = createPersonalizer(
    {
      issueId: 0,
      slug: 'preview',
      subject: parsed.value.subject,
      from: { name: '', address: '' },
      replyTo: null,
      html: rendered.html,
      text: rendered.text,
      headers: { fixed: {}, messageIdDomain: 'localhost', unsubscribeMailto: null },
      links: [],
      archiveHtml: '',
      openTracking: false,
      clickTracking: false,
      siteUrl: renderSettingsFrom(settings).siteUrl,
      createdAt: now,
    },
    { secret: randomBytes(16).toString('hex'), mode: 'preview' },
  )(sampleRecipient());
  return { ok: true, value: { html: sample.html } };
}
