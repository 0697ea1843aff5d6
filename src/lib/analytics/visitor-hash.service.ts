import { createHash, randomBytes } from 'node:crypto';
import type { DB } from '../db/database.ts';
import { deleteSaltsCreatedBefore, findSalt, insertSaltIfAbsent } from './visitor-salts.repository.ts';

const DAY_MS = 86_400_000;
export const SALT_MAX_AGE_MS = 48 * 3_600_000;

/**
 * Anonymous visitor ids: SHA-256 of (today's secret salt, IP, user agent). The salt rotates
 * at midnight UTC and is deleted after 48 hours, after which no hash can be tied back to an
 * address. No raw IP or user agent is ever stored.
 */
export class VisitorHasher {
  readonly #db: DB;
  #day = -1;
  #salt = '';
  #loading: Promise<string> | undefined;

  constructor(db: DB) {
    this.#db = db;
  }

  /** Today's salt, from memory except once a day. */
  async saltFor(now: number): Promise<string> {
    const day = Math.floor(now / DAY_MS);
    if (day === this.#day) return this.#salt;
    this.#loading ??= this.#load(day, now).finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #load(day: number, now: number): Promise<string> {
    await insertSaltIfAbsent(this.#db, day, randomBytes(32).toString('base64url'), now);
    const salt = await findSalt(this.#db, day);
    if (!salt) throw new Error(`visitor salt for day ${day} vanished`);
    await deleteSaltsCreatedBefore(this.#db, now - SALT_MAX_AGE_MS);
    this.#day = day;
    this.#salt = salt;
    return salt;
  }

  async hash(ip: string, userAgent: string, now: number): Promise<string> {
    const salt = Math.floor(now / DAY_MS) === this.#day ? this.#salt : await this.saltFor(now);
    return createHash('sha256')
      .update(salt)
      .update('\0')
      .update(ip)
      .update('\0')
      .update(userAgent)
      .digest('base64url')
      .slice(0, 22);
  }
}
