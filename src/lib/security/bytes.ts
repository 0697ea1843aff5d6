/**
 * Byte helpers for the tokens and cookies read on every pixel and click, where a Buffer
 * allocation or a native call per step shows in the throughput.
 */

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SEXTETS = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64URL.length; i++) SEXTETS[BASE64URL.charCodeAt(i)] = i;

/**
 * Decodes unpadded base64url into `into` and answers the number of bytes, or undefined when
 * the text is not the canonical spelling of some bytes: a character outside the alphabet, a
 * length no byte string has (4n + 1), stray bits in the last character, or more bytes than
 * `into` holds. Each byte string has exactly one accepted spelling, so a token cannot be
 * altered into another text that reads the same.
 */
export function decodeBase64url(text: string, into: Uint8Array): number | undefined {
  const length = text.length;
  const rest = length % 4;
  if (rest === 1) return undefined;
  const bytes = ((length - rest) / 4) * 3 + (rest === 0 ? 0 : rest - 1);
  if (bytes > into.length) return undefined;
  let out = 0;
  let bits = 0;
  let pending = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const sextet = code < 128 ? SEXTETS[code]! : -1;
    if (sextet < 0) return undefined;
    pending = (pending << 6) | sextet;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      into[out++] = (pending >>> bits) & 0xff;
      pending &= (1 << bits) - 1;
    }
  }
  return pending === 0 ? bytes : undefined;
}

/** Whether a[aAt…aAt+n) equals b[bAt…bAt+n), in time that does not depend on where they differ. */
export function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a[aAt + i]! ^ b[bAt + i]!;
  return diff === 0;
}

/** Unsigned LEB128 varints of up to 2^53 take at most 8 bytes. */
export const MAX_VARINT_BYTES = 8;

/** Writes `value` (a non-negative safe integer) as an unsigned LEB128 varint at `at`; answers the next position. */
export function writeVarint(buffer: Uint8Array, at: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    buffer[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  buffer[at++] = rest;
  return at;
}

/** Unsigned LEB128 within [at, end); refuses overlong encodings (a trailing 0x80…0x00) and values past 2^53. */
export function readVarint(buffer: Uint8Array, at: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && at < end; i++) {
    const byte = buffer[at++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) return undefined;
      return Number.isSafeInteger(value) ? { value, next: at } : undefined;
    }
    scale *= 0x80;
  }
  return undefined;
}
