import { signToken, verifyToken } from '../security/signed-token.ts';
import type { DB } from '../db/database.ts';
import { findIssueIdBySlug } from './tracking.repository.ts';

/**
 * The first-party attribution cookie the click redirect sets: which issue (and, with
 * per-person tracking, which subscriber) brought this browser, and when. Signed with the
 * server secret; HttpOnly, SameSite=Lax, Path=/, Secure on an https site; it lasts the
 * attribution window.
 */
export const ATTRIBUTION_COOKIE = 'ff_attr';
const PURPOSE = 'attribution';
const DAY_MS = 86_400_000;

export interface Attribution {
  issueId: number;
  /** The delivery clicked from (0 for none): its first_visit_at is kept. */
  deliveryId: number;
  /** Only with per-person tracking on. */
  subscriberId: number | null;
  /** When the click happened: the visitor's first landing from the issue. */
  at: number;
}

interface Payload {
  i: number;
  d: number;
  s?: number;
  t: number;
}

export function makeAttributionCookie(secret: string, a: Attribution, windowDays: number, secure: boolean): string {
  const payload: Payload = { i: a.issueId, d: a.deliveryId, t: a.at, ...(a.subscriberId !== null ? { s: a.subscriberId } : {}) };
  return `${ATTRIBUTION_COOKIE}=${signToken(secret, PURPOSE, payload)}; Max-Age=${windowDays * 86_400}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The attribution a cookie value carries, if it is ours, intact and inside the window. */
export function readAttribution(secret: string, value: string | null | undefined, now: number, windowDays: number): Attribution | undefined {
  if (!value || value.length > 300) return undefined;
  const p = verifyToken<Payload>(secret, PURPOSE, value);
  if (!p || !Number.isSafeInteger(p.i) || p.i <= 0 || !Number.isSafeInteger(p.t) || !Number.isSafeInteger(p.d ?? 0)) return undefined;
  if (now - p.t > windowDays * DAY_MS || p.t - now > 60_000) return undefined;
  return { issueId: p.i, deliveryId: p.d ?? 0, subscriberId: Number.isSafeInteger(p.s) && p.s! > 0 ? p.s! : null, at: p.t };
}

/** The ff_attr value in a Cookie request header (fast: most requests have none). */
export function attributionCookieValue(cookieHeader: string | null | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const start = cookieHeader.indexOf(`${ATTRIBUTION_COOKIE}=`);
  if (start < 0 || (start > 0 && cookieHeader[start - 1] !== ' ' && cookieHeader[start - 1] !== ';')) return undefined;
  const from = start + ATTRIBUTION_COOKIE.length + 1;
  const end = cookieHeader.indexOf(';', from);
  return cookieHeader.slice(from, end < 0 ? undefined : end).trim();
}

/**
 * The issue a signup came from: the attribution cookie's (a reader who clicked through), else
 * the issue whose slug is the campaign of the page the form was on (a forwarded link).
 */
export async function signupIssueId(db: DB, input: { secret: string; cookie: string | undefined; campaign: string | null; windowDays: number }, now = Date.now()): Promise<number | null> {
  const attribution = readAttribution(input.secret, input.cookie, now, input.windowDays);
  if (attribution) return attribution.issueId;
  if (!input.campaign) return null;
  return (await findIssueIdBySlug(db, input.campaign)) ?? null;
}
