import { derivedHmacSha256Into, type HmacInto } from '../security/fast-hmac.ts';
import { decodeBase64url, MAX_VARINT_BYTES, readVarint, sameBytes, writeVarint } from '../security/bytes.ts';

/**
 * The first-party reader cookie (issue 19, the holdout result): which subscriber reads in this
 * browser, so a later visit can be told per person — for the held out as for recipients. Set
 * with the attribution cookie on the redirect of a likely-human newsletter click when per-person
 * tracking is on (the click names the subscriber); signed with the server secret; HttpOnly,
 * SameSite=Lax, Path=/, Secure on an https site; it lasts 400 days (browsers cap cookies there).
 * `subscribers.reader_known_at` keeps when it was first set, so "known before the send" is
 * decidable for anyone.
 *
 * The value is base64url (no padding) of
 *   version     1 byte   0x31
 *   subscriber  varint   unsigned LEB128
 *   at          varint   when it was set, ms since the epoch
 *   mac         16 bytes HMAC-SHA256(cookie key, everything before it), first 16 bytes
 * with the cookie key HMAC-SHA256(server secret, "footfall reader cookie v1").
 */
export const READER_COOKIE = 'ff_reader';
export const READER_COOKIE_DAYS = 400;
const VERSION = 0x31;
const KEY_LABEL = 'footfall reader cookie v1';
const MAC_BYTES = 16;
const MAX_BYTES = 1 + 2 * MAX_VARINT_BYTES + MAC_BYTES;

export interface Reader {
  subscriberId: number;
  /** When the cookie was set. */
  at: number;
}

class ReaderCodec {
  readonly #mac: HmacInto;
  // Scratch buffers: encoding and decoding are synchronous, so no two calls share them.
  readonly #bytes = Buffer.alloc(MAX_BYTES);
  readonly #digest = new Uint8Array(32);

  constructor(secret: string) {
    this.#mac = derivedHmacSha256Into(secret, KEY_LABEL);
  }

  encode(r: Reader): string {
    for (const n of [r.subscriberId, r.at])
      if (!Number.isSafeInteger(n) || n < 0)
        throw new RangeError(`reader fields must be non-negative safe integers (got ${n})`);
    const bytes = this.#bytes;
    bytes[0] = VERSION;
    let at = writeVarint(bytes, 1, r.subscriberId);
    at = writeVarint(bytes, at, r.at);
    this.#mac(bytes, this.#digest, at);
    bytes.set(this.#digest.subarray(0, MAC_BYTES), at);
    return bytes.toString('base64url', 0, at + MAC_BYTES);
  }

  decode(value: string): Reader | undefined {
    const bytes = this.#bytes;
    const length = decodeBase64url(value, bytes);
    if (length === undefined || length < 3 + MAC_BYTES || bytes[0] !== VERSION) return undefined;
    const body = length - MAC_BYTES;
    const subscriber = readVarint(bytes, 1, body);
    if (!subscriber) return undefined;
    const set = readVarint(bytes, subscriber.next, body);
    if (set?.next !== body) return undefined;
    this.#mac(bytes, this.#digest, body);
    if (!sameBytes(this.#digest, 0, bytes, body, MAC_BYTES)) return undefined;
    return { subscriberId: subscriber.value, at: set.value };
  }
}

const codecs = new Map<string, ReaderCodec>();

function codecFor(secret: string): ReaderCodec {
  let codec = codecs.get(secret);
  if (!codec) {
    if (codecs.size > 16) codecs.clear();
    codecs.set(secret, (codec = new ReaderCodec(secret)));
  }
  return codec;
}

export function makeReaderCookie(secret: string, r: Reader, secure: boolean): string {
  return `${READER_COOKIE}=${codecFor(secret).encode(r)}; Max-Age=${READER_COOKIE_DAYS * 86_400}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The subscriber a reader cookie value names, if it is ours, intact and not older than the cookie's life. */
export function readReader(secret: string, value: string | null | undefined, now: number): Reader | undefined {
  if (!value || value.length > 100) return undefined;
  const r = codecFor(secret).decode(value);
  if (!r || r.subscriberId <= 0) return undefined;
  if (now - r.at > READER_COOKIE_DAYS * 86_400_000 || r.at - now > 60_000) return undefined;
  return r;
}

/** The ff_reader value in a Cookie request header (fast: most requests have none). */
export function readerCookieValue(cookieHeader: string | null | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const start = cookieHeader.indexOf(`${READER_COOKIE}=`);
  if (start < 0 || (start > 0 && cookieHeader[start - 1] !== ' ' && cookieHeader[start - 1] !== ';')) return undefined;
  const from = start + READER_COOKIE.length + 1;
  const end = cookieHeader.indexOf(';', from);
  return cookieHeader.slice(from, end < 0 ? undefined : end).trim();
}
