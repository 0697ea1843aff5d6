import { describe, expect, it } from 'vitest';
import { InvalidMailError, validateOutgoingMail, type OutgoingMail } from '#lib/mail/message.ts';
import { deriveTextFromHtml } from '#lib/mail/plain-text.ts';

const mail: OutgoingMail = {
  to: 'jo@example.com',
  from: 'Frobozz Electric <newsletter@localhost>',
  subject: 'Widgets this week',
  html: '<p>Hello <a href="https://frobozz.example/w">widgets</a></p>',
};

function refusal(change: Partial<OutgoingMail>): InvalidMailError {
  try {
    validateOutgoingMail({ ...mail, ...change });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidMailError);
    return error as InvalidMailError;
  }
  throw new Error(`accepted ${JSON.stringify(change)}`);
}

describe('validateOutgoingMail', () => {
  it('parses the addresses, keeps display names, derives the text part', () => {
    const valid = validateOutgoingMail({ ...mail, replyTo: '"Flathead, Mira" <mira@frobozz.example>' });
    expect(valid.to).toEqual({ name: '', address: 'jo@example.com' });
    expect(valid.from).toEqual({ name: 'Frobozz Electric', address: 'newsletter@localhost' });
    expect(valid.replyTo).toEqual({ name: 'Flathead, Mira', address: 'mira@frobozz.example' });
    expect(valid.text).toBe('Hello widgets [https://frobozz.example/w]');
    expect(validateOutgoingMail({ ...mail, text: 'Own text' }).text).toBe('Own text');
  });

  it('refuses header injection through any address, the subject or a header, naming the field', () => {
    const injection = 'a@b.c\r\nBcc: x@y.z';
    expect(refusal({ to: injection }).message).toMatch(/^to contains a line break/);
    expect(refusal({ to: injection }).field).toBe('to');
    expect(refusal({ from: `Frobozz <n@l.c>\nBcc: x@y.z` }).field).toBe('from');
    expect(refusal({ replyTo: injection }).field).toBe('replyTo');
    expect(refusal({ to: 'a@b.c\nBcc: x@y.z' }).field).toBe('to');
    expect(refusal({ to: 'a@b.c\rBcc: x@y.z' }).field).toBe('to');
    expect(refusal({ to: 'a@b.c\0' }).field).toBe('to');
    expect(refusal({ subject: 'Hi\r\nBcc: x@y.z' }).message).toMatch(
      /^subject contains a line break or NUL, which could inject headers/,
    );
    expect(refusal({ headers: { 'X-Campaign': 'a\r\nBcc: x@y.z' } }).field).toBe('header X-Campaign');
    expect(refusal({ headers: { 'X-Campaign\r\nBcc': 'x@y.z' } }).field).toBe('header name');
    expect(refusal({ listUnsubscribe: { url: 'https://x.y/u\r\nBcc: x@y.z' } }).field).toBe('listUnsubscribe.url');
    expect(refusal({ subject: 'bell\x07' }).message).toMatch(/control character/);
  });

  it('refuses invalid addresses, lists and ambiguous names', () => {
    for (const to of [
      '',
      'jo',
      'jo@',
      '@example.com',
      'jo@@example.com',
      'jo@exa mple.com',
      'a@b.c, d@e.f',
      'a@b.c d@e.f',
      'group: a@b.c;',
      'jo.@example.com',
      'jo@-example.com',
      'Jo, Bloggs <jo@example.com>',
      'x <a@b.c> y',
    ]) {
      expect(refusal({ to }).field, to).toBe('to');
    }
    expect(refusal({ to: 'jo@exa mple.com' }).message).toMatch(/single address/);
    expect(refusal({ from: 'nobody' }).message).toMatch(/^from is not a valid email address/);
  });

  it('refuses headers that the mail fields own, and an empty subject or body', () => {
    expect(refusal({ headers: { Bcc: 'x@y.z' } }).field).toBe('header Bcc');
    expect(refusal({ headers: { 'content-type': 'text/plain' } }).field).toBe('header content-type');
    expect(refusal({ headers: { 'Bad Name': 'x' } }).message).toMatch(/not a valid header name/);
    expect(refusal({ subject: '  ' }).field).toBe('subject');
    expect(refusal({ html: '' }).field).toBe('html');
    expect(validateOutgoingMail({ ...mail, headers: { 'X-Footfall-Issue': '42' } }).headers).toEqual({
      'X-Footfall-Issue': '42',
    });
  });

  it('adds RFC 8058 one-click unsubscribe headers', () => {
    const valid = validateOutgoingMail({
      ...mail,
      listUnsubscribe: { url: 'https://frobozz.example/unsubscribe/tok.en', mailto: 'unsubscribe@frobozz.example' },
    });
    expect(valid.headers).toEqual({
      'List-Unsubscribe': '<https://frobozz.example/unsubscribe/tok.en>, <mailto:unsubscribe@frobozz.example>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(
      validateOutgoingMail({
        ...mail,
        listUnsubscribe: { url: 'https://f.example/u', mailto: 'mailto:u@f.example?subject=unsubscribe' },
      }).headers['List-Unsubscribe'],
    ).toBe('<https://f.example/u>, <mailto:u@f.example?subject=unsubscribe>');
    expect(
      validateOutgoingMail({ ...mail, listUnsubscribe: { url: 'https://f.example/u' } }).headers['List-Unsubscribe'],
    ).toBe('<https://f.example/u>');
    expect(refusal({ listUnsubscribe: { url: 'javascript:alert(1)' } }).message).toMatch(/https URL/);
    expect(refusal({ listUnsubscribe: { url: '/relative' } }).message).toMatch(/absolute URL/);
    expect(refusal({ listUnsubscribe: { url: 'https://f.example/u', mailto: 'not an address' } }).field).toBe(
      'listUnsubscribe.mailto',
    );
    expect(
      refusal({ listUnsubscribe: { url: 'https://f.example/u' }, headers: { 'List-Unsubscribe': '<https://other>' } })
        .field,
    ).toBe('headers');
  });
});

describe('deriveTextFromHtml', () => {
  it('shows links as "label [url]", skips images, keeps data tables readable', () => {
    const text = deriveTextFromHtml(`
      <html><head><title>T</title><style>p { color: red }</style></head><body>
      <div style="display:none;font-size:1px;">Hidden preview text</div>
      <h1>New widgets</h1>
      <p>Read <a href="https://frobozz.example/a">the guide</a> or visit <a href="https://frobozz.example">https://frobozz.example</a>.</p>
      <p><img src="https://frobozz.example/w.png" alt="A widget"> Pictured above.</p>
      <table role="presentation"><tr><td><div>Layout cell one</div></td><td><div>Layout cell two</div></td></tr></table>
      <table><thead><tr><th>Widget</th><th>Price</th></tr></thead><tbody><tr><td>Clockwork</td><td>€12</td></tr><tr><td>Solar</td><td>€30</td></tr></tbody></table>
      </body></html>`);
    expect(text).toContain('New widgets');
    expect(text).toContain('Read the guide [https://frobozz.example/a] or visit https://frobozz.example.');
    expect(text).not.toContain('w.png');
    expect(text).not.toContain('A widget');
    expect(text).not.toContain('Hidden preview text');
    expect(text).not.toContain('color: red');
    expect(text).toMatch(/Layout cell one\s+Layout cell two/);
    expect(text).toMatch(/Widget\s{3,}Price\n/);
    expect(text).toMatch(/Clockwork\s{3,}€12\n/);
    expect(text).toMatch(/Solar\s{3,}€30/);
  });
});
