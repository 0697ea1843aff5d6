import { CountDeltas } from '../counts/ledger.ts';
import { SITE } from '../counts/buckets.ts';

/**
 * A confirmed signup counts site-wide and, when it came from an issue, for that issue — and for
 * the experiment arm of the delivery whose link brought it (`arm.signup`, issue 19), when known.
 */
export function signupDeltas(sourceIssueId: number | null, at: number, arm: string | null = null): CountDeltas {
  const deltas = new CountDeltas();
  deltas.at(SITE, 'signup', at);
  if (sourceIssueId !== null) deltas.at(Number(sourceIssueId), 'signup', at);
  if (sourceIssueId !== null && arm !== null) deltas.add(Number(sourceIssueId), 'arm.signup', arm, 0);
  return deltas;
}

/** An unsubscribe counts site-wide and, when its link came from an issue, for that issue. */
export function unsubscribeDeltas(issueId: number | null, at: number): CountDeltas {
  const deltas = new CountDeltas();
  deltas.at(SITE, 'unsubscribe', at);
  if (issueId !== null) deltas.at(issueId, 'unsubscribe', at);
  return deltas;
}
