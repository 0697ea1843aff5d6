import { randomBytes } from 'node:crypto';
import { displayName, type Mailbox } from '../text/mailbox.ts';
import type { OutgoingMail } from '../mail/message.ts';
import { compilePlaceholders, type PlaceholderTemplate } from '../mail/placeholders.ts';
import {
  countCharacters,
  hasLongLine,
  transferEncodingFor,
  type CharacterCounts,
  type TextTransferEncoding,
} from '../mail/transfer-encoding.ts';
import { preferencesToken, subscriberToken } from '../subscribers/links.ts';
import { trackingTokens } from '../tracking/tokens.ts';
import type { IssueLink } from './issue.ts';
import { isClickPlaceholder, unshieldBraces } from './render.ts';

/**
 * The frozen issue: everything a message needs except the recipient. Stored when sending
 * starts (freezeIssue) and never changed after; previews and test sends of a draft use the
 * same shape, made on the fly.
 *
 * `html` and `text` are templates whose only placeholders are per recipient:
 * {{open}}, {{click_N}} (N = link position), {{unsubscribeUrl}}, {{preferencesUrl}}.
 * In `text`, braces the author wrote are U+E000 / U+E001 (so they cannot read as placeholders);
 * personalising turns them back into braces.
 */
export interface IssueSnapshot {
  issueId: number;
  slug: string;
  /** As typed: plain text, not HTML. */
  subject: string;
  /** The sender: stored as text (formatMailbox), handed to the mailer as this object. */
  from: Mailbox;
  replyTo: string | null;
  html: string;
  text: string;
  headers: SnapshotHeaders;
  /** Every registered link of the email, by position: click tokens name `id`. */
  links: IssueLink[];
  /** The body for the web archive (/newsletter/<slug>): plain links, no tracking, no personal links. */
  archiveHtml: string;
  openTracking: boolean;
  clickTracking: boolean;
  /** The site URL the issue was rendered for (links, pixel, unsubscribe pages). */
  siteUrl: string;
  createdAt: number;
}

/** The header template: fixed headers, and what the per-recipient ones are made from. */
export interface SnapshotHeaders {
  /** Added to every message as they are, e.g. List-Id. */
  fixed: Record<string, string>;
  /** Message-IDs are `<footfall.<issue>.<delivery>@<domain>>`: the sender's domain. */
  messageIdDomain: string;
  /** List-Unsubscribe's mailto: part, e.g. `news@example.com?subject=unsubscribe`; null for none. */
  unsubscribeMailto: string | null;
}

/** Who a message goes to. Test sends and previews use subscriber 0 and delivery 0. */
export interface SnapshotRecipient {
  deliveryId: number;
  subscriberId: number;
  email: string;
  name?: string | null;
}

export type PersonalizeMode =
  /** A real delivery: tokens count. */
  | 'live'
  /** A test send: "[Test]" subject, X-Footfall-Test header, tokens that record nothing. */
  | 'test'
  /** What a recipient would get, for the admin and API previews: tokens that record nothing. */
  | 'preview';

export interface PersonalizeOptions {
  /** The server secret (tokens, unsubscribe links). */
  secret: string;
  mode?: PersonalizeMode;
  /** When each message is made (expiring links start then); Date.now by default. */
  clock?: () => number;
}

export const TEST_SUBJECT_PREFIX = '[Test] ';
export const TEST_HEADER = 'X-Footfall-Test';

/** How one template slot is filled for a recipient. */
type Slot =
  { kind: 'open' } | { kind: 'click'; linkId: number; url: string } | { kind: 'unsubscribe' } | { kind: 'preferences' };

interface CompiledTemplate {
  parts: string[];
  /** Index into the recipient's value array, per placeholder. */
  slots: number[];
  /** The parts' characters and long lines, counted once: a message's transfer encoding adds only its values'. */
  counts: CharacterCounts;
  longLine: boolean;
}

export type Personalizer = (recipient: SnapshotRecipient) => OutgoingMail;

function compile(
  template: PlaceholderTemplate,
  slotIndex: (name: string) => number,
  unshield: boolean,
): CompiledTemplate {
  const parts = unshield ? template.parts.map(unshieldBraces) : [...template.parts];
  const counts: CharacterCounts = { letters: 0, others: 0 };
  for (const part of parts) countCharacters(part, counts);
  return { parts, slots: template.names.map(slotIndex), counts, longLine: parts.some(hasLongLine) };
}

/** The transfer encoding of the template filled with values whose counts are given (a line only grows when filled). */
function transferEncoding(
  template: CompiledTemplate,
  valueCounts: CharacterCounts[],
): TextTransferEncoding | undefined {
  const counts = { ...template.counts };
  for (const slot of template.slots) {
    counts.letters += valueCounts[slot]!.letters;
    counts.others += valueCounts[slot]!.others;
  }
  return transferEncodingFor(counts, template.longLine);
}

function join(template: CompiledTemplate, values: string[]): string {
  const { parts, slots } = template;
  let out = parts[0]!;
  for (let i = 0; i < slots.length; i++) out += values[slots[i]!]! + parts[i + 1]!;
  return out;
}

/**
 * Compiles a snapshot once into a function that makes one recipient's message by string
 * splicing: per recipient it signs one token per link plus the pixel and the unsubscribe
 * link, and joins precomputed parts — no parsing, no regular expression over the HTML.
 */
export function createPersonalizer(snapshot: IssueSnapshot, options: PersonalizeOptions): Personalizer {
  const mode = options.mode ?? 'live';
  const test = mode !== 'live';
  const tokens = trackingTokens(options.secret);
  const linksByPosition = new Map(snapshot.links.map((link) => [link.position, link]));
  const slots: Slot[] = [];
  const byName = new Map<string, number>();
  const slotIndex = (name: string): number => {
    const known = byName.get(name);
    if (known !== undefined) return known;
    let slot: Slot;
    const position = isClickPlaceholder(name);
    if (position !== undefined) {
      const link = linksByPosition.get(position);
      if (link === undefined) throw new Error(`issue ${snapshot.issueId}: {{${name}}} names no registered link`);
      slot = { kind: 'click', linkId: link.id, url: link.url };
    } else if (name === 'open') slot = { kind: 'open' };
    else if (name === 'unsubscribeUrl') slot = { kind: 'unsubscribe' };
    else if (name === 'preferencesUrl') slot = { kind: 'preferences' };
    else throw new Error(`issue ${snapshot.issueId}: unknown placeholder {{${name}}} in the snapshot`);
    slots.push(slot);
    byName.set(name, slots.length - 1);
    return slots.length - 1;
  };
  const label = `issue ${snapshot.issueId}`;
  const html = compile(compilePlaceholders(snapshot.html, label), slotIndex, false);
  const text = compile(compilePlaceholders(snapshot.text, label), slotIndex, true);

  const linkDeps = { secret: options.secret, siteUrl: snapshot.siteUrl };
  const subject = test && mode === 'test' ? TEST_SUBJECT_PREFIX + snapshot.subject : snapshot.subject;
  const fixedHeaders = mode === 'test' ? { ...snapshot.headers.fixed, [TEST_HEADER]: 'yes' } : snapshot.headers.fixed;
  const tokenOptions = { test };
  const mailto = snapshot.headers.unsubscribeMailto ?? undefined;
  const domain = snapshot.headers.messageIdDomain;
  const clock = options.clock ?? Date.now;

  return (recipient) => {
    const now = clock();
    const values = new Array<string>(slots.length);
    let unsubscribeUrl: string | undefined;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      switch (slot.kind) {
        case 'click':
          // A test's links expire and stay bound to the URL they have now (a draft's links change).
          values[i] = test
            ? tokens.testClick(slot.linkId, { now, url: slot.url })
            : tokens.click(recipient.deliveryId, slot.linkId);
          break;
        case 'open':
          values[i] = tokens.open(recipient.deliveryId, tokenOptions);
          break;
        case 'unsubscribe':
          values[i] =
            unsubscribeUrl ??= `${snapshot.siteUrl}/unsubscribe/${subscriberToken(linkDeps, recipient.subscriberId, snapshot.issueId)}`;
          break;
        case 'preferences':
          values[i] = `${snapshot.siteUrl}/preferences/${preferencesToken(linkDeps, recipient.subscriberId, now)}`;
          break;
      }
    }
    unsubscribeUrl ??= `${snapshot.siteUrl}/unsubscribe/${subscriberToken(linkDeps, recipient.subscriberId, snapshot.issueId)}`;
    const valueCounts = values.map((value) => countCharacters(value));
    const messageId = test
      ? `<footfall.${snapshot.issueId}.test.${randomBytes(6).toString('hex')}@${domain}>`
      : `<footfall.${snapshot.issueId}.${recipient.deliveryId}@${domain}>`;
    return {
      to: { name: displayName(recipient.name), address: recipient.email },
      from: snapshot.from,
      ...(snapshot.replyTo ? { replyTo: snapshot.replyTo } : {}),
      subject,
      html: join(html, values),
      text: join(text, values),
      headers: { ...fixedHeaders, 'Message-ID': messageId },
      listUnsubscribe: mailto ? { url: unsubscribeUrl, mailto } : { url: unsubscribeUrl },
      transferEncoding: { html: transferEncoding(html, valueCounts), text: transferEncoding(text, valueCounts) },
    };
  };
}

const compiled = new WeakMap<IssueSnapshot, Map<string, Personalizer>>();

/** One recipient's message (the personalizer is compiled on first use and kept with the snapshot). */
export function personalize(
  snapshot: IssueSnapshot,
  recipient: SnapshotRecipient,
  options: PersonalizeOptions,
): OutgoingMail {
  let bySettings = compiled.get(snapshot);
  if (!bySettings) compiled.set(snapshot, (bySettings = new Map<string, Personalizer>()));
  const key = `${options.mode ?? 'live'}\0${options.secret}`;
  let personalizer = bySettings.get(key);
  if (!personalizer) bySettings.set(key, (personalizer = createPersonalizer(snapshot, options)));
  return personalizer(recipient);
}

/** The recipient of previews and test sends: no subscriber, no delivery (its links and pixel record nothing). */
export function sampleRecipient(
  email = 'reader@example.com',
  name: string | null = 'Sample Reader',
): SnapshotRecipient {
  return { deliveryId: 0, subscriberId: 0, email, name };
}
