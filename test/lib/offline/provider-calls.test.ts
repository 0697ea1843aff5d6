import { describe, expect, it } from 'vitest';
import { isTwilioRequest, parseCallrailCall, parseTwilioCall, twilioSignature } from '#lib/offline/provider-calls.ts';

// Twilio's documented example (twilio.com/docs/usage/security): this URL, these parameters and auth token 12345.
const URL_SIGNED = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS: [string, string][] = [
  ['CallSid', 'CA1234567890ABCDE'],
  ['Caller', '+12349013030'],
  ['Digits', '1234'],
  ['From', '+12349013030'],
  ['To', '+18005551212'],
];

describe('provider call webhooks', () => {
  it('Twilio: the signature of the documented example, whatever order the parameters come in', () => {
    expect(twilioSignature('12345', URL_SIGNED, PARAMS)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(twilioSignature('12345', URL_SIGNED, [...PARAMS].reverse())).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(isTwilioRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_SIGNED, PARAMS)).toBe(true);
    // The same URL with the default port written out, as Twilio's own validator also accepts.
    expect(
      isTwilioRequest(
        '12345',
        '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
        'https://mycompany.com:443/myapp.php?foo=1&bar=2',
        PARAMS,
      ),
    ).toBe(true);
    expect(isTwilioRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_SIGNED, [...PARAMS, ['Extra', '1']])).toBe(
      false,
    );
    expect(isTwilioRequest('54321', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_SIGNED, PARAMS)).toBe(false);
    // The signature compared whole: surrounding spaces are dropped, a prefix or an extension is not it.
    expect(isTwilioRequest('12345', ' 0/KCTR6DLpKmkAf8muzZqo1nDgQ= ', URL_SIGNED, PARAMS)).toBe(true);
    expect(isTwilioRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ', URL_SIGNED, PARAMS)).toBe(false);
    expect(isTwilioRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ==', URL_SIGNED, PARAMS)).toBe(false);
    expect(isTwilioRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQé', URL_SIGNED, PARAMS)).toBe(false);
    expect(isTwilioRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', 'not a URL', PARAMS)).toBe(false);
    expect(isTwilioRequest(undefined, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_SIGNED, PARAMS)).toBe(false);
  });

  it('Twilio: final statuses are answered (completed) or missed (busy, no-answer, failed, canceled); progress is ignored', () => {
    const now = Date.UTC(2026, 11, 6, 12);
    const call = (status: string) =>
      parseTwilioCall(
        new URLSearchParams({ CallSid: 'CA' + '0'.repeat(32), CallStatus: status, From: 'anonymous' }),
        now,
      );
    expect(call('completed')).toMatchObject({ ok: true, call: { answered: true, at: now, from: undefined } });
    for (const status of ['busy', 'no-answer', 'failed', 'canceled'])
      expect(call(status)).toMatchObject({ ok: true, call: { answered: false } });
    for (const status of ['queued', 'ringing', 'in-progress'])
      expect(call(status)).toMatchObject({ ok: true, ignored: expect.any(String) });
    expect(parseTwilioCall(new URLSearchParams({ CallStatus: 'completed' }), now)).toMatchObject({
      ok: false,
      errors: { CallSid: expect.any(String) },
    });
  });

  it('CallRail: the documented fields; a duration as text; a start time needs its offset', () => {
    const now = Date.UTC(2026, 11, 6, 12);
    const parsed = parseCallrailCall(
      {
        id: 'CAL1',
        customer_phone_number: '+1 404-555-0100',
        tracking_phone_number: '+14045550199',
        answered: false,
        duration: '12',
        start_time: '2026-12-06T06:59:00.000-05:00',
      },
      'UTC',
      now,
    );
    expect(parsed).toEqual({
      ok: true,
      externalId: 'CAL1',
      call: {
        at: now - 60_000,
        from: '+14045550100',
        to: '+14045550199',
        durationS: 12,
        externalId: 'CAL1',
        answered: false,
      },
    });
    expect(parseCallrailCall({ id: 'CAL1', start_time: '2026-12-06 11:00' }, 'UTC', now)).toMatchObject({
      ok: false,
      errors: { start_time: expect.any(String) },
    });
  });
});
