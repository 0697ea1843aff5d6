import { isIPv4, isIPv6 } from 'node:net';
import type { DB } from '../db/database.ts';
import { hmacFor } from '../security/fast-hmac.ts';
import {
  addLoginFailure,
  deleteLoginThrottle,
  deleteLoginThrottlesBefore,
  findLoginThrottles,
  hasLoginAddress,
  markLoginThrottleNotified,
  recordLoginAddress,
} from './login-throttle.repository.ts';

/**
 * Failed sign-ins, counted in the database so every server process gives one answer:
 *
 *   per account and address   from the PAIR_FREE-th failure in a row, each further attempt waits:
 *                              1 s, 2 s, 4 s … doubling, at most PAIR_MAX_DELAY_MS (a success ends it)
 *   per address                ADDRESS_LIMIT failures within WINDOW_MS (any accounts): that address
 *                              waits until the window ends (someone trying many accounts)
 *   per account                ACCOUNT_LIMIT failures within WINDOW_MS (from anywhere): addresses that
 *                              never signed in to the account wait until the window ends, and the
 *                              account holder gets one mail; an address the account signed in from
 *                              before (within KNOWN_ADDRESS_MS) is not locked out, only slowed: 1 s
 *                              after the last failure, doubling with each further one, at most
 *                              KNOWN_MAX_DELAY_MS — so guessing from elsewhere cannot keep the owner out
 *
 * Accounts are the email as typed (normalised), known or not, so the answers never tell them
 * apart. An IPv6 client counts by its /64 (one customer's network). Refused attempts are not
 * counted: the password is not even checked.
 */
export const WINDOW_MS = 10 * 60_000;
export const ACCOUNT_LIMIT = 10;
export const ADDRESS_LIMIT = 50;
export const PAIR_FREE = 5;
export const PAIR_WINDOW_MS = 60 * 60_000;
export const PAIR_MAX_DELAY_MS = 15 * 60_000;
export const KNOWN_MAX_DELAY_MS = 60_000;
export const KNOWN_ADDRESS_MS = 365 * 86_400_000;
const STALE_MS = 86_400_000;
const PRUNE_EVERY = 500;

/** Why an attempt must wait, and for how long. */
export interface LoginWait {
  rule: 'address' | 'account' | 'account-and-address';
  retryAfterSeconds: number;
}

/** A failure that locked the account for new addresses: mail its holder (once per window, across processes). */
export interface LockedOut {
  attempts: number;
  until: number;
}

/** The network a client address stands for: IPv4 as it is, IPv6 by its /64 (IPv4-mapped IPv6 as IPv4). */
export function addressNetwork(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head, tail = ''] = address.toLowerCase().split('::', 2) as [string, string?];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const doubling = (steps: number, maxMs: number) => Math.min(maxMs, 1000 * 2 ** Math.min(steps, 30));
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class LoginThrottle {
  readonly #db: DB;
  readonly #key: (kind: string, value: string) => string;
  #sincePrune = 0;

  constructor(deps: { db: DB; secret: string }) {
    this.#db = deps.db;
    const hmac = hmacFor(deps.secret);
    this.#key = (kind, value) => hmac(`login-throttle\0${kind}\0${value}`).toString('base64url').slice(0, 32);
  }

  #keys(email: string, address: string) {
    const network = addressNetwork(address);
    return {
      account: this.#key('account', email),
      address: this.#key('address', network),
      pair: this.#key('pair', `${email}\0${network}`),
    };
  }

  /** How long the attempt must wait, or undefined when it may go ahead. */
  async check(email: string, address: string, now = Date.now()): Promise<LoginWait | undefined> {
    const keys = this.#keys(email, address);
    const rows = new Map(
      (await findLoginThrottles(this.#db, [keys.account, keys.address, keys.pair])).map((row) => [row.key, row]),
    );
    const waits: LoginWait[] = [];
    const byAddress = rows.get(keys.address);
    if (byAddress && byAddress.first_failure_at > now - WINDOW_MS && byAddress.failures >= ADDRESS_LIMIT) {
      waits.push({ rule: 'address', retryAfterSeconds: seconds(byAddress.first_failure_at + WINDOW_MS - now) });
    }
    const pair = rows.get(keys.pair);
    if (pair && pair.first_failure_at > now - PAIR_WINDOW_MS && pair.failures >= PAIR_FREE) {
      const until = pair.last_failure_at + doubling(pair.failures - PAIR_FREE, PAIR_MAX_DELAY_MS);
      if (until > now) waits.push({ rule: 'account-and-address', retryAfterSeconds: seconds(until - now) });
    }
    const account = rows.get(keys.account);
    if (account && account.first_failure_at > now - WINDOW_MS && account.failures >= ACCOUNT_LIMIT) {
      if (await hasLoginAddress(this.#db, keys.account, keys.address, now - KNOWN_ADDRESS_MS)) {
        const until = account.last_failure_at + doubling(account.failures - ACCOUNT_LIMIT, KNOWN_MAX_DELAY_MS);
        if (until > now) waits.push({ rule: 'account-and-address', retryAfterSeconds: seconds(until - now) });
      } else {
        waits.push({ rule: 'account', retryAfterSeconds: seconds(account.first_failure_at + WINDOW_MS - now) });
      }
    }
    return waits.sort((a, b) => b.retryAfterSeconds - a.retryAfterSeconds)[0];
  }

  /** Counts a failed attempt; answers the lock-out to report when this failure locked the account (first time in its window). */
  async recordFailure(email: string, address: string, now = Date.now()): Promise<LockedOut | undefined> {
    const keys = this.#keys(email, address);
    await addLoginFailure(this.#db, keys.address, now, WINDOW_MS);
    await addLoginFailure(this.#db, keys.pair, now, PAIR_WINDOW_MS);
    const account = await addLoginFailure(this.#db, keys.account, now, WINDOW_MS);
    if (++this.#sincePrune >= PRUNE_EVERY) {
      this.#sincePrune = 0;
      await deleteLoginThrottlesBefore(this.#db, now - STALE_MS);
    }
    if (account.failures < ACCOUNT_LIMIT || !(await markLoginThrottleNotified(this.#db, keys.account, now)))
      return undefined;
    return { attempts: account.failures, until: account.firstFailureAt + WINDOW_MS };
  }

  /** A sign-in that worked: this address's count for the account ends, and the address is one the account knows. */
  async recordSuccess(email: string, address: string, now = Date.now()): Promise<void> {
    const keys = this.#keys(email, address);
    await deleteLoginThrottle(this.#db, keys.pair);
    await recordLoginAddress(this.#db, keys.account, keys.address, now);
  }
}

/** A wait in words for the person at the form: "20 seconds", "1 minute", "10 minutes". */
export function describeWait(retryAfterSeconds: number): string {
  if (retryAfterSeconds < 90) return retryAfterSeconds === 1 ? '1 second' : `${retryAfterSeconds} seconds`;
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
