import { describe, expect, it } from 'vitest';
import { makeAttributionCookie, readAttribution } from '#lib/tracking/attribution.ts';
import { signToken } from '#lib/security/signed-token.ts';

const secret = 's'.repeat(43);
const at = Date.UTC(2026, 10, 20, 9, 30);
const DAY = 86_400_000;

function valueOf(setCookie: string): string {
  return /^ff_attr=([^;]+)/.exec(setCookie)![1]!;
}

describe('attribution cookie', () => {
  it('carries the issue, delivery, subscriber and click time, signed, with the window as Max-Age', () => {
    const setCookie = makeAttributionCookie(
      secret,
      { issueId: 12, deliveryId: 345_678, subscriberId: 9_876, at },
      30,
      true,
    );
    expect(setCookie).toMatch(/^ff_attr=[A-Za-z0-9_-]+; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
    expect(valueOf(setCookie).length).toBeLessThanOrEqual(48);
    expect(readAttribution(secret, valueOf(setCookie), at + DAY, 30)).toEqual({
      issueId: 12,
      deliveryId: 345_678,
      subscriberId: 9_876,
      at,
    });
    const anonymous = valueOf(
      makeAttributionCookie(secret, { issueId: 12, deliveryId: 0, subscriberId: null, at }, 30, false),
    );
    expect(readAttribution(secret, anonymous, at, 30)).toEqual({ issueId: 12, deliveryId: 0, subscriberId: null, at });
    // Subscriber 0 is not "none".
    const zero = valueOf(makeAttributionCookie(secret, { issueId: 1, deliveryId: 1, subscriberId: 0, at }, 30, false));
    expect(readAttribution(secret, zero, at, 30)?.subscriberId).toBe(0);
  });

  it('stays the same bytes for the same secret: cookies already set keep counting', () => {
    const clickedAt = 1_795_729_500_000;
    expect(
      valueOf(
        makeAttributionCookie(
          secret.replace(/s/g, 'k'),
          { issueId: 12, deliveryId: 345_678, subscriberId: 9_876, at: clickedAt },
          7,
          false,
        ),
      ),
    ).toBe('IQzOjBWVTeDOxs6hNFpIOtU13Bx-7ALNebrDUy0');
    expect(readAttribution(secret.replace(/s/g, 'k'), 'IQzOjBWVTeDOxs6hNFpIOtU13Bx-7ALNebrDUy0', clickedAt, 7)).toEqual(
      { issueId: 12, deliveryId: 345_678, subscriberId: 9_876, at: clickedAt },
    );
  });

  it('counts only inside the window and not from the future', () => {
    const value = valueOf(makeAttributionCookie(secret, { issueId: 12, deliveryId: 1, subscriberId: 2, at }, 7, false));
    expect(readAttribution(secret, value, at + 7 * DAY, 7)).toBeDefined();
    expect(readAttribution(secret, value, at + 7 * DAY + 1, 7)).toBeUndefined();
    expect(readAttribution(secret, value, at - 61_000, 7)).toBeUndefined();
  });

  it('refuses tampered, truncated, extended, re-spelled and foreign values', () => {
    const value = valueOf(
      makeAttributionCookie(secret, { issueId: 12, deliveryId: 345_678, subscriberId: 9_876, at }, 30, false),
    );
    const bytes = Buffer.from(value, 'base64url');
    const variants = [
      value.slice(0, -1),
      value + 'A',
      value + 'AA',
      `${value}=`,
      `.${value}`,
      '',
      'x'.repeat(400),
      valueOf(
        makeAttributionCookie('o'.repeat(43), { issueId: 12, deliveryId: 345_678, subscriberId: 9_876, at }, 30, false),
      ),
    ];
    for (let i = 0; i < bytes.length; i++) {
      const flipped = Buffer.from(bytes);
      flipped[i] = flipped[i]! ^ 0x04;
      variants.push(flipped.toString('base64url'));
    }
    for (const bad of variants) expect(readAttribution(secret, bad, at, 30), bad).toBeUndefined();
  });

  it('still reads cookies set in the earlier signed-JSON format until their window ends', () => {
    const legacy = signToken(secret, 'attribution', { i: 12, d: 345, s: 678, t: at });
    expect(readAttribution(secret, legacy, at + DAY, 30)).toEqual({
      issueId: 12,
      deliveryId: 345,
      subscriberId: 678,
      at,
    });
    expect(readAttribution(secret, signToken(secret, 'attribution', { i: 12, d: 0, t: at }), at, 30)).toEqual({
      issueId: 12,
      deliveryId: 0,
      subscriberId: null,
      at,
    });
    expect(readAttribution(secret, legacy, at + 31 * DAY, 30)).toBeUndefined();
    expect(
      readAttribution(secret, signToken(secret, 'confirm', { i: 12, d: 345, s: 678, t: at }), at, 30),
    ).toBeUndefined();
    expect(readAttribution(secret, legacy.slice(0, -2) + 'AA', at, 30)).toBeUndefined();
  });
});
