import { hmacFor } from '../security/fast-hmac.ts';
import { normalizePhone } from './phone-number.ts';

/**
 * A phone number kept only as a keyed hash: HMAC-SHA-256 with the server secret of the
 * normalised number (normalizePhone), first 32 hex digits. The same number gives the same
 * value however it was typed, so a caller (`offline_events.from_hash`) and a subscriber
 * (`subscribers.phone_hash`) compare equal, and the number cannot be read back without the
 * server secret.
 */
export function phoneHash(serverSecret: string, normalizedNumber: string): string {
  // fast-hmac: byte for byte createHmac's, without its key set-up on every call (a webhook call hashes its caller).
  return hmacFor(serverSecret)(`caller\0${normalizedNumber}`).toString('hex', 0, 16);
}

/** The keyed hash of a number as someone typed it; undefined when it is not a phone number. */
export function hashPhoneInput(serverSecret: string, typed: string): string | undefined {
  const normalized = normalizePhone(typed);
  return normalized === undefined ? undefined : phoneHash(serverSecret, normalized);
}
