import { hash } from 'node:crypto';

const BLOCK = 64; // SHA-256 block size
const DIGEST = 32;

/** HMAC-SHA256 under one fixed key, as a function of the message. */
export type Hmac = (message: Uint8Array | string) => Buffer;

// FIPS 180-4 §4.2.2 and §5.3.3.
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const W = new Int32Array(64);

/** One SHA-256 compression of the 64 bytes of `block` at `offset` into `state`. */
function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    W[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!,
    e = state[4]!,
    f = state[5]!,
    g = state[6]!,
    h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** The state after one padded key block (the key XOR a pad): HMAC's inner or outer starting point. */
function midstate(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) block[i] = (key[i] ?? 0) ^ pad;
  const state = IV.slice();
  compress(state, block, 0);
  return state;
}

/**
 * Finishes a SHA-256 that started from `state` after `before` bytes: compresses the first
 * `length` bytes of `data`, pads with the total length, and leaves the digest's words in `state`.
 */
function finish(state: Int32Array, before: number, data: Uint8Array, length: number, tail: Uint8Array): void {
  let at = 0;
  for (; at + BLOCK <= length; at += BLOCK) compress(state, data, at);
  const rest = length - at;
  tail.fill(0);
  for (let i = 0; i < rest; i++) tail[i] = data[at + i]!;
  tail[rest] = 0x80;
  const bits = (before + length) * 8;
  const blocks = rest + 9 > BLOCK ? 2 : 1;
  const end = blocks * BLOCK;
  // A 64-bit big-endian bit count; messages here are far below 2^53 bits.
  const high = Math.floor(bits / 0x1_0000_0000);
  tail[end - 8] = high >>> 24;
  tail[end - 7] = high >>> 16;
  tail[end - 6] = high >>> 8;
  tail[end - 5] = high;
  tail[end - 4] = bits >>> 24;
  tail[end - 3] = bits >>> 16;
  tail[end - 2] = bits >>> 8;
  tail[end - 1] = bits;
  compress(state, tail, 0);
  if (blocks === 2) compress(state, tail, BLOCK);
}

function writeWords(state: Int32Array, out: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const w = state[i]!;
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = w >>> 16;
    out[i * 4 + 2] = w >>> 8;
    out[i * 4 + 3] = w;
  }
}

/**
 * HMAC-SHA256 (RFC 2104) with the key's inner and outer pads compressed once: each call
 * compresses only the message and the inner digest (two SHA-256 blocks for a short message),
 * in JavaScript: node:crypto's fixed cost per hash, paid twice per HMAC, and `createHmac`'s
 * key set-up on every call are what this avoids (figures: docs/performance.md). What keeps
 * reading a tracking token cheap on every pixel and click. The output is byte for byte
 * `createHmac('sha256', key).update(message).digest()`.
 */
export function createHmacSha256(key: string | Uint8Array): Hmac {
  const into = createHmacSha256Into(key);
  return (message) => {
    const out = Buffer.allocUnsafe(DIGEST);
    into(typeof message === 'string' ? Buffer.from(message, 'utf8') : message, out);
    return out;
  };
}

/** HMAC-SHA256 under one fixed key of the first `length` bytes of `message` (all by default), written into `out` (nothing allocated per call). */
export type HmacInto = (message: Uint8Array, out: Uint8Array, length?: number) => void;

export function createHmacSha256Into(key: string | Uint8Array): HmacInto {
  let keyBytes: Uint8Array = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (keyBytes.length > BLOCK) keyBytes = hash('sha256', keyBytes, 'buffer');
  const inner = midstate(keyBytes, 0x36);
  const outer = midstate(keyBytes, 0x5c);
  const state = new Int32Array(8);
  const tail = new Uint8Array(2 * BLOCK);
  const innerDigest = new Uint8Array(DIGEST);
  return (message, out, length = message.length) => {
    if (length > message.length) throw new RangeError(`${length} bytes asked of a ${message.length}-byte message`);
    state.set(inner);
    finish(state, BLOCK, message, length, tail);
    writeWords(state, innerDigest);
    state.set(outer);
    finish(state, BLOCK, innerDigest, DIGEST, tail);
    writeWords(state, out);
  };
}

/**
 * An HMAC under a key of its own for one purpose: HMAC-SHA256(secret, label) as the key, so its
 * MACs never coincide with those the secret makes for anything else.
 */
export function derivedHmacSha256Into(secret: string, label: string): HmacInto {
  const key = new Uint8Array(DIGEST);
  createHmacSha256Into(secret)(Buffer.from(label, 'utf8'), key);
  return createHmacSha256Into(key);
}

const cache = new Map<string, Hmac>();

/** The HMAC for a secret, kept for reuse (a process has one or two secrets). */
export function hmacFor(secret: string): Hmac {
  let hmac = cache.get(secret);
  if (!hmac) {
    if (cache.size > 16) cache.clear();
    hmac = createHmacSha256(secret);
    cache.set(secret, hmac);
  }
  return hmac;
}
