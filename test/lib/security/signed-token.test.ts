import { describe, expect, it } from 'vitest';
import { signToken, verifyToken } from '#lib/security/signed-token.ts';

const secret = 's'.repeat(43);

describe('signed tokens', () => {
  it('round-trips a payload for its purpose only', () => {
    const token = signToken(secret, 'unsubscribe', { s: 42 });
    expect(verifyToken(secret, 'unsubscribe', token)).toEqual({ s: 42 });
    expect(verifyToken(secret, 'confirm', token)).toBeUndefined();
    expect(verifyToken('t'.repeat(43), 'unsubscribe', token)).toBeUndefined();
  });

  it('refuses tampered, truncated, extended and malformed tokens', () => {
    const token = signToken(secret, 'p', { s: 42 });
    const [body, sig] = token.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ s: 43 })).toString('base64url');
    for (const bad of [
      `${other}.${sig}`,
      token.slice(0, -1),
      token + 'A',
      `${body}.`,
      `.${sig}`,
      `${body}.${sig}.x`,
      '',
      'x'.repeat(5000),
      `${Buffer.from('not json').toString('base64url')}.${sig}`,
    ]) {
      expect(verifyToken(secret, 'p', bad), bad.slice(0, 40)).toBeUndefined();
    }
    expect(verifyToken(secret, 'p', null)).toBeUndefined();
  });
});
