import { derivedHmacSha256Into, type HmacInto } from '../security/fast-hmac.ts';
import { decodeBase64url, MAX_VARINT_BYTES, readVarint, sameBytes, writeVarint } from '../security/bytes.ts';

/**
 * The marker cookie a machine's click redirect sets (a reader's click sets the attribution cookie,
 * which names its click too), so the page view it leads to names its click: `ff_click`, HttpOnly,
 * SameSite=Lax, Path=/, ten minutes. The view then follows that click's class as stored when the
 * view is written: a landing reached through a machine's click is never an attributed visit.
 *
 * The value is base64url (no padding) of
 *   version   1 byte   0x01
 *   delivery  varint   unsigned LEB128
 *   at        varint   the click's time, ms since the epoch (with the delivery, the click's row)
 *   mac       12 bytes HMAC-SHA256(marker key, everything before it), first 12 bytes
 * with the marker key HMAC-SHA256(server secret, "footfall click marker v1").
 */
export const CLICK_MARKER_COOKIE = 'ff_click';
export const CLICK_MARKER_SECONDS = 600;
const VERSION = 0x01;
const KEY_LABEL = 'footfall click marker v1';
const MAC_BYTES = 12;
const MAX_BYTES = 1 + 2 * MAX_VARINT_BYTES + MAC_BYTES;

export interface ClickMarker {
  deliveryId: number;
  at: number;
}

class MarkerCodec {
  readonly #mac: HmacInto;
  readonly #bytes = Buffer.alloc(MAX_BYTES);
  readonly #digest = new Uint8Array(32);

  constructor(secret: string) {
    this.#mac = derivedHmacSha256Into(secret, KEY_LABEL);
  }

  encode(m: ClickMarker): string {
    const bytes = this.#bytes;
    bytes[0] = VERSION;
    let at = writeVarint(bytes, 1, m.deliveryId);
    at = writeVarint(bytes, at, m.at);
    this.#mac(bytes, this.#digest, at);
    bytes.set(this.#digest.subarray(0, MAC_BYTES), at);
    return bytes.toString('base64url', 0, at + MAC_BYTES);
  }

  decode(value: string): ClickMarker | undefined {
    const bytes = this.#bytes;
    const length = decodeBase64url(value, bytes);
    if (length === undefined || length < 3 + MAC_BYTES || bytes[0] !== VERSION) return undefined;
    const body = length - MAC_BYTES;
    const delivery = readVarint(bytes, 1, body);
    const at = delivery && readVarint(bytes, delivery.next, body);
    if (!delivery || at?.next !== body) return undefined;
    this.#mac(bytes, this.#digest, body);
    if (!sameBytes(this.#digest, 0, bytes, body, MAC_BYTES)) return undefined;
    return { deliveryId: delivery.value, at: at.value };
  }
}

const codecs = new Map<string, MarkerCodec>();

function codecFor(secret: string): MarkerCodec {
  let codec = codecs.get(secret);
  if (!codec) {
    if (codecs.size > 16) codecs.clear();
    codecs.set(secret, (codec = new MarkerCodec(secret)));
  }
  return codec;
}

export function makeClickMarkerCookie(secret: string, marker: ClickMarker, secure: boolean): string {
  return `${CLICK_MARKER_COOKIE}=${codecFor(secret).encode(marker)}; Max-Age=${CLICK_MARKER_SECONDS}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The click a marker names, if it is ours, intact and no older than its lifetime. */
export function readClickMarker(
  secret: string,
  value: string | null | undefined,
  now: number,
): ClickMarker | undefined {
  if (!value || value.length > 64) return undefined;
  const marker = codecFor(secret).decode(value);
  if (!marker || marker.deliveryId <= 0) return undefined;
  if (now - marker.at > CLICK_MARKER_SECONDS * 1000 || marker.at - now > 60_000) return undefined;
  return marker;
}

/** The ff_click value in a Cookie request header. */
export function clickMarkerValue(cookieHeader: string | null | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const start = cookieHeader.indexOf(`${CLICK_MARKER_COOKIE}=`);
  if (start < 0 || (start > 0 && cookieHeader[start - 1] !== ' ' && cookieHeader[start - 1] !== ';')) return undefined;
  const from = start + CLICK_MARKER_COOKIE.length + 1;
  const end = cookieHeader.indexOf(';', from);
  return cookieHeader.slice(from, end < 0 ? undefined : end).trim();
}
