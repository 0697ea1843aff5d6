import { createHash } from 'node:crypto';
import { derivedHmacSha256Into, type HmacInto } from '../security/fast-hmac.ts';
import { decodeBase64url, MAX_VARINT_BYTES, readVarint, sameBytes, writeVarint } from '../security/bytes.ts';

/**
 * Tracking tokens: the last path segment of `/t/o/<token>` (open pixel) and `/t/c/<token>`
 * (click). Each names one delivery (one message of one issue to one subscriber) and, for a
 * click, one registered link of that issue; nothing in it names a target URL.
 *
 * Bytes, then base64url without padding (16–19 bytes → 22–26 characters):
 *
 *   header    1 byte   0x10 | (click ? 0x02 : 0) | (test ? 0x01 : 0)   (high nibble: format version 1)
 *   delivery  varint   unsigned LEB128; 0 for test and preview messages
 *   link      varint   clicks only: issue_links.id
 *   expiry    varint   test clicks only: minutes since the epoch after which the link is dead
 *   url tag   4 bytes  test clicks only: SHA-256 of the link's URL when the token was made
 *   mac       10 bytes HMAC-SHA256(tracking key, everything before it), first 10 bytes (80 bits)
 *
 * The tracking key is HMAC-SHA256(server secret, "footfall tracking tokens v1"), so these MACs
 * never coincide with any other token the secret signs. The header (kind and test flag) is
 * inside the MAC: an open token is not a click token, and a test token cannot be turned into
 * a live one.
 *
 * Test tokens (`test: true`) are in test sends and previews: they verify, so a click on a test
 * message still reaches its link, but the tracker must record nothing for them. A draft's links
 * are whatever a writer typed, so a test click token lasts TEST_CLICK_VALID_MS and is bound to
 * the URL its link had: after that, or once the draft no longer has the link, it leads nowhere.
 */
export interface OpenToken {
  kind: 'open';
  deliveryId: number;
  test: boolean;
}

export interface ClickToken {
  kind: 'click';
  deliveryId: number;
  linkId: number;
  test: boolean;
  /** Test clicks: when the link stops working (epoch ms, to the minute). */
  expiresAt?: number;
  /** Test clicks: the first 4 bytes of SHA-256 of the link's URL when the token was made (see urlTag). */
  urlTag?: number;
}

export interface TokenOptions {
  /** A test send or preview: verifies, records nothing. */
  test?: boolean;
}

/** A test or preview message's click: made `now`, for the link that leads to `url`. */
export interface TestClickOptions {
  now: number;
  url: string;
}

/** How long a link in a test send or preview keeps working. */
export const TEST_CLICK_VALID_MS = 24 * 3_600_000;
const MINUTE_MS = 60_000;

/** The tag a test click token carries for a link's URL (first 4 bytes of its SHA-256, as an unsigned number). */
export function urlTag(url: string): number {
  return createHash('sha256').update(url).digest().readUInt32BE(0);
}

const VERSION = 0x10;
const CLICK = 0x02;
const TEST = 0x01;
const MAC_BYTES = 10;
const URL_TAG_BYTES = 4;
const MAX_TOKEN_BYTES = 1 + 3 * MAX_VARINT_BYTES + URL_TAG_BYTES + MAC_BYTES;
const MAX_TOKEN_CHARS = Math.ceil((MAX_TOKEN_BYTES * 4) / 3);
const KEY_LABEL = 'footfall tracking tokens v1';

/** Makes and reads tracking tokens under one server secret; create once per process (the key is derived once). */
export class TrackingTokens {
  readonly #mac: HmacInto;
  // Scratch buffers: making and reading a token are synchronous, so they are never shared between calls in flight.
  readonly #scratch = Buffer.alloc(MAX_TOKEN_BYTES);
  readonly #digest = new Uint8Array(32);

  constructor(secret: string) {
    if (typeof secret !== 'string' || secret.length === 0) throw new Error('TrackingTokens needs the server secret');
    this.#mac = derivedHmacSha256Into(secret, KEY_LABEL);
  }

  open(deliveryId: number, options: TokenOptions = {}): string {
    return this.#make(VERSION | (options.test ? TEST : 0), deliveryId, undefined);
  }

  click(deliveryId: number, linkId: number, options: TokenOptions = {}): string {
    if (options.test) throw new Error('a test click token needs its time and URL: use testClick');
    return this.#make(VERSION | CLICK, deliveryId, linkId);
  }

  /** A click in a test send or preview (delivery 0): works for TEST_CLICK_VALID_MS, for the link's URL as it is now. */
  testClick(linkId: number, options: TestClickOptions): string {
    return this.#make(VERSION | CLICK | TEST, 0, linkId, {
      expiresAt: options.now + TEST_CLICK_VALID_MS,
      urlTag: urlTag(options.url),
    });
  }

  readOpen(token: string | null | undefined): OpenToken | undefined {
    const read = this.#read(token);
    if (!read || read.click) return undefined;
    return { kind: 'open', deliveryId: read.deliveryId, test: read.test };
  }

  readClick(token: string | null | undefined): ClickToken | undefined {
    const read = this.#read(token);
    if (!read || !read.click || read.linkId === undefined) return undefined;
    if (read.bound)
      return { kind: 'click', deliveryId: read.deliveryId, linkId: read.linkId, test: read.test, ...read.bound };
    return { kind: 'click', deliveryId: read.deliveryId, linkId: read.linkId, test: read.test };
  }

  #make(
    header: number,
    deliveryId: number,
    linkId: number | undefined,
    bound?: { expiresAt: number; urlTag: number },
  ): string {
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 0)
      throw new RangeError(`delivery id must be a non-negative safe integer (got ${deliveryId})`);
    if (linkId !== undefined && (!Number.isSafeInteger(linkId) || linkId <= 0))
      throw new RangeError(`link id must be a positive safe integer (got ${linkId})`);
    const bytes = this.#scratch;
    bytes[0] = header;
    let at = writeVarint(bytes, 1, deliveryId);
    if (linkId !== undefined) at = writeVarint(bytes, at, linkId);
    if (bound) {
      at = writeVarint(bytes, at, Math.ceil(bound.expiresAt / MINUTE_MS));
      bytes.writeUInt32BE(bound.urlTag, at);
      at += URL_TAG_BYTES;
    }
    this.#mac(bytes, this.#digest, at);
    bytes.set(this.#digest.subarray(0, MAC_BYTES), at);
    return bytes.toString('base64url', 0, at + MAC_BYTES);
  }

  #read(token: string | null | undefined):
    | {
        click: boolean;
        test: boolean;
        deliveryId: number;
        linkId?: number;
        bound?: { expiresAt: number; urlTag: number };
      }
    | undefined {
    if (typeof token !== 'string' || token.length < 16 || token.length > MAX_TOKEN_CHARS) return undefined;
    const bytes = this.#scratch;
    // Only the canonical spelling is read, so no two texts name the same token.
    const length = decodeBase64url(token, bytes);
    if (length === undefined) return undefined;
    const header = bytes[0]!;
    if ((header & 0xf0) !== VERSION || (header & 0x0c) !== 0) return undefined;
    const click = (header & CLICK) !== 0;
    const test = (header & TEST) !== 0;
    const body = length - MAC_BYTES;
    const delivery = readVarint(bytes, 1, body);
    if (!delivery) return undefined;
    let at = delivery.next;
    let linkId: number | undefined;
    if (click) {
      const link = readVarint(bytes, at, body);
      if (!link || link.value === 0) return undefined;
      linkId = link.value;
      at = link.next;
    }
    let bound: { expiresAt: number; urlTag: number } | undefined;
    if (click && test) {
      const expiry = readVarint(bytes, at, body);
      if (!expiry || expiry.next + URL_TAG_BYTES > body) return undefined;
      bound = { expiresAt: expiry.value * MINUTE_MS, urlTag: bytes.readUInt32BE(expiry.next) };
      at = expiry.next + URL_TAG_BYTES;
    }
    if (at !== body) return undefined;
    this.#mac(bytes, this.#digest, body);
    if (!sameBytes(this.#digest, 0, bytes, body, MAC_BYTES)) return undefined;
    if (linkId === undefined) return { click, test, deliveryId: delivery.value };
    return bound
      ? { click, test, deliveryId: delivery.value, linkId, bound }
      : { click, test, deliveryId: delivery.value, linkId };
  }
}

const instances = new Map<string, TrackingTokens>();

/** The TrackingTokens for a secret, made once. */
export function trackingTokens(secret: string): TrackingTokens {
  let tokens = instances.get(secret);
  if (!tokens) {
    if (instances.size > 16) instances.clear();
    tokens = new TrackingTokens(secret);
    instances.set(secret, tokens);
  }
  return tokens;
}

export function makeOpenToken(secret: string, deliveryId: number, options: TokenOptions = {}): string {
  return trackingTokens(secret).open(deliveryId, options);
}

export function makeClickToken(secret: string, deliveryId: number, linkId: number, options: TokenOptions = {}): string {
  return trackingTokens(secret).click(deliveryId, linkId, options);
}

export function makeTestClickToken(secret: string, linkId: number, options: TestClickOptions): string {
  return trackingTokens(secret).testClick(linkId, options);
}

/** The delivery an open token names, or undefined for anything malformed, tampered with or made for clicks. */
export function readOpenToken(secret: string, token: string | null | undefined): OpenToken | undefined {
  return trackingTokens(secret).readOpen(token);
}

/** The delivery and link a click token names, or undefined for anything malformed, tampered with or made for opens. */
export function readClickToken(secret: string, token: string | null | undefined): ClickToken | undefined {
  return trackingTokens(secret).readClick(token);
}

/** Paths on the site for a token: `/t/o/<token>`, `/t/c/<token>`. */
export const OPEN_PATH = '/t/o/';
export const CLICK_PATH = '/t/c/';
