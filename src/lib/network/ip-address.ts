/**
 * Address parsers for the hot path: no regular expressions, no substrings, no allocation.
 * An IPv4 address becomes an unsigned 32-bit number; an IPv6 address is written into a
 * caller's Uint32Array(4) as four big-endian 32-bit words (word 0 holds the first 32 bits).
 */

/** Longest text either parser looks at: a full IPv6 address with an embedded IPv4 address and a zone. */
export const MAX_ADDRESS_LENGTH = 64;

/**
 * "192.0.2.1" → 3221225985; anything else → -1. Exactly four decimal octets of 0–255; a
 * leading zero ("010.0.0.1") is refused, since some systems read it as octal.
 */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  if (end - start < 7 || end - start > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

const groups = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv6 address ("2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0", "[2001:db8::1]")
 * into `out` (four 32-bit words). Returns false, leaving `out` unspecified, for anything else.
 */
export function parseIPv6(text: string, out: Uint32Array): boolean {
  let start = 0;
  let end = text.length;
  if (end > MAX_ADDRESS_LENGTH || end < 2) return false;
  if (text.charCodeAt(0) === 91) {
    if (text.charCodeAt(end - 1) !== 93) return false;
    start = 1;
    end -= 1;
  }
  // A zone ("%eth0") names an interface on this host; it is not part of the address.
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === 37) {
      if (i === end - 1) return false;
      end = i;
      break;
    }
  }
  let count = 0; // groups written so far
  let gap = -1; // index in `groups` where "::" stands
  let i = start;
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out[0] = out[1] = out[2] = out[3] = 0;
      return true;
    }
  }
  while (i < end) {
    if (count === 8) return false;
    // One group: up to four hex digits, or (last) a dotted IPv4 address.
    let value = 0;
    let digits = 0;
    let j = i;
    for (; j < end && digits <= 4; j++) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      // Embedded IPv4: must end the address and leave room for two groups.
      if (count > 6) return false;
      const v4 = parseIPv4(text, i, end);
      if (v4 < 0) return false;
      groups[count++] = Math.floor(v4 / 65536);
      groups[count++] = v4 % 65536;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[count++] = value;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) return false;
    if (text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === end) return false; // a trailing single colon
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  // Spread the groups: those after the gap move to the end, zeros fill the gap.
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  const shift = gap < 0 ? 0 : 8 - count;
  for (let g = 0; g < count; g++) {
    const at = gap >= 0 && g >= gap ? g + shift : g;
    const v = groups[g]!;
    if (at === 0) w0 += v * 65536;
    else if (at === 1) w0 += v;
    else if (at === 2) w1 += v * 65536;
    else if (at === 3) w1 += v;
    else if (at === 4) w2 += v * 65536;
    else if (at === 5) w2 += v;
    else if (at === 6) w3 += v * 65536;
    else w3 += v;
  }
  out[0] = w0;
  out[1] = w1;
  out[2] = w2;
  out[3] = w3;
  return true;
}

/** "192.0.2.1" for 3221225985. */
export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Four words → the canonical text form (RFC 5952: lower case, longest zero run as "::"). */
export function formatIPv6(words: ArrayLike<number>): string {
  const parts: number[] = [];
  for (let w = 0; w < 4; w++) parts.push(Math.floor(words[w]! / 65536), words[w]! % 65536);
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8;) {
    if (parts[g] !== 0) {
      g++;
      continue;
    }
    let e = g;
    while (e < 8 && parts[e] === 0) e++;
    if (e - g > bestLength) {
      bestStart = g;
      bestLength = e - g;
    }
    g = e;
  }
  const hex = (from: number, to: number) =>
    parts
      .slice(from, to)
      .map((p) => p.toString(16))
      .join(':');
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

export type ParsedNetwork =
  | { version: 4; first: number; last: number; prefix: number }
  | { version: 6; first: Uint32Array; last: Uint32Array; prefix: number };

/**
 * "203.0.113.0/24", "2001:db8::/32", or a single address (a /32 or /128). Host bits must be
 * zero ("203.0.113.7/24" is refused: it usually means a typo). Returns a reason on failure.
 */
export function parseNetwork(text: string): ParsedNetwork | { error: string } {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = parseIPv4(address);
  const words = new Uint32Array(4);
  const version = v4 >= 0 ? 4 : parseIPv6(address, words) && !address.includes('%') ? 6 : 0;
  if (version === 0)
    return { error: 'is not an IPv4 or IPv6 address or network (such as 203.0.113.0/24 or 2001:db8::/32)' };
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(prefixText))
    return { error: `has a prefix length that is not a whole number from 0 to ${bits}` };
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return { error: `has a prefix length over ${bits}, the most an IPv${version} network can have` };
  if (version === 4) {
    const size = 2 ** (32 - prefix);
    if (v4 % size !== 0)
      return {
        error: `has bits set after the first ${prefix} (the network is ${formatIPv4(v4 - (v4 % size))}/${prefix})`,
      };
    return { version: 4, first: v4, last: v4 + size - 1, prefix };
  }
  const first = new Uint32Array(4);
  const last = new Uint32Array(4);
  for (let w = 0; w < 4; w++) {
    const keep = Math.min(32, Math.max(0, prefix - 32 * w));
    const hostMask = keep === 32 ? 0 : 2 ** (32 - keep) - 1;
    first[w] = words[w]! - (words[w]! % (hostMask + 1));
    last[w] = first[w]! + hostMask;
  }
  if (first.some((v, w) => v !== words[w]))
    return { error: `has bits set after the first ${prefix} (the network is ${formatIPv6(first)}/${prefix})` };
  return { version: 6, first, last, prefix };
}

/** -1, 0 or 1: `a` (four words at `ai`) against `b` (four words at `bi`), unsigned. */
export function compareWords(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  for (let w = 0; w < 4; w++) {
    const x = a[ai + w]!;
    const y = b[bi + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
