import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { RateLimits, type RateRule } from '#lib/security/rate-limit.ts';

const RULE: RateRule = { name: 'test', limit: 3, windowMs: 60_000, perNetwork: true };
const OTHER: RateRule = { name: 'other', limit: 1, windowMs: 60_000 };

describeEachDatabase('rate limits in the database', (db) => {
  it('allows `limit` hits per window per network, then says how long to wait; a new window starts again', async () => {
    const limits = new RateLimits({ db: db(), secret: 'a secret for rate limit tests' });
    for (let i = 0; i < 3; i++) expect(await limits.hit(RULE, '192.0.2.1', 1000 + i)).toEqual({ allowed: true });
    expect(await limits.check(RULE, '192.0.2.1', 2000)).toEqual({ allowed: false, retryAfterSeconds: 59 });
    expect(await limits.hit(RULE, '192.0.2.1', 31_000)).toEqual({ allowed: false, retryAfterSeconds: 30 });
    expect(await limits.hit(RULE, '192.0.2.2', 31_000)).toEqual({ allowed: true });
    // Another rule keeps its own count for the same address.
    expect(await limits.hit(OTHER, '192.0.2.1', 31_000)).toEqual({ allowed: true });
    // IPv6: one /64 is one network, whichever address in it.
    for (let i = 1; i <= 3; i++) expect(await limits.hit(RULE, `2001:db8:1:2::${i}`, 5000)).toEqual({ allowed: true });
    expect(await limits.hit(RULE, '2001:db8:1:2:ffff::9', 5000)).toMatchObject({ allowed: false });
    expect(await limits.hit(RULE, '192.0.2.1', 61_000)).toEqual({ allowed: true });
    expect(await limits.check(RULE, '192.0.2.1', 61_000)).toEqual({ allowed: true });
  });

  it('hits made at once are all counted (one statement each), and nothing readable is stored', async () => {
    const limits = new RateLimits({ db: db(), secret: 'a secret for rate limit tests' });
    const answers = await Promise.all(Array.from({ length: 10 }, () => limits.hit(RULE, '198.51.100.7', 100_000)));
    expect(answers.filter((a) => a.allowed)).toHaveLength(3);
    const rows = await db().selectFrom('rate_limits').select(['key', 'hits']).execute();
    expect(rows.map((r) => Number(r.hits)).sort((a, b) => b - a)[0]).toBe(10);
    for (const r of rows) expect(r.key).toMatch(/^(test|other):[\w-]{32}$/);
  });

  it('windows that ended are cleaned away as hits come in', async () => {
    const limits = new RateLimits({ db: db(), secret: 'a secret for rate limit tests' });
    const later = 10 * 60_000;
    for (let i = 0; i < 200; i++) await limits.hit(OTHER, `user${i}@example.com`, later);
    const left = await db().selectFrom('rate_limits').select('expires_at').execute();
    for (const r of left) expect(Number(r.expires_at)).toBeGreaterThan(later);
  });
});
