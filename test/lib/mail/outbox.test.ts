import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { createMailer } from '#lib/mail/mailer.ts';
import { InvalidMailError } from '#lib/mail/message.ts';
import { listOutbox, OutboxFileNameError, readOutboxMessage } from '#lib/mail/outbox.ts';
import { outboxFileName } from '#lib/mail/outbox-file.ts';
import { renderEmail } from '#lib/mail/templates.ts';

const from = 'Frobozz Electric <newsletter@localhost>';
const site = {
  siteName: 'Frobozz Electric',
  siteUrl: 'http://127.0.0.1:4321',
  postalAddress: '12 Flathead Row, Frobozz FE1 2AB',
};
const t0 = Date.UTC(2026, 10, 26, 15, 30, 12, 123);

function freshDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'footfall-outbox-')), 'outbox');
}

describe('outbox mode', () => {
  it('writes each message as an .eml file that reads back as sent', async () => {
    const dir = freshDir();
    const mailer = createMailer({ outboxDir: dir });
    expect(mailer.mode).toBe('outbox');
    const email = await renderEmail('confirm-subscription', {
      ...site,
      confirmUrl: 'http://127.0.0.1:4321/subscribe/confirm?token=abc.def',
    });
    const sent = await mailer.send(
      {
        to: 'Jö Bloggs <jo@example.com>',
        from,
        replyTo: 'help@frobozz.example',
        subject: `${email.subject} ⚡`,
        html: email.html,
        headers: { 'X-Footfall-Issue': '42' },
        listUnsubscribe: { url: 'https://frobozz.example/unsubscribe/tok', mailto: 'unsubscribe@frobozz.example' },
      },
      t0,
    );
    await mailer.close();

    expect(sent.file).toMatch(/^20261126T153012\.123Z-[0-9a-f]{16}\.eml$/);
    expect(sent.accepted).toEqual(['jo@example.com']);
    expect(sent.rejected).toEqual([]);
    expect(readdirSync(dir)).toEqual([sent.file]); // no temporary file left behind
    expect(statSync(path.join(dir, sent.file!)).mode & 0o777).toBe(0o600);

    const bytes = readFileSync(path.join(dir, sent.file!));
    expect(bytes.toString('latin1')).toMatch(/^[^\n]*\r\n/); // RFC 5322 line ends
    const direct = await simpleParser(bytes);
    const message = (await readOutboxMessage(dir, sent.file!))!;
    expect(message).toMatchObject({
      file: sent.file,
      messageId: sent.messageId,
      from: 'Frobozz Electric <newsletter@localhost>',
      to: 'Jö Bloggs <jo@example.com>',
      replyTo: 'help@frobozz.example',
      subject: 'Confirm your subscription to Frobozz Electric ⚡',
      html: email.html,
      text: direct.text,
      size: bytes.length,
    });
    expect(message.text.trim()).toBe(email.text);
    expect(message.date.getTime()).toBe(Math.floor(t0 / 1000) * 1000); // the Date header has whole seconds
    expect(message.headers['x-footfall-issue']).toBe('42');
    expect(message.headers['list-unsubscribe']).toBe(
      '<https://frobozz.example/unsubscribe/tok>, <mailto:unsubscribe@frobozz.example>',
    );
    expect(message.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(message.headers.subject).toBe('Confirm your subscription to Frobozz Electric ⚡');
    expect(message.headers.to).toBe('Jö Bloggs <jo@example.com>');
  });

  it('lists the outbox newest first, with paging, ignoring anything that is not a message', async () => {
    const dir = freshDir();
    const mailer = createMailer({ outboxDir: dir });
    const times = [t0 + 2_000, t0, t0 + 60_000, t0 + 1];
    for (const [i, now] of times.entries())
      await mailer.send({ to: `reader${i}@example.com`, from, subject: `Issue ${i}`, html: `<p>Issue ${i}</p>` }, now);
    await mailer.close();
    writeFileSync(path.join(dir, 'notes.txt'), 'not mail');
    writeFileSync(path.join(dir, '.20261126T153012.123Z-0000000000000000.eml.abcd.tmp'), 'half a message');

    const all = await listOutbox(dir);
    expect(all.total).toBe(4);
    expect(all.entries.map((e) => e.subject)).toEqual(['Issue 2', 'Issue 0', 'Issue 3', 'Issue 1']);
    expect(all.entries.map((e) => e.to)).toEqual([
      'reader2@example.com',
      'reader0@example.com',
      'reader3@example.com',
      'reader1@example.com',
    ]);
    expect(all.entries[0]!.date.getTime()).toBe(Math.floor((t0 + 60_000) / 1000) * 1000);
    expect(all.entries.every((e) => e.size > 100 && e.file.endsWith('.eml'))).toBe(true);

    const page = await listOutbox(dir, { limit: 2, offset: 1 });
    expect(page.total).toBe(4);
    expect(page.entries.map((e) => e.subject)).toEqual(['Issue 0', 'Issue 3']);
    expect(await listOutbox(path.join(dir, 'missing'))).toEqual({ total: 0, entries: [] });
  });

  it('refuses file names that are not outbox names: no path traversal', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'footfall-outbox-'));
    const dir = path.join(root, 'outbox');
    mkdirSync(dir);
    writeFileSync(path.join(root, 'secret'), 'SECRET=do-not-read');
    const good = outboxFileName('<x@y>', t0);
    symlinkSync(path.join(root, 'secret'), path.join(dir, good));
    for (const name of [
      '../secret',
      '/etc/passwd',
      path.join(root, 'secret'),
      `../outbox/${good}`,
      `${good}/../../secret`,
      'secret',
      '',
      `${good}\0`,
      `./${good}`,
      `..\\secret`,
    ]) {
      await expect(readOutboxMessage(dir, name), name).rejects.toThrow(OutboxFileNameError);
    }
    // A name of the right shape that is a symlink is not followed; a missing one is undefined.
    expect(await readOutboxMessage(dir, good)).toBeUndefined();
    expect(await readOutboxMessage(dir, outboxFileName('<z@y>', t0))).toBeUndefined();
  });

  it('writes nothing for a refused message', async () => {
    const dir = freshDir();
    const mailer = createMailer({ outboxDir: dir });
    await expect(mailer.send({ to: 'a@b.c\r\nBcc: x@y.z', from, subject: 'Hi', html: '<p>Hi</p>' })).rejects.toThrow(
      InvalidMailError,
    );
    await expect(
      mailer.send({ to: 'a@b.c', from, subject: 'Hi', html: '<p>Hi</p>', headers: { 'X-A': 'b\r\nBcc: x@y.z' } }),
    ).rejects.toThrow(InvalidMailError);
    await mailer.close();
    expect(await listOutbox(dir)).toEqual({ total: 0, entries: [] });
  });
});
