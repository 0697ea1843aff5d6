import { describe, expect, it } from 'vitest';
import { normalizePhone } from '#lib/phone/phone-number.ts';

describe('phone numbers', () => {
  it('a number written with its country code comes out in E.164, the "(0)" trunk prefix dropped, as call providers report it', () => {
    for (const typed of ['+44 (0)1632 960-001', '+44 1632 960001', '+44(0)1632960001', ' +44 ( 0 ) 1632 960 001 '])
      expect(normalizePhone(typed), typed).toBe('+441632960001');
    expect(normalizePhone('+1 (555) 0151')).toBe('+15550151');
    // Without a country code there is no telling: digits as typed.
    expect(normalizePhone('(555) 0142')).toBe('5550142');
    expect(normalizePhone('01632 960002')).toBe('01632960002');
  });

  it('refuses what is not a number', () => {
    for (const bad of ['call us', '555-CALL-NOW', '12', '+'.repeat(5), '1'.repeat(21)])
      expect(normalizePhone(bad), bad).toBeUndefined();
  });
});
