import { verifyToken } from '../security/signed-token.ts';
import { derivedHmacSha256Into, type HmacInto } from '../security/fast-hmac.ts';
import { decodeBase64url, MAX_VARINT_BYTES, readVarint, sameBytes, writeVarint } from '../security/bytes.ts';
import type { DB } from '../db/database.ts';
import { findClickClass, findIssueIdBySlug } from './reads.repository.ts';

/**
 * The first-party attribution cookie the click redirect sets: which issue (and, with
 * per-person tracking, which subscriber) brought this browser, and when. Signed with the
 * server secret; HttpOnly, SameSite=Lax, Path=/, Secure on an https site; it lasts the
 * attribution window.
 *
 * The value is base64url (no padding) of
 *   version     1 byte   0x21
 *   issue       varint   unsigned LEB128, as in the tracking tokens
 *   delivery    varint   0 for none
 *   subscriber  varint   the id + 1; 0 for none (per-person tracking off)
 *   at          varint   the click's time, ms since the epoch
 *   mac         16 bytes HMAC-SHA256(cookie key, everything before it), first 16 bytes
 * with the cookie key HMAC-SHA256(server secret, "footfall attribution cookie v2"). Cookies set
 * before this format (a signed JSON token, `<payload>.<signature>`) are still read until their
 * window ends.
 */
export const ATTRIBUTION_COOKIE = 'ff_attr';
const LEGACY_PURPOSE = 'attribution';
const DAY_MS = 86_400_000;
const VERSION = 0x21;
const KEY_LABEL = 'footfall attribution cookie v2';
const MAC_BYTES = 16;
const MAX_BYTES = 1 + 4 * MAX_VARINT_BYTES + MAC_BYTES;

export interface Attribution {
  issueId: number;
  /** The delivery clicked from (0 for none): its first_visit_at is kept. */
  deliveryId: number;
  /** Only with per-person tracking on. */
  subscriberId: number | null;
  /** When the click happened: the visitor's first landing from the issue. */
  at: number;
}

/** The legacy cookie's JSON payload. */
interface Payload {
  i: number;
  d: number;
  s?: number;
  t: number;
}

/** Makes and reads cookie values under one server secret (the key is derived once). */
class AttributionCodec {
  readonly #mac: HmacInto;
  // Scratch buffers: encoding and decoding are synchronous, so no two calls share them.
  readonly #bytes = Buffer.alloc(MAX_BYTES);
  readonly #digest = new Uint8Array(32);

  constructor(secret: string) {
    this.#mac = derivedHmacSha256Into(secret, KEY_LABEL);
  }

  encode(a: Attribution): string {
    for (const n of [a.issueId, a.deliveryId, a.subscriberId ?? 0, a.at]) {
      if (!Number.isSafeInteger(n) || n < 0)
        throw new RangeError(`attribution fields must be non-negative safe integers (got ${n})`);
    }
    const bytes = this.#bytes;
    bytes[0] = VERSION;
    let at = writeVarint(bytes, 1, a.issueId);
    at = writeVarint(bytes, at, a.deliveryId);
    at = writeVarint(bytes, at, a.subscriberId === null ? 0 : a.subscriberId + 1);
    at = writeVarint(bytes, at, a.at);
    this.#mac(bytes, this.#digest, at);
    bytes.set(this.#digest.subarray(0, MAC_BYTES), at);
    return bytes.toString('base64url', 0, at + MAC_BYTES);
  }

  decode(value: string): Attribution | undefined {
    const bytes = this.#bytes;
    const length = decodeBase64url(value, bytes);
    if (length === undefined || length < 5 + MAC_BYTES || bytes[0] !== VERSION) return undefined;
    const body = length - MAC_BYTES;
    const fields: number[] = [];
    let at = 1;
    for (let i = 0; i < 4; i++) {
      const field = readVarint(bytes, at, body);
      if (!field) return undefined;
      fields.push(field.value);
      at = field.next;
    }
    if (at !== body) return undefined;
    this.#mac(bytes, this.#digest, body);
    if (!sameBytes(this.#digest, 0, bytes, body, MAC_BYTES)) return undefined;
    const [issueId, deliveryId, subscriber, clickedAt] = fields as [number, number, number, number];
    return { issueId, deliveryId, subscriberId: subscriber === 0 ? null : subscriber - 1, at: clickedAt };
  }
}

const codecs = new Map<string, AttributionCodec>();

function codecFor(secret: string): AttributionCodec {
  let codec = codecs.get(secret);
  if (!codec) {
    if (codecs.size > 16) codecs.clear();
    codecs.set(secret, (codec = new AttributionCodec(secret)));
  }
  return codec;
}

export function makeAttributionCookie(secret: string, a: Attribution, windowDays: number, secure: boolean): string {
  return `${ATTRIBUTION_COOKIE}=${codecFor(secret).encode(a)}; Max-Age=${windowDays * 86_400}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The attribution a cookie value carries, if it is ours, intact and inside the window. */
export function readAttribution(
  secret: string,
  value: string | null | undefined,
  now: number,
  windowDays: number,
): Attribution | undefined {
  if (!value || value.length > 300) return undefined;
  const a = value.includes('.') ? readLegacy(secret, value) : codecFor(secret).decode(value);
  if (!a || a.issueId <= 0) return undefined;
  if (now - a.at > windowDays * DAY_MS || a.at - now > 60_000) return undefined;
  return a;
}

/** A cookie set before the compact format: a signed JSON token. */
function readLegacy(secret: string, value: string): Attribution | undefined {
  const p = verifyToken<Payload>(secret, LEGACY_PURPOSE, value);
  if (!p || !Number.isSafeInteger(p.i) || !Number.isSafeInteger(p.t) || !Number.isSafeInteger(p.d ?? 0))
    return undefined;
  return {
    issueId: p.i,
    deliveryId: p.d ?? 0,
    subscriberId: Number.isSafeInteger(p.s) && p.s! > 0 ? p.s! : null,
    at: p.t,
  };
}

/** The ff_attr value in a Cookie request header (fast: most requests have none). */
export function attributionCookieValue(cookieHeader: string | null | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const start = cookieHeader.indexOf(`${ATTRIBUTION_COOKIE}=`);
  if (start < 0 || (start > 0 && cookieHeader[start - 1] !== ' ' && cookieHeader[start - 1] !== ';')) return undefined;
  const from = start + ATTRIBUTION_COOKIE.length + 1;
  const end = cookieHeader.indexOf(';', from);
  return cookieHeader.slice(from, end < 0 ? undefined : end).trim();
}

/**
 * Where a signup came from: the attribution cookie's issue and the delivery whose link was clicked
 * (a reader who clicked through, or someone who clicked a forwarded copy — the link is the
 * forwarder's — unless that click has since been found to be a machine's), else the issue whose
 * slug is the campaign of the page the form was on (a forwarded link's landing page, no delivery).
 */
export async function signupSource(
  db: DB,
  input: { secret: string; cookie: string | undefined; campaign: string | null; windowDays: number },
  now = Date.now(),
): Promise<{ issueId: number | null; deliveryId: number | null }> {
  const attribution = readAttribution(input.secret, input.cookie, now, input.windowDays);
  if (attribution) {
    if (attribution.deliveryId > 0 && (await findClickClass(db, attribution.deliveryId, attribution.at)) === 'bot')
      return { issueId: null, deliveryId: null };
    return { issueId: attribution.issueId, deliveryId: attribution.deliveryId > 0 ? attribution.deliveryId : null };
  }
  if (!input.campaign) return { issueId: null, deliveryId: null };
  return { issueId: (await findIssueIdBySlug(db, input.campaign)) ?? null, deliveryId: null };
}
