import { signToken, verifyToken } from '../security/signed-token.ts';

/**
 * Personal links in emails: each a signed token naming the subscriber, good for one purpose.
 *
 *   confirm      /subscribe/confirm?token=…  confirms the signup it was sent for (7 days)
 *   preferences  /preferences/<token>        shows the address, topics and the erase button (60 days)
 *   subscriber   /unsubscribe/<token>        unsubscribes, one click (RFC 8058): never expires,
 *                                            so the List-Unsubscribe header of an old message still works
 *
 * Only the confirmation and preference tokens say what the person may see or change; the
 * unsubscribe token can only take someone off the list (or ask for a fresh link by mail).
 */
export const CONFIRM_VALID_MS = 7 * 86_400_000;
export const PREFERENCES_VALID_MS = 60 * 86_400_000;

export interface LinkDeps {
  secret: string;
  siteUrl: string;
}

export function confirmUrl(deps: LinkDeps, subscriberId: number, now: number): string {
  return `${deps.siteUrl}/subscribe/confirm?token=${signToken(deps.secret, 'confirm', { s: subscriberId, x: now + CONFIRM_VALID_MS, t: now })}`;
}

/** The subscriber a confirmation token names and when it was sent, or why not. */
export function readConfirmToken(
  deps: LinkDeps,
  token: string | null | undefined,
  now: number,
): { subscriberId: number; issuedAt: number } | { error: 'invalid' | 'expired' } {
  const payload = verifyToken<{ s: number; x: number; t?: number }>(deps.secret, 'confirm', token);
  if (!payload || !Number.isSafeInteger(payload.s) || typeof payload.x !== 'number') return { error: 'invalid' };
  if (payload.x < now) return { error: 'expired' };
  // Links sent before the issue time was signed in: it is their expiry less the lifetime.
  return {
    subscriberId: payload.s,
    issuedAt: typeof payload.t === 'number' ? payload.t : payload.x - CONFIRM_VALID_MS,
  };
}

/** The unsubscribe token (one-click and the unsubscribe page): it does not expire, and shows or changes nothing else. */
export function subscriberToken(deps: LinkDeps, subscriberId: number, issueId?: number): string {
  return signToken(deps.secret, 'subscriber', issueId ? { s: subscriberId, i: issueId } : { s: subscriberId });
}

export function readSubscriberToken(
  deps: LinkDeps,
  token: string | null | undefined,
): { subscriberId: number; issueId?: number } | undefined {
  const payload = verifyToken<{ s: number; i?: number }>(deps.secret, 'subscriber', token);
  if (!payload || !Number.isSafeInteger(payload.s) || payload.s <= 0) return undefined;
  if (payload.i !== undefined && !Number.isSafeInteger(payload.i)) return undefined;
  return { subscriberId: payload.s, issueId: payload.i };
}

export function unsubscribeUrl(deps: LinkDeps, subscriberId: number, issueId?: number): string {
  return `${deps.siteUrl}/unsubscribe/${subscriberToken(deps, subscriberId, issueId)}`;
}

export function preferencesToken(deps: LinkDeps, subscriberId: number, now: number): string {
  return signToken(deps.secret, 'preferences', { s: subscriberId, x: now + PREFERENCES_VALID_MS });
}

export function preferencesUrl(deps: LinkDeps, subscriberId: number, now: number): string {
  return `${deps.siteUrl}/preferences/${preferencesToken(deps, subscriberId, now)}`;
}

/**
 * What a link on the preferences page or the unsubscribe page proves:
 *   fresh    a preference token within its 60 days: may see and change everything
 *   expired  a preference token past its time, or an unsubscribe token (which older emails
 *            also used for preferences): may unsubscribe, and ask for a new link by mail
 * undefined for anything not signed by this server.
 */
export interface PersonalLink {
  subscriberId: number;
  issueId?: number;
  fresh: boolean;
}

export function readPersonalLink(
  deps: LinkDeps,
  token: string | null | undefined,
  now: number,
): PersonalLink | undefined {
  const preferences = verifyToken<{ s: number; x: number }>(deps.secret, 'preferences', token);
  if (preferences) {
    if (!Number.isSafeInteger(preferences.s) || preferences.s <= 0 || typeof preferences.x !== 'number')
      return undefined;
    return { subscriberId: preferences.s, fresh: preferences.x >= now };
  }
  const unsubscribe = readSubscriberToken(deps, token);
  return unsubscribe && { ...unsubscribe, fresh: false };
}
