import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPersonalizer, sampleRecipient, TEST_HEADER, type IssueSnapshot } from '#lib/issues/personalize.ts';
import { renderIssueEmail, type RenderedIssue } from '#lib/issues/render.ts';
import { renderMarkdown } from '#lib/issues/markdown.ts';
import { createMailer } from '#lib/mail/mailer.ts';
import { validateOutgoingMail } from '#lib/mail/message.ts';
import { readSubscriberToken } from '#lib/subscribers/links.ts';
import { readClickToken, readOpenToken } from '#lib/tracking/tokens.ts';
import { anchors, hrefOf, sampleContent, sampleSettings, siteUrl } from '../../helpers/issues.ts';

const secret = 's'.repeat(43);

function snapshotOf(rendered: RenderedIssue, issueId = 7): IssueSnapshot {
  return {
    issueId,
    slug: 'winter-is-coming',
    subject: rendered.subject,
    from: { name: 'Frobozz Electric', address: 'news@frobozz.example' },
    replyTo: null,
    html: rendered.html,
    text: rendered.text,
    headers: {
      fixed: { 'List-Id': 'Frobozz Electric newsletter <newsletter.frobozz.example>' },
      messageIdDomain: 'frobozz.example',
      unsubscribeMailto: 'news@frobozz.example?subject=unsubscribe',
    },
    links: rendered.links.map((link) => ({ ...link, id: 1000 + link.position })),
    archiveHtml: '',
    openTracking: rendered.openTracking,
    clickTracking: rendered.clickTracking,
    siteUrl,
    createdAt: 0,
  };
}

/** What a reader would miss if it disappeared: the skeleton of a rendered issue. */
function skeleton(html: string) {
  const honeypot =
    /<div style="display:none;[^"]*" aria-hidden="true"><a href="([^"]*)" tabindex="-1" aria-hidden="true"/.exec(html);
  return {
    header: html.includes('>Frobozz Electric</a>'),
    postalAddress: html.includes('Frobozz Electric, 12 Flathead Row, Port Foozle'),
    unsubscribeLink: /<a href="[^"]*\/unsubscribe\/[^"]+"[^>]*>Unsubscribe<\/a>/.test(html),
    preferencesLink: /<a href="[^"]*\/preferences\/[^"]+"[^>]*>Manage your preferences<\/a>/.test(html),
    openPixel: /<img src="http:\/\/127\.0\.0\.1:4321\/t\/o\/[A-Za-z0-9_-]+" width="1" height="1" alt=""/.test(html),
    honeypot: honeypot ? hrefOf(`<a href="${honeypot[1]}">`).startsWith(`${siteUrl}/t/c/`) : false,
    articleCards: (html.match(/Read the article/g) ?? []).length,
  };
}

describe('rendering an issue once', () => {
  it('keeps the footer, postal address, personal links, open pixel and honeypot (render snapshot)', async () => {
    const rendered = await renderIssueEmail(sampleContent(), sampleSettings());
    const message = createPersonalizer(snapshotOf(rendered), { secret })({
      deliveryId: 41,
      subscriberId: 9,
      email: 'jo@example.com',
      name: 'Jo Bloggs',
    });
    expect(skeleton(message.html)).toEqual({
      header: true,
      postalAddress: true,
      unsubscribeLink: true,
      preferencesLink: true,
      openPixel: true,
      honeypot: true,
      articleCards: 3,
    });
    // The links as registered, in order: what the report will list.
    expect(rendered.links.map((l) => `${l.position} ${l.kind} ${l.label} → ${l.url}`)).toMatchSnapshot();
    // The plain-text part, derived once, placeholders in place.
    expect(rendered.text).toMatchSnapshot();
    expect(rendered.problems).toEqual([]);
  });

  it('points every <a> at /t/c/ when click tracking is on, except the reader’s own unsubscribe and preferences links', async () => {
    const rendered = await renderIssueEmail(sampleContent(), sampleSettings());
    const message = createPersonalizer(snapshotOf(rendered), { secret })({
      deliveryId: 41,
      subscriberId: 9,
      email: 'jo@example.com',
    });
    const hrefs = anchors(message.html).map(hrefOf);
    expect(hrefs.length).toBeGreaterThan(10);
    const personal = hrefs.filter((h) => /\/(unsubscribe|preferences)\//.test(h));
    expect(personal).toHaveLength(2);
    for (const href of hrefs.filter((h) => !personal.includes(h))) {
      expect(href).toMatch(new RegExp(`^${siteUrl.replace(/\./g, '\\.')}/t/c/[A-Za-z0-9_-]{16,26}$`));
      const token = readClickToken(secret, href.slice(`${siteUrl}/t/c/`.length));
      expect(token).toMatchObject({ deliveryId: 41, test: false });
      expect(rendered.links.some((l) => 1000 + l.position === token!.linkId)).toBe(true);
    }
    // Every registered link occurs once; own-site ones carry the UTM tags.
    for (const link of rendered.links.filter((l) => l.kind === 'site')) {
      const url = new URL(link.url);
      expect(Object.fromEntries([...url.searchParams].filter(([k]) => k.startsWith('utm_')))).toEqual({
        utm_source: 'newsletter',
        utm_medium: 'email',
        utm_campaign: 'winter-is-coming',
        utm_content: expect.stringMatching(new RegExp(`^${link.position}(-[a-z0-9-]+)?$`)),
      });
    }
    expect(rendered.links.map((l) => l.kind)).toEqual(
      expect.arrayContaining(['site', 'external', 'tel', 'mailto', 'honeypot']),
    );
    expect(rendered.links.filter((l) => l.kind === 'honeypot')).toHaveLength(1);
    expect(rendered.links.find((l) => l.kind === 'external')!.url).toBe(
      'https://flathead-society.example/winter?ref=frobozz',
    );
    const pixel = /\/t\/o\/([A-Za-z0-9_-]+)"/.exec(message.html)![1]!;
    expect(readOpenToken(secret, pixel)).toEqual({ kind: 'open', deliveryId: 41, test: false });
    // The text part's links are tracked too.
    expect(message.text).toMatch(/our winter\s+checklist\s+\[http:\/\/127\.0\.0\.1:4321\/t\/c\/[A-Za-z0-9_-]+\]/);
  });

  it('with tracking off: no /t/ link, no pixel, no honeypot — own-site links still carry UTM tags', async () => {
    const rendered = await renderIssueEmail(
      sampleContent(),
      sampleSettings({ openTracking: false, clickTracking: false }),
    );
    const message = createPersonalizer(snapshotOf(rendered), { secret })({
      deliveryId: 41,
      subscriberId: 9,
      email: 'jo@example.com',
    });
    expect(message.html).not.toContain('/t/c/');
    expect(message.html).not.toContain('/t/o/');
    expect(rendered.links.some((l) => l.kind === 'honeypot')).toBe(false);
    const hrefs = anchors(message.html).map(hrefOf);
    expect(hrefs).toContain(
      `${siteUrl}/articles/getting-your-widget-ready-for-winter/?utm_source=newsletter&utm_medium=email&utm_campaign=winter-is-coming&utm_content=2-our-winter-checklist`,
    );
    expect(hrefs).toContain('https://flathead-society.example/winter?ref=frobozz');
    expect(hrefs).toContain('tel:5550142');
    const site = hrefs.filter((h) => h.startsWith(siteUrl) && !/\/(unsubscribe|preferences)\//.test(h));
    expect(site.length).toBeGreaterThan(3);
    for (const href of site) expect(href).toContain('utm_campaign=winter-is-coming');
    expect(skeleton(message.html)).toMatchObject({
      postalAddress: true,
      unsubscribeLink: true,
      preferencesLink: true,
      openPixel: false,
      honeypot: false,
    });
  });

  it('shows the issue’s tracked phone number in the footer as a tel: link through the click redirect, in the text part too', async () => {
    const rendered = await renderIssueEmail(sampleContent({ trackedPhone: '+441632960001' }), sampleSettings());
    const phone = rendered.links.find((l) => l.url === 'tel:+441632960001')!;
    expect(phone).toMatchObject({ kind: 'tel', label: '+441632960001' });
    const message = createPersonalizer(snapshotOf(rendered), { secret })({
      deliveryId: 41,
      subscriberId: 9,
      email: 'jo@example.com',
    });
    const footer = message.html.slice(
      message.html.indexOf('12 Flathead Row'),
      message.html.indexOf('Visit our website'),
    );
    const line = /Call us at <a href="([^"]+)"[^>]*>\+441632960001<\/a>/.exec(footer);
    expect(line, footer).not.toBeNull();
    expect(line![1]).toMatch(new RegExp(`^${siteUrl.replace(/\./g, '\\.')}/t/c/`));
    expect(readClickToken(secret, line![1]!.split('/').pop())).toMatchObject({
      deliveryId: 41,
      linkId: 1000 + phone.position,
    });
    expect(message.text).toMatch(/Call us at \+441632960001 \[http:\/\/127\.0\.0\.1:4321\/t\/c\/[A-Za-z0-9_-]+\]/);

    // Without tracking the link is the plain tel: link; without a number there is no line at all.
    const plain = await renderIssueEmail(
      sampleContent({ trackedPhone: '+441632960001' }),
      sampleSettings({ clickTracking: false }),
    );
    expect(plain.html).toContain('Call us at <a href="tel:+441632960001"');
    const none = await renderIssueEmail(sampleContent(), sampleSettings());
    expect(none.html).not.toContain('Call us at');
    expect(none.links.some((l) => l.url.startsWith('tel:+44'))).toBe(false);
  });

  it('hides the honeypot from people and screen readers, and leaves it out of the text part', async () => {
    const rendered = await renderIssueEmail(sampleContent(), sampleSettings());
    const honeypot = rendered.links.find((l) => l.kind === 'honeypot')!;
    const tag = anchors(rendered.html).find((t) => t.includes(`{{click_${honeypot.position}}}`))!;
    expect(tag).toContain('aria-hidden="true"');
    expect(tag).toContain('tabindex="-1"');
    expect(rendered.html).toMatch(
      new RegExp(
        `<div style="display:none;[^"]*" aria-hidden="true"><a href="[^"]*\\{\\{click_${honeypot.position}\\}\\}"`,
      ),
    );
    expect(rendered.text).not.toContain(`{{click_${honeypot.position}}}`);
  });

  it('escapes what the author writes: raw HTML shows as text, braces never form placeholders, unsafe links go nowhere', async () => {
    const rendered = await renderIssueEmail(
      sampleContent({
        subject: 'Sale <b>now</b> & {{later}}',
        bodyMarkdown:
          'Hello {{name}} <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) [inside](#top) [ok](/tags/) $& $1',
      }),
      sampleSettings(),
    );
    expect(rendered.html).not.toMatch(/<script|<img src=x|javascript:/i);
    expect(rendered.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(rendered.html).toContain('Hello &#123;&#123;name&#125;&#125;');
    expect(rendered.html).toContain(
      '<title>Sale &#60;b&#62;now&#60;/b&#62; &#38; &#123;&#123;later&#125;&#125;</title>',
    );
    expect(rendered.html).toContain('$&amp; $1');
    expect(rendered.problems.map((p) => [p.label, p.reason])).toEqual([
      ['click', expect.stringContaining('javascript:')],
      ['inside', expect.stringContaining('inside the email')],
    ]);
    const message = createPersonalizer(snapshotOf(rendered), { secret })(sampleRecipient());
    expect(message.text).toContain('Hello {{name}} <script>alert(1)</script>');
    expect(message.html).toContain('Hello &#123;&#123;name&#125;&#125;');
  });

  it('makes a valid mail per recipient: Message-ID on our domain, one-click List-Unsubscribe, List-Id, text part', async () => {
    const rendered = await renderIssueEmail(sampleContent(), sampleSettings());
    const mail = createPersonalizer(snapshotOf(rendered), { secret })({
      deliveryId: 41,
      subscriberId: 9,
      email: 'jo@example.com',
      name: 'Bloggs, "Jo"',
    });
    const valid = validateOutgoingMail(mail);
    expect(valid.to).toEqual({ name: 'Bloggs, "Jo"', address: 'jo@example.com' }); // the mailer quotes it
    expect(valid.headers['Message-ID']).toBe('<footfall.7.41@frobozz.example>');
    expect(valid.headers['List-Id']).toBe('Frobozz Electric newsletter <newsletter.frobozz.example>');
    expect(valid.headers['List-Unsubscribe']).toMatch(
      /^<http:\/\/127\.0\.0\.1:4321\/unsubscribe\/[^>]+>, <mailto:news@frobozz\.example\?subject=unsubscribe>$/,
    );
    expect(valid.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const unsubscribe = /<(http[^>]+)>/.exec(valid.headers['List-Unsubscribe']!)![1]!;
    expect(mail.html).toContain(unsubscribe);
    expect(readSubscriberToken({ secret, siteUrl }, unsubscribe.split('/').pop())).toEqual({
      subscriberId: 9,
      issueId: 7,
    });
    expect(valid.text).toContain('Frobozz Electric, 12 Flathead Row, Port Foozle');
    expect(valid.text).toMatch(/Unsubscribe\s+\[http:\/\/127\.0\.0\.1:4321\/unsubscribe\//);
    expect(valid.text).not.toMatch(/\{\{|\ue000|\ue001/);
  });

  it('decides each message’s transfer encodings once from the template: the bytes the mailer would make deciding itself', async () => {
    const outbox = () => {
      const outboxDir = mkdtempSync(path.join(tmpdir(), 'footfall-personalize-'));
      const mailer = createMailer({ outboxDir });
      return {
        mailer,
        // The MIME boundaries are random per message.
        bytesOf: (file: string) =>
          readFileSync(path.join(outboxDir, file), 'latin1').replace(/--_NmP-[0-9a-f-]+|boundary="[^"]+"/g, 'boundary'),
      };
    };
    const decided = outbox();
    const counted = outbox();
    const encodings = new Set<string>();
    for (const bodyMarkdown of [
      undefined,
      'Grüße aus Köln. '.repeat(10),
      '日本語のテキストです。'.repeat(300),
      'Short.',
    ]) {
      const rendered = await renderIssueEmail(sampleContent(bodyMarkdown ? { bodyMarkdown } : {}), sampleSettings());
      const personalize = createPersonalizer(snapshotOf(rendered), { secret });
      for (const deliveryId of [1, 4_711, 987_654_321]) {
        const mail = personalize({ deliveryId, subscriberId: deliveryId, email: 'jo@example.com' });
        encodings.add(`${mail.transferEncoding?.html} ${mail.transferEncoding?.text}`);
        const { transferEncoding: _, ...undecided } = mail;
        const withDecided = (await decided.mailer.send(mail, 0)).file!;
        const withCounted = (await counted.mailer.send(undecided, 0)).file!;
        expect(decided.bytesOf(withDecided), bodyMarkdown).toBe(counted.bytesOf(withCounted));
      }
    }
    await Promise.all([decided.mailer.close(), counted.mailer.close()]);
    expect([...encodings].sort()).toEqual(['quoted-printable base64', 'quoted-printable quoted-printable']);
  });

  it('marks a test send: "[Test]" subject, X-Footfall-Test header, tokens that record nothing, an unsubscribe link naming nobody', async () => {
    const rendered = await renderIssueEmail(sampleContent(), sampleSettings());
    const mail = createPersonalizer(snapshotOf(rendered), { secret, mode: 'test' })(
      sampleRecipient('tester@example.com', null),
    );
    expect(mail.subject).toBe('[Test] Winter is coming: is your widget ready?');
    expect(mail.headers![TEST_HEADER]).toBe('yes');
    expect(mail.headers!['Message-ID']).toMatch(/^<footfall\.7\.test\.[0-9a-f]{12}@frobozz\.example>$/);
    const clicks = [...mail.html.matchAll(/\/t\/c\/([A-Za-z0-9_-]+)/g)].map((m) => readClickToken(secret, m[1]));
    expect(clicks.length).toBeGreaterThan(5);
    for (const token of clicks) expect(token).toMatchObject({ test: true, deliveryId: 0 });
    expect(readOpenToken(secret, /\/t\/o\/([A-Za-z0-9_-]+)/.exec(mail.html)![1])).toMatchObject({ test: true });
    expect(readSubscriberToken({ secret, siteUrl }, mail.listUnsubscribe!.url.split('/').pop())).toBeUndefined();
  });

  it('renders the archive body with plain links: no tracking, unsafe links without href', () => {
    const html = renderMarkdown(
      'See [the guide](/articles/x/) and [bad](javascript:alert(1)) and [call](tel:5550142). <b>x</b>',
      'archive',
      siteUrl,
    );
    expect(html).toContain('<a href="/articles/x/">the guide</a>');
    expect(html).toContain('<a>bad</a>');
    expect(html).toContain('<a href="tel:5550142">call</a>');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).not.toMatch(/\/t\/|utm_/);
  });
});
