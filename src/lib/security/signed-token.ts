import { timingSafeEqual } from 'node:crypto';
import { hmacFor } from './fast-hmac.ts';

/**
 * Tokens that travel in URLs and cookies: `<payload>.<signature>`, both base64url, the
 * signature an HMAC-SHA256 of the purpose and the payload under the server secret. The
 * purpose ("confirm", "unsubscribe", "click", …) is signed in, so a token made for one use
 * is refused for any other. Payloads are JSON; keep them small (they go in links).
 */
export function signToken(secret: string, purpose: string, payload: unknown): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${signature(secret, purpose, body)}`;
}

/** The payload, or undefined when the token is malformed, tampered with, or made for another purpose. */
export function verifyToken<T = unknown>(
  secret: string,
  purpose: string,
  token: string | null | undefined,
): T | undefined {
  if (typeof token !== 'string' || token.length > 4096) return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return undefined;
  const body = token.slice(0, dot);
  // Compare the text, not decoded bytes: base64 decoding ignores trailing garbage.
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(signature(secret, purpose, body));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

// HMAC-SHA256(secret, purpose NUL body); the key's pads are computed once per secret (fast-hmac.ts).
function signature(secret: string, purpose: string, body: string): string {
  return hmacFor(secret)(`${purpose}\0${body}`).toString('base64url').slice(0, 32);
}
