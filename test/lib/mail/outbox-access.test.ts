import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMailer } from '#lib/mail/mailer.ts';
import { htmlForViewer, listOutboxFor, readOutboxMessageFor } from '#lib/mail/outbox-access.ts';

const from = 'Frobozz Electric <newsletter@localhost>';
const t0 = Date.UTC(2026, 10, 26, 15, 30);

describe('who may read the outbox', () => {
  it('shows account mail to those who manage users only; subscriber and list mail to everyone with the outbox; unmarked mail fails closed', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'footfall-outbox-access-')), 'outbox');
    const mailer = createMailer({ outboxDir: dir });
    const html = '<html><head><title>x</title></head><body><a href="https://frobozz.example/">link</a></body></html>';
    const invite = await mailer.send(
      { to: 'new@example.com', from, subject: 'You are invited', html, headers: { 'X-Footfall-Email': 'invite' } },
      t0,
    );
    const welcome = await mailer.send(
      { to: 'rea@example.com', from, subject: 'Welcome', html, headers: { 'X-Footfall-Email': 'welcome' } },
      t0 + 1000,
    );
    const issue = await mailer.send(
      {
        to: 'rea@example.com',
        from,
        subject: 'Issue 7',
        html,
        listUnsubscribe: { url: 'https://frobozz.example/unsubscribe/t' },
      },
      t0 + 2000,
    );
    const unmarked = await mailer.send({ to: 'someone@example.com', from, subject: 'Unmarked', html }, t0 + 3000);
    await mailer.close();

    const all = await listOutboxFor(dir, { limit: 10, offset: 0 }, true);
    expect(all.entries.map((e) => [e.subject, e.kind, e.listMail])).toEqual([
      ['Unmarked', undefined, false],
      ['Issue 7', undefined, true],
      ['Welcome', 'welcome', false],
      ['You are invited', 'invite', false],
    ]);
    const marketer = await listOutboxFor(dir, { limit: 10, offset: 0 }, false);
    expect(marketer).toMatchObject({ total: 2, entries: [{ subject: 'Issue 7' }, { subject: 'Welcome' }] });
    expect((await listOutboxFor(dir, { limit: 1, offset: 1 }, false)).entries.map((e) => e.subject)).toEqual([
      'Welcome',
    ]);

    expect(await readOutboxMessageFor(dir, invite.file!, false)).toBeUndefined();
    expect(await readOutboxMessageFor(dir, unmarked.file!, false)).toBeUndefined();
    expect((await readOutboxMessageFor(dir, invite.file!, true))?.subject).toBe('You are invited');
    expect((await readOutboxMessageFor(dir, welcome.file!, false))?.subject).toBe('Welcome');
    expect((await readOutboxMessageFor(dir, issue.file!, false))?.subject).toBe('Issue 7');
    for (const name of ['../secret', '..%2Fsecret', '/etc/passwd', '', 'x.eml'])
      expect(await readOutboxMessageFor(dir, name, true), name).toBeUndefined();
  });

  it('opens links from the viewer in a new tab', () => {
    expect(htmlForViewer('<html><HEAD lang="en"><title>t</title></head></html>')).toBe(
      '<html><HEAD lang="en"><base target="_blank"><title>t</title></head></html>',
    );
    expect(htmlForViewer('<p>no head</p>')).toBe('<base target="_blank"><p>no head</p>');
  });
});
