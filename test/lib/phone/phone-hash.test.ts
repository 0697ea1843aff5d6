import { describe, expect, it } from 'vitest';
import { hashPhoneInput, phoneHash } from '#lib/phone/phone-hash.ts';
import { callerHash } from '#lib/offline/call-webhook.ts';

describe('phone hashes', () => {
  it('give a subscriber’s number typed any way the same value as the caller hash of the call', () => {
    const asCaller = callerHash('secret', '+441632960123');
    expect(hashPhoneInput('secret', '+44 (0)1632 960-123')).toBe(asCaller);
    expect(hashPhoneInput('secret', '+44 1632 960123')).toBe(asCaller);
    expect(phoneHash('secret', '+441632960123')).toBe(asCaller);
  });

  it('depend on the server secret and never contain the number', () => {
    const hash = hashPhoneInput('secret', '+441632960123')!;
    expect(hash).not.toContain('1632960123');
    expect(hashPhoneInput('other', '+441632960123')).not.toBe(hash);
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuse what is not a phone number', () => {
    expect(hashPhoneInput('secret', 'call me')).toBeUndefined();
    expect(hashPhoneInput('secret', '12')).toBeUndefined();
  });
});
