import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/lib/security/rate-limit.ts';

describe('RateLimiter', () => {
  it('allows `limit` hits per window per key, then says how long to wait', () => {
    const limiter = new RateLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) expect(limiter.hit('1.2.3.4', 1000 + i)).toEqual({ allowed: true });
    expect(limiter.isBlocked('1.2.3.4', 2000)).toBe(true);
    expect(limiter.hit('1.2.3.4', 31_000)).toEqual({ allowed: false, retryAfterSeconds: 30 });
    expect(limiter.hit('5.6.7.8', 31_000)).toEqual({ allowed: true });
    expect(limiter.hit('1.2.3.4', 61_001)).toEqual({ allowed: true });
  });
});
