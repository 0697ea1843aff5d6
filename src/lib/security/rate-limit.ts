import type { DB } from '../db/database.ts';
import { addressNetwork } from '../auth/login-throttle.ts';
import { hmacFor } from './fast-hmac.ts';
import { addRateLimitHit, deleteEndedRateLimits, findRateLimit } from './rate-limit.repository.ts';

/**
 * Fixed-window limits kept in the database, so every server process gives one answer and a
 * restart forgets nothing: `limit` hits per `windowMs` per value (a client network, an email
 * address). A client address counts by its network (IPv6 by its /64, as sign-ins do).
 */
export interface RateRule {
  /** Part of the stored key: two rules never share a count. */
  name: string;
  limit: number;
  windowMs: number;
  /** The value is a client address: count its network. */
  perNetwork?: boolean;
}

export const SIGNUPS_PER_ADDRESS: RateRule = { name: 'signup', limit: 5, windowMs: 10 * 60_000, perNetwork: true };
export const RESET_REQUESTS_PER_ADDRESS: RateRule = {
  name: 'reset-address',
  limit: 10,
  windowMs: 60 * 60_000,
  perNetwork: true,
};
export const RESET_REQUESTS_PER_EMAIL: RateRule = { name: 'reset-email', limit: 3, windowMs: 60 * 60_000 };
export const WEBHOOK_FAILURES_PER_ADDRESS: RateRule = {
  name: 'webhook-failure',
  limit: 20,
  windowMs: 10 * 60_000,
  perNetwork: true,
};

export type RateAnswer = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Ended windows are deleted after this many hits in a process. */
const CLEAN_EVERY = 200;
let hitsSinceClean = 0;

const waitUntil = (expiresAt: number, now: number): RateAnswer => ({
  allowed: false,
  retryAfterSeconds: Math.max(1, Math.ceil((expiresAt - now) / 1000)),
});

export class RateLimits {
  readonly #db: DB;
  readonly #key: (rule: RateRule, value: string) => string;

  constructor(deps: { db: DB; secret: string }) {
    this.#db = deps.db;
    const hmac = hmacFor(deps.secret);
    this.#key = (rule, value) =>
      `${rule.name}:${hmac(`rate-limit\0${rule.name}\0${rule.perNetwork ? addressNetwork(value) : value}`)
        .toString('base64url')
        .slice(0, 32)}`;
  }

  /** Counts a hit; says whether it is within the limit and, if not, how many seconds until the window ends. */
  async hit(rule: RateRule, value: string, now = Date.now()): Promise<RateAnswer> {
    const counted = await addRateLimitHit(this.#db, this.#key(rule, value), now, rule.windowMs);
    if (++hitsSinceClean >= CLEAN_EVERY) {
      hitsSinceClean = 0;
      await deleteEndedRateLimits(this.#db, now);
    }
    return counted.hits <= rule.limit ? { allowed: true } : waitUntil(counted.expiresAt, now);
  }

  /** Would the next hit be refused? (Counts nothing.) */
  async check(rule: RateRule, value: string, now = Date.now()): Promise<RateAnswer> {
    const window = await findRateLimit(this.#db, this.#key(rule, value), now);
    return window && window.hits >= rule.limit ? waitUntil(window.expiresAt, now) : { allowed: true };
  }
}
