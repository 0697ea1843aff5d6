/** One address with its optional display name, as it goes into a From/To/Reply-To header. */
export interface Mailbox {
  name: string;
  address: string;
}

// Dot-atom local part (RFC 5322, no quoted strings); domain of letter/digit/hyphen labels,
// international letters allowed (nodemailer encodes them as punycode). A single label
// such as "localhost" is accepted: the embedded default sender is newsletter@localhost.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[\p{L}\p{N}]([\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** True for a bare address such as `jo@example.com` (no display name). */
export function isValidEmailAddress(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  return local.length <= 64 && LOCAL_PART.test(local) && domain.split('.').every((label) => DOMAIN_LABEL.test(label));
}

/**
 * Parses `jo@example.com` or `Jo Bloggs <jo@example.com>` (the name may be quoted, and then
 * hold anything: `"Bloggs, Jo <Sales>" <jo@example.com>`) into exactly one mailbox. Anything
 * else — a list, a group, stray words around the address — is refused with a reason rather
 * than guessed at: a lenient parser turns the typo `jo@exa mple.com` into the address `jo@exa`.
 * Line breaks are the caller's to refuse first: this is about shape, not injection.
 */
export function parseMailbox(value: string): { ok: true; mailbox: Mailbox } | { ok: false; reason: string } {
  const trimmed = value.trim();
  if (trimmed === '') return { ok: false, reason: 'is empty' };
  const quoted = /^"((?:[^"\\]|\\.)*)"\s*<([^<>]*)>$/.exec(trimmed);
  const named = quoted ?? /^([^<>"]*)<([^<>]*)>$/.exec(trimmed);
  const address = named ? named[2]!.trim() : trimmed;
  const name = quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : named ? readDisplayName(named[1]!.trim()) : '';
  if (name === undefined)
    return { ok: false, reason: 'has a display name that needs quotes (it contains , ; : @ " or \\)' };
  if (!named && /[\s<>,;"]/.test(trimmed))
    return {
      ok: false,
      reason: `must be a single address such as jo@example.com or "Jo Bloggs <jo@example.com>" (got ${JSON.stringify(trimmed.slice(0, 80))})`,
    };
  if (!isValidEmailAddress(address))
    return { ok: false, reason: `is not a valid email address (${JSON.stringify(address.slice(0, 80))})` };
  return { ok: true, mailbox: { name, address } };
}

/** An unquoted display name; undefined when it holds characters that make it ambiguous. */
function readDisplayName(raw: string): string | undefined {
  if (/[",;:@\\]/.test(raw)) return undefined;
  return raw.replace(/\s+/g, ' ');
}

/**
 * A mailbox as one line of text, for storage and for showing headers: the name always
 * quoted (backslash before `"` and `\`), so parseMailbox reads back exactly this mailbox
 * whatever the name holds. The mailer never sees this: it gets the object, and nodemailer
 * quotes or encodes the name as RFC 5322 and RFC 2047 require.
 */
export function formatMailbox(mailbox: Mailbox): string {
  if (!mailbox.name) return mailbox.address;
  return `"${mailbox.name.replace(/["\\]/g, '\\$&')}" <${mailbox.address}>`;
}

/**
 * A person's name as a display name: control characters and runs of white space become one
 * space, cut to `max` characters without splitting one (an emoji is one character, not two
 * UTF-16 halves). Everything else — quotes, angle brackets, commas, any script — is the
 * mailer's to quote or encode.
 */
export function displayName(name: string | null | undefined, max = 100): string {
  if (!name) return '';
  const cleaned = name
    .toWellFormed()
    .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return truncateCharacters(cleaned, max).trim();
}

/** At most `max` characters (code points), never half a surrogate pair. */
export function truncateCharacters(value: string, max: number): string {
  if (value.length <= max) return value;
  return Array.from(value).slice(0, max).join('');
}
