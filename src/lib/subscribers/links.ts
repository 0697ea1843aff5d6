import { signToken, verifyToken } from '../security/signed-token.ts';

/** Personal links in emails: each a signed token naming the subscriber, good for one purpose. */
const CONFIRM_VALID_MS = 7 * 86_400_000;

export interface LinkDeps {
  secret: string;
  siteUrl: string;
}

export function confirmUrl(deps: LinkDeps, subscriberId: number, now: number): string {
  return `${deps.siteUrl}/subscribe/confirm?token=${signToken(deps.secret, 'confirm', { s: subscriberId, x: now + CONFIRM_VALID_MS })}`;
}

/** The subscriber a confirmation token names, or why not. */
export function readConfirmToken(deps: LinkDeps, token: string | null, now: number): { subscriberId: number } | { error: 'invalid' | 'expired' } {
  const payload = verifyToken<{ s: number; x: number }>(deps.secret, 'confirm', token);
  if (!payload || !Number.isSafeInteger(payload.s) || typeof payload.x !== 'number') return { error: 'invalid' };
  if (payload.x < now) return { error: 'expired' };
  return { subscriberId: payload.s };
}

/** One token serves the unsubscribe page, the one-click POST and the preferences page; it does not expire. */
export function subscriberToken(deps: LinkDeps, subscriberId: number, issueId?: number): string {
  return signToken(deps.secret, 'subscriber', issueId ? { s: subscriberId, i: issueId } : { s: subscriberId });
}

export function readSubscriberToken(deps: LinkDeps, token: string | null | undefined): { subscriberId: number; issueId?: number } | undefined {
  const payload = verifyToken<{ s: number; i?: number }>(deps.secret, 'subscriber', token);
  if (!payload || !Number.isSafeInteger(payload.s) || payload.s <= 0) return undefined;
  if (payload.i !== undefined && !Number.isSafeInteger(payload.i)) return undefined;
  return { subscriberId: payload.s, issueId: payload.i };
}

export function unsubscribeUrl(deps: LinkDeps, subscriberId: number, issueId?: number): string {
  return `${deps.siteUrl}/unsubscribe/${subscriberToken(deps, subscriberId, issueId)}`;
}

export function preferencesUrl(deps: LinkDeps, subscriberId: number): string {
  return `${deps.siteUrl}/preferences/${subscriberToken(deps, subscriberId)}`;
}
