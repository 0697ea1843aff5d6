import { signToken, verifyToken } from '../security/signed-token.ts';

const PURPOSE = 'digest-stop';

/** The link in every digest that turns it off for its recipient (no sign-in needed; a GET changes nothing). */
export function digestStopUrl(deps: { secret: string; siteUrl: string }, userId: number): string {
  return `${deps.siteUrl.replace(/\/$/, '')}/digest/stop/${signToken(deps.secret, PURPOSE, { u: userId })}`;
}

export function readDigestStopToken(secret: string, token: string | null | undefined): number | undefined {
  const payload = verifyToken<{ u?: unknown }>(secret, PURPOSE, token);
  return typeof payload?.u === 'number' && Number.isSafeInteger(payload.u) && payload.u > 0 ? payload.u : undefined;
}
