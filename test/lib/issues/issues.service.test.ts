import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { useTestShop } from '../../helpers/shop.ts';
import { body, catalog, featured, longBody } from '../../helpers/issues.ts';
import {
  createIssue,
  freezeIssue,
  getArchivedIssue,
  getIssue,
  IssueNotReadyError,
  listArchivedIssues,
  listIssues,
  loadSnapshot,
  markIssueSent,
  previewIssue,
  updateIssue,
} from '#lib/issues/issues.service.ts';
import { findLinkById, findLinksByIssue } from '#lib/issues/issues.repository.ts';
import { createPersonalizer } from '#lib/issues/personalize.ts';
import { readClickToken } from '#lib/tracking/tokens.ts';
import type { DB } from '#lib/db/database.ts';

const secret = 'q'.repeat(43);
const now = Date.UTC(2026, 10, 26, 12);
const knownPaths = new Set(['/', '/articles', ...featured.map((a) => `/articles/${a.slug}`)]);
const input = (overrides: Record<string, unknown> = {}) => ({
  subject: 'Winter is coming: is your widget ready?',
  preheader: 'A free spring check and five tips',
  body_markdown: body,
  featured_articles: featured.map((a) => a.slug),
  ...overrides,
});

async function draft(db: DB, overrides: Record<string, unknown> = {}) {
  await useTestShop(db);
  const created = await createIssue(db, input(overrides), { articles: catalog, createdBy: null }, now);
  if (!created.ok) throw new Error(created.message + JSON.stringify(created.fields));
  return created.value;
}

describeEachDatabase('newsletter issues', (db) => {
  it('creates drafts with a slug made from the subject, unique, or the one given', async () => {
    const first = await draft(db(), { subject: 'Lantern series: now in store!' });
    const second = await draft(db(), { subject: 'Lantern series — now in store' });
    expect(first).toMatchObject({
      slug: 'lantern-series-now-in-store',
      status: 'draft',
      frozen: false,
      featuredArticles: featured,
    });
    expect(second.slug).toBe('lantern-series-now-in-store-2');
    const chosen = await draft(db(), { slug: 'lanterns' });
    expect(chosen.slug).toBe('lanterns');
    const taken = await createIssue(db(), input({ slug: 'lanterns' }), { articles: catalog, createdBy: null }, now);
    expect(taken).toMatchObject({
      ok: false,
      reason: 'conflict',
      fields: { slug: expect.stringContaining('belongs to another issue') },
    });
    expect((await listIssues(db())).map((i) => i.slug)).toEqual(
      expect.arrayContaining(['lanterns', 'lantern-series-now-in-store', 'lantern-series-now-in-store-2']),
    );
  });

  it('refuses bad input with a message per field', async () => {
    const refused = await createIssue(
      db(),
      {
        subject: '  ',
        preheader: 42,
        slug: 'Not A Slug',
        body_markdown: 'x'.repeat(200_001),
        featured_articles: 'nope',
      },
      { articles: catalog, createdBy: null },
    );
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(Object.keys(refused.fields!).sort()).toEqual([
      'body_markdown',
      'featured_articles',
      'preheader',
      'slug',
      'subject',
    ]);
    expect(refused.fields!.subject).toBe('Enter the subject.');
    const unknown = await createIssue(db(), input({ featured_articles: ['no-such-article'] }), {
      articles: catalog,
      createdBy: null,
    });
    expect(unknown).toMatchObject({
      ok: false,
      fields: { featured_articles: expect.stringContaining('no-such-article') },
    });
  });

  it('keeps a tracked phone number normalised; refuses one that is not a number, naming the field and changing nothing', async () => {
    const issue = await draft(db(), { subject: 'Call the counter', tracked_phone: ' +44 (0)1632 960-001 ' });
    expect(issue).toMatchObject({ trackedPhone: '+441632960001', trackedPhoneDisplay: '+44 (0)1632 960-001' });

    const before = await listIssues(db());
    for (const bad of ['call us', '12', '+44 1632 960001 ext. 4', '0'.repeat(21), '++441632960001', 42]) {
      const refused = await createIssue(
        db(),
        input({ subject: 'Never saved', tracked_phone: bad }),
        { articles: catalog, createdBy: null },
        now,
      );
      expect(refused, String(bad)).toMatchObject({
        ok: false,
        reason: 'invalid',
        fields: { tracked_phone: expect.stringMatching(/tracked phone number/) },
      });
    }
    const refused = await createIssue(
      db(),
      input({ subject: 'Never saved', tracked_phone: 'call us' }),
      { articles: catalog, createdBy: null },
      now,
    );
    expect(refused).toEqual({
      ok: false,
      reason: 'invalid',
      message: 'Please correct the fields named.',
      fields: {
        tracked_phone:
          'Enter the tracked phone number as digits, e.g. +44 1632 960001 (spaces, brackets and hyphens are fine), or leave it empty.',
      },
    });
    expect(await listIssues(db())).toEqual(before);

    // An update with a bad number saves nothing, not even the other fields.
    const update = await updateIssue(
      db(),
      issue.id,
      input({ subject: 'Renamed', tracked_phone: '555-CALL-NOW' }),
      { articles: catalog },
      now + 1,
    );
    expect(update).toMatchObject({
      ok: false,
      fields: { tracked_phone: expect.stringContaining('Enter the tracked phone number') },
    });
    expect(await getIssue(db(), issue.id)).toEqual(issue);

    // Empty (the form) or null (JSON) removes it.
    const cleared = await updateIssue(
      db(),
      issue.id,
      input({ subject: 'Call the counter', tracked_phone: '' }),
      { articles: catalog },
      now + 2,
    );
    expect(cleared).toMatchObject({ ok: true, value: { trackedPhone: null } });
    const again = await updateIssue(
      db(),
      issue.id,
      input({ subject: 'Call the counter', tracked_phone: '01632 960002' }),
      { articles: catalog },
      now + 3,
    );
    expect(again).toMatchObject({
      ok: true,
      value: { trackedPhone: '01632960002', trackedPhoneDisplay: '01632 960002' },
    });
    expect(
      await updateIssue(
        db(),
        issue.id,
        input({ subject: 'Call the counter', tracked_phone: null }),
        { articles: catalog },
        now + 4,
      ),
    ).toMatchObject({ ok: true, value: { trackedPhone: null } });
  });

  it('previews a draft as a recipient gets it, registering each link once, with the checklist passing', async () => {
    const issue = await draft(db());
    const first = await previewIssue(db(), issue.id, { secret, knownPaths, articles: catalog, now });
    const again = await previewIssue(db(), issue.id, { secret, knownPaths, articles: catalog, now });
    expect(first!.checks.filter((c) => c.status === 'error')).toEqual([]);
    expect(first!.ready).toBe(true);
    const links = await findLinksByIssue(db(), issue.id);
    expect(links).toHaveLength(first!.snapshot.links.length);
    expect(again!.snapshot.links.map((l) => l.id)).toEqual(first!.snapshot.links.map((l) => l.id));
    // The sample's links are test tokens for registered links of this issue: they record nothing.
    const token = readClickToken(secret, /\/t\/c\/([A-Za-z0-9_-]+)/.exec(first!.message.html)![1]);
    expect(token).toMatchObject({ test: true, deliveryId: 0 });
    expect(links.map((l) => Number(l.id))).toContain(token!.linkId);
    expect(first!.headers).toMatchObject({
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'List-Id': expect.stringContaining('<newsletter.'),
    });
  });

  it('blocks sending on a message over 92 KB, a broken own-site link, a missing alt text, a placeholder', async () => {
    const long = await draft(db(), { body_markdown: longBody(), featured_articles: [] });
    const broken = await draft(db(), {
      body_markdown: 'See [the old guide](/articles/no-such-article/) and [home](/).',
      featured_articles: [],
    });
    const noAlt = await draft(db(), { body_markdown: '![](/images/widget-care.svg)', featured_articles: [] });
    const placeholder = await draft(db(), { subject: 'Hello {{first_name}}', featured_articles: [] });
    const errors = async (id: number) =>
      (await previewIssue(db(), id, { secret, knownPaths, now }))!.checks.filter((c) => c.status === 'error');
    expect(await errors(long.id)).toEqual([
      expect.objectContaining({
        id: 'size',
        message: expect.stringMatching(/^The HTML is \d+\.\d KB after link rewriting/),
      }),
    ]);
    expect(await errors(broken.id)).toEqual([
      expect.objectContaining({ id: 'site-links', details: [expect.stringContaining('/articles/no-such-article/')] }),
    ]);
    expect(await errors(noAlt.id)).toEqual([
      expect.objectContaining({ id: 'image-alt', details: ['http://127.0.0.1:4321/images/widget-care.svg'] }),
    ]);
    expect(await errors(placeholder.id)).toEqual([
      expect.objectContaining({ id: 'placeholders', details: ['{{first_name}} in the subject'] }),
    ]);
    // Freezing (what sending starts with) refuses them too.
    for (const issue of [long, broken, noAlt, placeholder])
      await expect(freezeIssue(db(), issue.id, now, { knownPaths, secret })).rejects.toThrow(IssueNotReadyError);
    expect(await loadSnapshot(db(), long.id)).toBeUndefined();
  });

  it('freezes once, whoever asks and however often; drops links only earlier drafts had; refuses edits afterwards', async () => {
    const issue = await draft(db());
    await previewIssue(db(), issue.id, { secret, knownPaths, now });
    const edited = await updateIssue(
      db(),
      issue.id,
      input({ body_markdown: body.replace('our winter checklist', 'the winter checklist') }),
      { articles: catalog },
      now + 1,
    );
    expect(edited.ok).toBe(true);
    await previewIssue(db(), issue.id, { secret, knownPaths, now: now + 1 }); // registers the edited link too
    const [a, b] = await Promise.all([
      freezeIssue(db(), issue.id, now + 2, { knownPaths, secret }),
      freezeIssue(db(), issue.id, now + 3, { knownPaths, secret }),
    ]);
    const c = await freezeIssue(db(), issue.id, now + 4, { secret });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.html).toContain('the winter checklist');
    expect(a.text).toContain('the winter\nchecklist');
    const rows = await findLinksByIssue(db(), issue.id);
    expect(rows.map((r) => Number(r.id)).sort()).toEqual(a.links.map((l) => l.id).sort());
    expect(rows.map((r) => r.label)).not.toContain('our winter checklist');
    expect(await updateIssue(db(), issue.id, input(), { articles: catalog })).toMatchObject({
      ok: false,
      reason: 'conflict',
    });

    // Personalising the stored snapshot: each token names a registered link with its UTM-tagged target.
    const mail = createPersonalizer(a, { secret })({ deliveryId: 77, subscriberId: 5, email: 'jo@example.com' });
    const tokens = [...mail.html.matchAll(/\/t\/c\/([A-Za-z0-9_-]+)/g)].map((m) => readClickToken(secret, m[1])!);
    expect(tokens.every((t) => t.deliveryId === 77 && !t.test)).toBe(true);
    const target = await findLinkById(db(), tokens[1]!.linkId);
    expect(target).toMatchObject({ kind: 'site', label: 'the winter checklist' });
    expect(target!.url).toContain('utm_campaign=winter-is-coming');
  });

  it('joins the web archive once sent, with the archive body (plain links, no tracking)', async () => {
    const issue = await draft(db(), { subject: 'The archive issue', tracked_phone: '+44 1632 960009' });
    expect(await markIssueSent(db(), issue.id, now)).toBe(false); // not frozen: nothing was sent
    expect(await getArchivedIssue(db(), issue.slug)).toBeUndefined();
    await freezeIssue(db(), issue.id, now, { knownPaths, secret });
    expect(await getArchivedIssue(db(), issue.slug)).toBeUndefined(); // sending is not sent
    expect(await markIssueSent(db(), issue.id, now + 10)).toBe(true);
    const archived = await getArchivedIssue(db(), issue.slug);
    expect(archived).toMatchObject({
      subject: 'The archive issue',
      sentAt: now + 10,
      featuredArticles: featured,
      trackedPhone: '+441632960009',
    });
    expect(archived!.bodyHtml).toContain(
      '<a href="/articles/getting-your-widget-ready-for-winter/">our winter checklist</a>',
    );
    expect(archived!.bodyHtml).not.toMatch(/\/t\/|utm_|unsubscribe/);
    expect((await listArchivedIssues(db())).map((i) => i.slug)).toContain(issue.slug);
  });
});

describeEachDatabase('the sending engine’s hooks into issues', (db) => {
  it('an A/B test’s variants pass the same pre-send checks as the issue: a variant’s broken link or empty subject refuses the send and names the variant', async () => {
    const { createIssueSendingPort } = await import('#lib/issues/sending-port.ts');
    const { requestSend } = await import('#lib/sending/send.service.ts');
    const { findSendByIssue } = await import('#lib/sending/sends.repository.ts');
    const hooks = createIssueSendingPort({ secret, knownPaths: async () => knownPaths });
    const issue = await draft(db(), { subject: 'Variants to check' });
    const good = { subject: 'Winter is coming', preheader: '', bodyMarkdown: null };
    const ownGoodBody = { subject: 'Or this', preheader: 'A look inside', bodyMarkdown: 'See [the shop](/)' };
    expect((await hooks.checkIssue(db(), issue.id, [good, ownGoodBody])).ok).toBe(true);
    const brokenBody = { subject: 'Broken', preheader: '', bodyMarkdown: '[gone](/articles/gone/)' };
    expect(await hooks.checkIssue(db(), issue.id, [good, brokenBody])).toMatchObject({
      ok: false,
      reason: 'invalid',
      message: expect.stringMatching(
        /^Variant B fails its pre-send checks\. .*Links to this site point at pages that exist/,
      ),
    });
    const longSubject = { subject: 'x'.repeat(200), preheader: '', bodyMarkdown: null };
    expect(await hooks.checkIssue(db(), issue.id, [longSubject, good])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^Variant A fails its pre-send checks/),
    });
    // Through the engine: refused, nothing stored.
    const refused = await requestSend(db(), hooks, {
      issueId: issue.id,
      audience: {},
      experiment: {
        variants: [{ subject: 'Winter is coming' }, { subject: 'Broken', body_markdown: '[gone](/articles/gone/)' }],
        test_share: 0.2,
        wait_ms: 4 * 3_600_000,
      },
    });
    expect(refused).toMatchObject({
      ok: false,
      message: expect.stringContaining('Variant B fails its pre-send checks'),
    });
    expect(await findSendByIssue(db(), issue.id)).toBeUndefined();
  });

  it('check, freeze once, compose per recipient from the snapshot, then archive', async () => {
    const { createIssueSendingPort } = await import('#lib/issues/sending-port.ts');
    const hooks = createIssueSendingPort({ secret, knownPaths: async () => knownPaths });
    const good = await draft(db(), { subject: 'Hooked issue' });
    const bad = await draft(db(), {
      subject: 'Broken issue',
      body_markdown: '[gone](/articles/gone/)',
      featured_articles: [],
    });
    expect((await hooks.checkIssue(db(), good.id)).ok).toBe(true);
    expect(await hooks.checkIssue(db(), bad.id)).toMatchObject({
      ok: false,
      reason: 'invalid',
      message: expect.stringContaining('Links to this site point at pages that exist'),
    });
    expect(await hooks.checkIssue(db(), 999_999)).toMatchObject({ ok: false, reason: 'not-found' });
    expect(await hooks.prepareIssue(db(), bad.id, now)).toMatchObject({
      ok: false,
      message: expect.stringContaining('pre-send checks'),
    });
    await expect(hooks.composerFor(db(), good.id)).rejects.toThrow(/not frozen/);
    expect(await hooks.prepareIssue(db(), good.id, now)).toEqual({ ok: true });
    expect(await hooks.prepareIssue(db(), good.id, now + 1)).toEqual({ ok: true });
    const compose = await hooks.composerFor(db(), good.id);
    const mail = await compose({
      deliveryId: 5,
      issueId: good.id,
      subscriberId: 3,
      email: 'jo@example.com',
      name: 'Jo',
    });
    expect(mail).toMatchObject({
      to: { name: 'Jo', address: 'jo@example.com' },
      subject: 'Hooked issue',
      headers: { 'Message-ID': expect.stringMatching(new RegExp(`^<footfall\\.${good.id}\\.5@`)) },
    });
    expect(readClickToken(secret, /\/t\/c\/([A-Za-z0-9_-]+)/.exec(mail.html)![1])).toMatchObject({
      deliveryId: 5,
      test: false,
    });
    await hooks.setIssueStatus(db(), good.id, ['draft', 'scheduled', 'sending'], 'sent', now + 5);
    expect(await getArchivedIssue(db(), good.slug)).toMatchObject({ sentAt: now + 5 });
  });
});
