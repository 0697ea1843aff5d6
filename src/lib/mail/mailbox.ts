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
 * Parses `jo@example.com` or `Jo Bloggs <jo@example.com>` (the name may be quoted:
 * `"Bloggs, Jo" <jo@example.com>`) into exactly one mailbox. Anything else — a list, a
 * group, stray words around the address — is refused with a reason rather than guessed
 * at: a lenient parser turns the typo `jo@exa mple.com` into the address `jo@exa`.
 * Line breaks are the caller's to refuse first: this is about shape, not injection.
 */
export function parseMailbox(value: string): { ok: true; mailbox: Mailbox } | { ok: false; reason: string } {
  const trimmed = value.trim();
  if (trimmed === '') return { ok: false, reason: 'is empty' };
  const named = /^([^<>]*)<([^<>]*)>$/.exec(trimmed);
  const address = named ? named[2]!.trim() : trimmed;
  const name = named ? readDisplayName(named[1]!.trim()) : '';
  if (name === undefined) return { ok: false, reason: 'has a display name that needs quotes (it contains , ; : @ " or \\)' };
  if (!named && /[\s<>,;]/.test(trimmed)) return { ok: false, reason: `must be a single address such as jo@example.com or "Jo Bloggs <jo@example.com>" (got ${JSON.stringify(trimmed.slice(0, 80))})` };
  if (!isValidEmailAddress(address)) return { ok: false, reason: `is not a valid email address (${JSON.stringify(address.slice(0, 80))})` };
  return { ok: true, mailbox: { name, address } };
}

/** The display name, unquoted; undefined when an unquoted name holds characters that make it ambiguous. */
function readDisplayName(raw: string): string | undefined {
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(raw);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  if (/[",;:@\\]/.test(raw)) return undefined;
  return raw.replace(/\s+/g, ' ');
}
