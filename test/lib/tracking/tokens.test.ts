import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHmacSha256, createHmacSha256Into } from '#lib/security/fast-hmac.ts';
import {
  makeClickToken,
  makeOpenToken,
  makeTestClickToken,
  readClickToken,
  readOpenToken,
  urlTag,
} from '#lib/tracking/tokens.ts';

const secret = 'k'.repeat(43);

describe('tracking tokens', () => {
  it('round-trip a delivery (and a link), URL-safe and short', () => {
    const open = makeOpenToken(secret, 123_456);
    const click = makeClickToken(secret, 123_456, 789);
    expect(readOpenToken(secret, open)).toEqual({ kind: 'open', deliveryId: 123_456, test: false });
    expect(readClickToken(secret, click)).toEqual({ kind: 'click', deliveryId: 123_456, linkId: 789, test: false });
    for (const token of [open, click]) expect(token).toMatch(/^[A-Za-z0-9_-]{16,26}$/);
    expect(click.length).toBeLessThanOrEqual(22);
    // The largest ids still fit.
    const big = makeClickToken(secret, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    expect(readClickToken(secret, big)).toMatchObject({
      deliveryId: Number.MAX_SAFE_INTEGER,
      linkId: Number.MAX_SAFE_INTEGER,
    });
    expect(big.length).toBeLessThanOrEqual(40);
  });

  it('stay the same bytes for the same secret: links in mail already sent keep working', () => {
    expect(makeOpenToken(secret, 123_456)).toBe('EMDEB5-Gecb1aYgPE8g');
    expect(makeClickToken(secret, 123_456, 789)).toBe('EsDEB5UGNVj0fbi5R9ILPA');
    expect(readClickToken(secret, 'EsDEB5UGNVj0fbi5R9ILPA')).toEqual({
      kind: 'click',
      deliveryId: 123_456,
      linkId: 789,
      test: false,
    });
  });

  it('carry the test marker inside the signature: a test token cannot pass for a live one', () => {
    const now = Date.UTC(2026, 10, 28, 12, 0, 30);
    const test = makeTestClickToken(secret, 5, { now, url: 'https://frobozz.example/a' });
    // A test click carries its expiry (to the minute) and its link's URL tag, inside the MAC.
    expect(readClickToken(secret, test)).toEqual({
      kind: 'click',
      deliveryId: 0,
      linkId: 5,
      test: true,
      expiresAt: Date.UTC(2026, 10, 29, 12, 1),
      urlTag: urlTag('https://frobozz.example/a'),
    });
    expect(urlTag('https://frobozz.example/a')).not.toBe(urlTag('https://frobozz.example/b'));
    expect(test.length).toBeLessThanOrEqual(40);
    expect(() => makeClickToken(secret, 0, 5, { test: true })).toThrow(/testClick/);
    const moved = Buffer.from(test, 'base64url');
    moved[4] = moved[4]! ^ 0x01; // a later expiry, without the secret
    expect(readClickToken(secret, moved.toString('base64url'))).toBeUndefined();
    expect(readOpenToken(secret, makeOpenToken(secret, 0, { test: true }))).toMatchObject({ test: true });
    const bytes = Buffer.from(test, 'base64url');
    bytes[0] = bytes[0]! & ~0x01; // clear the test bit
    expect(readClickToken(secret, bytes.toString('base64url'))).toBeUndefined();
  });

  it('an open token is not a click token, nor the reverse', () => {
    expect(readClickToken(secret, makeOpenToken(secret, 42))).toBeUndefined();
    expect(readOpenToken(secret, makeClickToken(secret, 42, 1))).toBeUndefined();
  });

  it('refuse tampered, truncated, extended, re-encoded and foreign tokens', () => {
    const token = makeClickToken(secret, 1000, 7);
    const bytes = Buffer.from(token, 'base64url');
    const variants = [
      token.slice(0, -1),
      token + 'A',
      token + '=',
      `${token}.`,
      token.toUpperCase(),
      '',
      'A'.repeat(16),
      'x'.repeat(5000),
      '../../etc/passwd',
      makeClickToken('o'.repeat(43), 1000, 7), // another server's secret
    ];
    for (let i = 0; i < bytes.length; i++) {
      const flipped = Buffer.from(bytes);
      flipped[i] = flipped[i]! ^ 0x01;
      variants.push(flipped.toString('base64url'));
    }
    // Another link id with this token's signature.
    const otherLink = Buffer.from(bytes);
    otherLink[3] = 8;
    variants.push(otherLink.toString('base64url'));
    // A stray low bit in the last character: base64 decoders read the same bytes from it.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect(token.length % 4).not.toBe(0);
    const stray = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]!;
    expect(Buffer.from(stray, 'base64url').equals(bytes)).toBe(true);
    variants.push(stray);
    for (const bad of variants) expect(readClickToken(secret, bad), bad.slice(0, 40)).toBeUndefined();
    expect(readClickToken(secret, null)).toBeUndefined();
    expect(readClickToken(secret, undefined)).toBeUndefined();
  });

  it('refuse ids that are not non-negative safe integers when making tokens', () => {
    expect(() => makeOpenToken(secret, -1)).toThrow(RangeError);
    expect(() => makeOpenToken(secret, 1.5)).toThrow(RangeError);
    expect(() => makeClickToken(secret, 1, 0)).toThrow(RangeError);
  });

  it('fast HMAC-SHA256 equals node:crypto HMAC for short, long and empty keys and messages', () => {
    for (const key of ['', 'k', 'k'.repeat(64), 'k'.repeat(100), 'ключ €']) {
      const hmac = createHmacSha256(key);
      for (const message of [
        '',
        'a',
        'x'.repeat(55),
        'x'.repeat(56),
        'x'.repeat(63),
        'y'.repeat(64),
        'y'.repeat(119),
        'y'.repeat(120),
        'z'.repeat(1000),
        'ü€😀',
      ]) {
        expect(
          hmac(message).equals(createHmac('sha256', key).update(message).digest()),
          `${key.length}/${message.length}`,
        ).toBe(true);
      }
    }
  });

  it('fast HMAC-SHA256 equals node:crypto HMAC for random keys and every message length across the padding boundaries', () => {
    for (let keyLength = 0; keyLength <= 140; keyLength += 5) {
      const key = randomBytes(keyLength);
      const hmac = createHmacSha256(key);
      for (let length = 0; length <= 200; length++) {
        const message = randomBytes(length);
        // The same function twice in a row: no state may leak from one message into the next.
        expect(hmac(message).equals(createHmac('sha256', key).update(message).digest()), `${keyLength}/${length}`).toBe(
          true,
        );
      }
    }
  });

  it('fast HMAC-SHA256 of the first bytes of a buffer equals node:crypto HMAC of those bytes, and refuses more than the buffer holds', () => {
    const key = randomBytes(32);
    const into = createHmacSha256Into(key);
    const buffer = randomBytes(150);
    const out = new Uint8Array(32);
    for (const length of [0, 1, 20, 55, 56, 64, 119, 120, 150]) {
      into(buffer, out, length);
      expect(
        Buffer.from(out).equals(createHmac('sha256', key).update(buffer.subarray(0, length)).digest()),
        String(length),
      ).toBe(true);
    }
    expect(() => into(buffer, out, 151)).toThrow(RangeError);
  });
});
