import { describe, expect, it } from 'vitest';
import { verify } from '@node-rs/argon2';
import {
  DUMMY_HASH,
  checkNewPassword,
  hashPassword,
  normalizePassword,
  verifyNothing,
  verifyPassword,
} from '#lib/auth/password.ts';
import { emailField, nameField } from '#lib/auth/inputs.ts';

describe('passwords', () => {
  it('hashes with argon2id, 19 MiB, t=2, p=1, and verifies', async () => {
    const hash = await hashPassword('a long enough passphrase');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'a long enough passphrase')).toBe(true);
    expect(await verifyPassword(hash, 'a long enough passphrasE')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  // What an argon2 verification costs is set by the parameters in the hash and the lengths of its
  // salt and output; a hash equal in all of them, that the library accepts, costs the same to check.
  // (Timing both side by side flaked on a loaded CI machine, so the test checks what decides the cost.)
  it('verifyNothing checks against a well-formed hash with the same cost as real ones, and fails', async () => {
    const real = await hashPassword('a long enough passphrase');
    const shape = (phc: string) => {
      const [, algorithm, version, parameters, salt, output] = phc.split('$');
      return { algorithm, version, parameters, saltLength: salt!.length, outputLength: output!.length };
    };
    expect(shape(DUMMY_HASH)).toEqual(shape(real));
    await expect(verify(DUMMY_HASH, 'wrong guess')).resolves.toBe(false);
    expect(await verifyNothing('anything')).toBe(false);
    expect(await verifyNothing('a long enough passphrase')).toBe(false);
  });

  it('refuses short, common and email-like passwords with one clear sentence', () => {
    expect(checkNewPassword('short')).toEqual({
      ok: false,
      error: 'The password is too short: use at least 10 characters.',
    });
    expect(checkNewPassword('Password123')).toMatchObject({ ok: false, error: expect.stringMatching(/most common/) });
    expect(checkNewPassword('qwertyuiop')).toMatchObject({ ok: false });
    expect(checkNewPassword('aaaaaaaaaaaa')).toMatchObject({ ok: false, error: expect.stringMatching(/common/) });
    expect(checkNewPassword('jo@example.com', 'jo@example.com')).toEqual({
      ok: false,
      error: 'The password cannot be your email address.',
    });
    expect(checkNewPassword('ten chars!')).toEqual({ ok: true, password: 'ten chars!' });
    expect(checkNewPassword('')).toEqual({ ok: false, error: 'Enter a password.' });
  });

  it('overlong and odd-Unicode passwords get clear errors; the rest is NFKC-normalised', () => {
    expect(checkNewPassword('x'.repeat(257))).toEqual({
      ok: false,
      error: 'The password is too long: use at most 256 characters.',
    });
    expect(checkNewPassword('🔑🔒'.repeat(128)).ok).toBe(true); // 256 characters, 1024 bytes
    expect(normalizePassword('broken \ud800 surrogate')).toEqual({
      ok: false,
      error: 'The password contains broken Unicode characters; type it again.',
    });
    expect(normalizePassword('line\nbreak password')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/control characters/),
    });
    expect(normalizePassword('nul\0inside password')).toMatchObject({ ok: false });
    // Composed and decomposed é, full-width letters: one password.
    expect(normalizePassword('café widgets')).toEqual(normalizePassword('cafe\u0301 widgets'));
    expect(normalizePassword('ｗｉｄｇｅｔｓ１２３４')).toEqual({ ok: true, password: 'widgets1234' });
    expect(checkNewPassword('pässwörd mit ümläuten').ok).toBe(true);
  });
});

describe('form fields', () => {
  it('emails: trimmed and lower-cased; overlong, odd-Unicode and header-smuggling ones refused clearly', () => {
    expect(emailField.parse('  Jo@Example.COM ')).toBe('jo@example.com');
    const refuse = (value: string) => {
      const result = emailField.safeParse(value);
      expect(result.success, value).toBe(false);
      return result.error!.issues[0]!.message;
    };
    expect(refuse('a'.repeat(250) + '@example.com')).toMatch(/longer than 254 characters/);
    expect(refuse('jo\r\nBcc: x@example.com')).toMatch(/line breaks/);
    expect(refuse('jö@exämple.com')).toMatch(/not a valid email address/);
    expect(refuse('jo\u200b@example.com')).toMatch(/not a valid email address/);
    expect(refuse('jo＠example.com')).toMatch(/not a valid email address/);
    expect(refuse('')).toMatch(/Enter an email address/);
  });

  it('names: control and formatting characters become spaces; empty and overlong refused', () => {
    expect(nameField.parse('  Mira\u202e  Flathead\n')).toBe('Mira Flathead');
    expect(nameField.safeParse('   ').success).toBe(false);
    expect(nameField.safeParse('x'.repeat(101)).error?.issues[0]?.message).toMatch(/at most 100/);
  });
});
