import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlaceholderError } from '#lib/mail/placeholders.ts';
import {
  clearEmailCache,
  defaultEmailsDir,
  EmailTemplateError,
  listEmailPlaceholders,
  renderEmail,
  type EmailTemplateData,
} from '#lib/mail/templates.ts';
import { projectRoot } from '../../helpers/server.ts';

const site = {
  siteName: 'Frobozz Electric',
  siteUrl: 'http://127.0.0.1:4321',
  postalAddress: '12 Flathead Row, Frobozz FE1 2AB',
};
const samples: { [N in keyof EmailTemplateData]: EmailTemplateData[N] } = {
  'confirm-subscription': { ...site, confirmUrl: 'https://frobozz.example/subscribe/confirm?token=abc.def&utm=x' },
  'password-reset': { ...site, resetUrl: 'https://frobozz.example/reset/abc', expiresIn: '1 hour' },
  invite: {
    ...site,
    inviterName: 'Mira Flathead',
    role: 'marketer',
    inviteUrl: 'https://frobozz.example/invite/abc',
    expiresIn: '7 days',
  },
  welcome: {
    ...site,
    preferencesUrl: 'https://frobozz.example/preferences/abc',
    unsubscribeUrl: 'https://frobozz.example/unsubscribe/abc',
  },
  'preferences-link': { ...site, preferencesUrl: 'https://frobozz.example/preferences/new', expiresIn: '60 days' },
  'sign-in-attempts': {
    ...site,
    attempts: '10',
    until: '14:35 (Europe/Amsterdam)',
    accountUrl: 'https://frobozz.example/admin/account',
  },
};

describe('email templates', () => {
  it('finds emails/ in the project', () => {
    expect(defaultEmailsDir()).toBe(path.join(projectRoot, 'emails'));
  });

  it('render every email through strict MJML validation, with header, footer, subject and text part', async () => {
    const subjects: Record<string, string> = {
      'confirm-subscription': 'Confirm your subscription to Frobozz Electric',
      'password-reset': 'Reset your Frobozz Electric password',
      invite: 'Mira Flathead invited you to Frobozz Electric',
      welcome: 'Welcome to the Frobozz Electric newsletter',
      'preferences-link': 'Your link to the Frobozz Electric newsletter preferences',
      'sign-in-attempts': 'Wrong passwords for your Frobozz Electric account',
    };
    for (const name of Object.keys(samples) as (keyof EmailTemplateData)[]) {
      const email = await renderEmail(name, samples[name] as never);
      expect(email.subject).toBe(subjects[name]);
      expect(email.html).toMatch(/^<!doctype html>/i);
      expect(email.html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(email.html).toContain('#1d3461');
      expect(email.html).toContain('#f5b700');
      expect(email.html).not.toMatch(/\{\{|mj-include|<mj-/);
      expect(email.html).not.toContain('fonts.googleapis.com');
      expect(email.text).toMatch(/^Frobozz Electric \[http:\/\/127\.0\.0\.1:4321\]/); // the header
      expect(email.text).toContain('12 Flathead Row, Frobozz FE1 2AB'); // the footer
      expect(email.text).not.toMatch(/<|&#|&amp;/);
    }
  });

  it('puts each link in the HTML and the text part', async () => {
    const confirm = await renderEmail('confirm-subscription', samples['confirm-subscription']);
    expect(confirm.html).toContain('href="https://frobozz.example/subscribe/confirm?token=abc.def&#38;utm=x"');
    expect(confirm.text).toMatch(
      /Confirm your subscription\s+\[https:\/\/frobozz\.example\/subscribe\/confirm\?token=abc\.def&utm=x\]/,
    );
    const reset = await renderEmail('password-reset', samples['password-reset']);
    expect(reset.text).toContain('Choose a new password [https://frobozz.example/reset/abc]');
    expect(reset.text).toContain('The link works once, for 1 hour.');
    const invite = await renderEmail('invite', samples.invite);
    expect(invite.text).toContain('Mira Flathead invited you to work on Frobozz Electric with');
    expect(invite.text).toMatch(/the role\s+marketer\./);
    expect(invite.text).toContain('Accept the invitation [https://frobozz.example/invite/abc]');
    const welcome = await renderEmail('welcome', samples.welcome);
    expect(welcome.html).toContain('href="https://frobozz.example/unsubscribe/abc"');
    expect(welcome.text).toContain('Unsubscribe [https://frobozz.example/unsubscribe/abc]');
    expect(welcome.text).toContain('Manage your preferences [https://frobozz.example/preferences/abc]');
    const preferences = await renderEmail('preferences-link', samples['preferences-link']);
    expect(preferences.text).toContain('Open your preferences [https://frobozz.example/preferences/new]');
    expect(preferences.text.replace(/\s+/g, ' ')).toContain('The link works for 60 days');
    const attempts = (await renderEmail('sign-in-attempts', samples['sign-in-attempts'])).text.replace(/\s+/g, ' ');
    expect(attempts).toContain('10 sign-in attempts with a wrong password');
    expect(attempts).toContain('paused until 14:35 (Europe/Amsterdam)');
    expect(attempts).toContain('Review your account [https://frobozz.example/admin/account]');
  });

  it('declares in its types exactly the placeholders each template uses', async () => {
    for (const name of Object.keys(samples) as (keyof EmailTemplateData)[]) {
      expect((await listEmailPlaceholders(name)).sort(), name).toEqual(Object.keys(samples[name]).sort());
    }
  });

  it('HTML-escapes every value: a <script> name is harmless, braces cannot form placeholders', async () => {
    const email = await renderEmail('invite', {
      ...samples.invite,
      inviterName: '<script>alert("x")</script> {{inviteUrl}}',
      role: `"><img src=x onerror=alert(1)>`,
    });
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img src=x');
    expect(email.html).toContain(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#123;&#123;inviteUrl&#125;&#125;',
    );
    expect(email.html).toContain('aria-label="&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'); // attributes too (MJML copies the title there)
    expect(email.subject).toBe('<script>alert("x")</script> {{inviteUrl}} invited you to Frobozz Electric');
    expect(email.text).toContain('<script>alert("x")</script> {{inviteUrl}} invited you');
  });

  it('throws naming each unresolved placeholder', async () => {
    const { confirmUrl: _, ...withoutUrl } = samples['confirm-subscription'];
    await expect(renderEmail('confirm-subscription', withoutUrl as never)).rejects.toThrow(PlaceholderError);
    await expect(renderEmail('confirm-subscription', withoutUrl as never)).rejects.toThrow(
      'email "confirm-subscription": unresolved placeholder {{confirmUrl}}',
    );
    await expect(renderEmail('invite', { ...site } as never)).rejects.toThrow(
      /unresolved placeholders \{\{inviterName\}\}, \{\{role\}\}, \{\{expiresIn\}\}, \{\{inviteUrl\}\}/,
    );
  });

  it('refuses a link placeholder that is not an http(s) URL', async () => {
    await expect(renderEmail('confirm-subscription', { ...site, confirmUrl: 'javascript:alert(1)' })).rejects.toThrow(
      /\{\{confirmUrl\}\} must be an absolute http\(s\) URL/,
    );
    await expect(renderEmail('password-reset', { ...samples['password-reset'], siteUrl: '/relative' })).rejects.toThrow(
      /\{\{siteUrl\}\}/,
    );
  });

  it('refuses unknown and path-like template names', async () => {
    await expect(renderEmail('newsletter' as never, site as never)).rejects.toThrow(EmailTemplateError);
    await expect(renderEmail('newsletter' as never, site as never)).rejects.toThrow(/No email template "newsletter"/);
    await expect(renderEmail('../package' as never, site as never)).rejects.toThrow(/Not an email template name/);
    await expect(renderEmail('layouts/transactional' as never, site as never)).rejects.toThrow(
      /Not an email template name/,
    );
  });

  it('compiles MJML once per template; clearEmailCache picks up edits', async () => {
    const emailsDir = path.join(mkdtempSync(path.join(tmpdir(), 'footfall-emails-')), 'emails');
    cpSync(path.join(projectRoot, 'emails'), emailsDir, { recursive: true });
    const data = samples['confirm-subscription'];
    const first = await renderEmail('confirm-subscription', data, { emailsDir });

    const file = path.join(emailsDir, 'confirm-subscription.mjml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Thanks for signing up', 'Thank you for signing up'));
    // Still the compiled version: per message only placeholders are filled, MJML does not run again.
    const again = await renderEmail(
      'confirm-subscription',
      { ...data, confirmUrl: 'https://frobozz.example/c/2' },
      { emailsDir },
    );
    expect(again.html).toContain('https://frobozz.example/c/2');
    expect(again.html).toContain('Thanks for signing up');
    expect((await renderEmail('confirm-subscription', data, { emailsDir })).html).toBe(first.html);

    clearEmailCache();
    expect((await renderEmail('confirm-subscription', data, { emailsDir })).html).toContain('Thank you for signing up');
  });

  it('fails on MJML errors and on includes that are missing or outside emails/', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'footfall-emails-'));
    const emailsDir = path.join(root, 'emails');
    cpSync(path.join(projectRoot, 'emails'), emailsDir, { recursive: true });
    writeFileSync(
      path.join(root, 'secret.mjml'),
      '<mj-section><mj-column><mj-text>SECRET</mj-text></mj-column></mj-section>',
    );
    const body = (inner: string) =>
      `<!-- layout: transactional -->\n<mjml><mj-head><mj-title>T {{siteName}}</mj-title></mj-head><mj-body>${inner}</mj-body></mjml>`;
    writeFileSync(path.join(emailsDir, 'outside.mjml'), body('<mj-include path="../secret.mjml" />'));
    writeFileSync(path.join(emailsDir, 'missing.mjml'), body('<mj-include path="./partials/nope.mjml" />'));
    writeFileSync(
      path.join(emailsDir, 'invalid.mjml'),
      body('<mj-section><mj-column><mj-text color="not-a-colour">x</mj-text></mj-column></mj-section>'),
    );
    writeFileSync(
      path.join(emailsDir, 'malformed.mjml'),
      body('<mj-section><mj-column><mj-text>{{ site name }}</mj-text></mj-column></mj-section>'),
    );
    const render = (name: string) => renderEmail(name as never, site as never, { emailsDir });
    await expect(render('outside')).rejects.toThrow(/mj-include failed: include-denied/);
    await expect(render('missing')).rejects.toThrow(/mj-include failed/);
    await expect(render('invalid')).rejects.toThrow(/MJML refused it: .*color has invalid value/s);
    await expect(render('malformed')).rejects.toThrow(/malformed placeholder near .*\{\{ site name \}\}/);
  });
});
