import { createHmac } from 'node:crypto';
import { normalizePhone } from './phone-number.ts';

/**
 * A phone number kept only as a keyed hash: HMAC-SHA-256 with the server secret of the
 * normalised number (normalizePhone), first 32 hex digits. The same number gives the same
 * value however it was typed, so a caller (`offline_events.from_hash`) and a subscriber
 * (`subscribers.phone_hash`) compare equal, and the number cannot be read back without the
 * server secret.
 */
export function phoneHash(serverSecret: string, normalizedNumber: string): string {
  return createHmac('sha256', serverSecret).update('caller\0').update(normalizedNumber).digest('hex').slice(0, 32);
}

/** The keyed hash of a number as someone typed it; undefined when it is not a phone number. */
export function hashPhoneInput(serverSecret: string, typed: string): string | undefined {
  const normalized = normalizePhone(typed);
  return normalized === undefined ? undefined : phoneHash(serverSecret, normalized);
}
