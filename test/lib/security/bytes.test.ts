import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64url, readVarint, sameBytes, writeVarint } from '#lib/security/bytes.ts';

describe('decodeBase64url', () => {
  it('reads what Buffer writes, for every length up to 60 bytes', () => {
    const into = new Uint8Array(64);
    for (let length = 0; length <= 60; length++) {
      const bytes = randomBytes(length);
      const n = decodeBase64url(bytes.toString('base64url'), into);
      expect(n, `length ${length}`).toBe(length);
      expect(Buffer.from(into.subarray(0, n)).equals(bytes), `length ${length}`).toBe(true);
    }
  });

  it('refuses anything but the one canonical spelling', () => {
    const into = new Uint8Array(64);
    const text = Buffer.from([0xfb, 0xff, 0x01, 0x02]).toString('base64url'); // "-_8BAg"
    expect(decodeBase64url(text, into)).toBe(4);
    // Stray bits in the last character: Buffer would read the same bytes from these.
    expect(Buffer.from(text.slice(0, -1) + 'h', 'base64url').equals(Buffer.from(text, 'base64url'))).toBe(true);
    for (const bad of [
      text.slice(0, -1) + 'h',
      text.slice(0, -1) + 'B',
      'A',
      'AAAAA',
      '+/8BAg',
      '-_8BAg==',
      '-_8B.g',
      '-_8BAé',
      '-_8 Ag',
    ]) {
      expect(decodeBase64url(bad, into), bad).toBeUndefined();
    }
  });

  it('refuses more bytes than the buffer holds', () => {
    expect(decodeBase64url(randomBytes(9).toString('base64url'), new Uint8Array(8))).toBeUndefined();
    expect(decodeBase64url(randomBytes(8).toString('base64url'), new Uint8Array(8))).toBe(8);
  });
});

describe('varints', () => {
  it('round-trip across the byte boundaries up to 2^53 - 1', () => {
    const buffer = new Uint8Array(8);
    for (const value of [
      0,
      1,
      127,
      128,
      16_383,
      16_384,
      2 ** 21,
      2 ** 35 + 7,
      1_764_190_000_000,
      Number.MAX_SAFE_INTEGER,
    ]) {
      const end = writeVarint(buffer, 0, value);
      expect(readVarint(buffer, 0, end)).toEqual({ value, next: end });
    }
  });

  it('refuse overlong, unterminated and oversized encodings', () => {
    expect(readVarint(Uint8Array.from([0x81, 0x00]), 0, 2)).toBeUndefined(); // 1 spelled in two bytes
    expect(readVarint(Uint8Array.from([0x81, 0x81]), 0, 2)).toBeUndefined(); // runs past the end
    expect(readVarint(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, 8)).toBeUndefined(); // 2^56 - 1
  });
});

describe('sameBytes', () => {
  it('compares ranges of two arrays', () => {
    const a = Uint8Array.from([1, 2, 3, 4, 5]);
    const b = Uint8Array.from([9, 2, 3, 4, 0]);
    expect(sameBytes(a, 1, b, 1, 3)).toBe(true);
    expect(sameBytes(a, 0, b, 0, 2)).toBe(false);
    expect(sameBytes(a, 1, b, 1, 4)).toBe(false);
  });
});
