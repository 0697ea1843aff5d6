import { RateLimiter } from '../security/rate-limit.ts';

export const ACCOUNT_FAILURE_LIMIT = 10;
export const IP_FAILURE_LIMIT = 50;
export const FAILURE_WINDOW_MS = 10 * 60 * 1000;

/**
 * Failed sign-ins counted per account (the email as typed, normalised — known or not, so
 * the answer never tells them apart) and per client address. Ten failures for one account
 * in ten minutes, or fifty from one address, and further attempts are refused until the
 * window ends. A success clears the account's count. In memory: a restart forgives.
 */
export class LoginThrottle {
  readonly #accounts: RateLimiter;
  readonly #addresses: RateLimiter;

  constructor(accountLimit = ACCOUNT_FAILURE_LIMIT, addressLimit = IP_FAILURE_LIMIT, windowMs = FAILURE_WINDOW_MS) {
    this.#accounts = new RateLimiter(accountLimit, windowMs);
    this.#addresses = new RateLimiter(addressLimit, windowMs);
  }

  /** Seconds to wait before trying again, or 0 when an attempt may go ahead. */
  retryAfter(email: string, address: string, now = Date.now()): number {
    for (const [limiter, key] of [[this.#accounts, email], [this.#addresses, address]] as const) {
      if (limiter.isBlocked(key, now)) {
        const hit = limiter.hit(key, now);
        return hit.allowed ? 1 : hit.retryAfterSeconds;
      }
    }
    return 0;
  }

  recordFailure(email: string, address: string, now = Date.now()): void {
    this.#accounts.hit(email, now);
    this.#addresses.hit(address, now);
  }

  recordSuccess(email: string): void {
    this.#accounts.reset(email);
  }
}
