/**
 * What a service answers: a value, or a refusal with one sentence for the person
 * and a reason the caller maps to a status (invalid 400, unauthorized 401, forbidden 403,
 * not-found 404, conflict 409, gone 410, throttled 429).
 */
export type FailureReason = 'invalid' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'gone' | 'throttled';

export interface Failure {
  ok: false;
  reason: FailureReason;
  message: string;
  /** The form field the message is about, when there is one. */
  field?: string;
  /** For `throttled`: when to try again. */
  retryAfterSeconds?: number;
}

export type Outcome<T> = { ok: true; value: T } | Failure;

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(
  reason: FailureReason,
  message: string,
  extra: { field?: string; retryAfterSeconds?: number } = {},
): Failure {
  return { ok: false, reason, message, ...extra };
}

export const FAILURE_STATUS: Record<FailureReason, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  gone: 410,
  throttled: 429,
};
