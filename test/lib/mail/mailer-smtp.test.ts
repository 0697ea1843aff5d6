import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, type Mailer } from '#lib/mail/mailer.ts';
import { InvalidMailError } from '#lib/mail/message.ts';
import { renderEmail } from '#lib/mail/templates.ts';
import { MailSendError } from '#lib/mail/transport.ts';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';

const site = {
  siteName: 'Frobozz Electric',
  siteUrl: 'http://127.0.0.1:4321',
  postalAddress: '12 Flathead Row, Frobozz FE1 2AB',
};
const from = 'Frobozz Electric <newsletter@frobozz.example>';

async function failureOf(promise: Promise<unknown>): Promise<MailSendError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MailSendError);
    return error as MailSendError;
  }
  throw new Error('the send succeeded');
}

describe('mailer over real SMTP', () => {
  let sink: SmtpSink;
  let mailer: Mailer;
  const outboxDir = mkdtempSync(path.join(tmpdir(), 'footfall-outbox-'));

  beforeAll(async () => {
    sink = await startSmtpSink({
      respond: (rcpt) => {
        if (rcpt.startsWith('busy@')) return { code: 451, message: '4.3.0 Try again later' };
        if (rcpt.startsWith('closing@')) return { code: 421, message: '4.4.2 Closing connection' };
        if (rcpt.startsWith('gone@')) return { code: 550, message: '5.1.1 No such user' };
        return null;
      },
      respondToData: (rcpts) =>
        rcpts.some((r) => r.startsWith('spam@')) ? { code: 554, message: '5.7.1 Message refused' } : null,
      dropConnectionFor: (rcpt) => rcpt.startsWith('drop@'),
    });
    mailer = createMailer({ smtpUrl: sink.url, outboxDir, pool: { maxConnections: 2 } });
  });

  afterAll(async () => {
    await mailer?.close();
    await sink?.close();
  });

  it('delivers a confirmation email: subject, from, to, confirm link in HTML and text, List-Unsubscribe', async () => {
    const confirmUrl = 'http://127.0.0.1:4321/subscribe/confirm?token=eyJzIjo0Mn0.c2lnbmF0dXJl';
    const email = await renderEmail('confirm-subscription', { ...site, confirmUrl });
    const sent = await mailer.send({
      to: 'Jo Bloggs <jo@example.com>',
      from,
      subject: email.subject,
      html: email.html,
      listUnsubscribe: { url: 'https://frobozz.example/unsubscribe/tok', mailto: 'unsubscribe@frobozz.example' },
    });
    expect(mailer.mode).toBe('smtp');
    expect(sent.accepted).toEqual(['jo@example.com']);
    expect(sent.rejected).toEqual([]);
    expect(sent.response).toMatch(/^250/);
    expect(sent.file).toBeUndefined();

    const [received] = await sink.waitFor(1);
    expect(received!.subject).toBe('Confirm your subscription to Frobozz Electric');
    expect(received!.from!.value).toEqual([{ name: 'Frobozz Electric', address: 'newsletter@frobozz.example' }]);
    expect(received!.to).toMatchObject({ value: [{ name: 'Jo Bloggs', address: 'jo@example.com' }] });
    expect(received!.messageId).toBe(sent.messageId);
    expect(received!.html).toContain(`href="${confirmUrl}"`);
    expect(received!.text).toMatch(
      new RegExp(`Confirm your subscription\\s+\\[${confirmUrl.replace(/[.?]/g, '\\$&')}\\]`),
    );
    expect(received!.text).not.toContain('<');
    expect(received!.text).toContain('12 Flathead Row, Frobozz FE1 2AB');
    // nodemailer folds the long line after the comma; unfolded it is exactly what we set.
    expect(received!.headerLines.find((h) => h.key === 'list-unsubscribe')!.line.replace(/\r?\n[ \t]+/g, ' ')).toBe(
      'List-Unsubscribe: <https://frobozz.example/unsubscribe/tok>, <mailto:unsubscribe@frobozz.example>',
    );
    expect(received!.headerLines.find((h) => h.key === 'list-unsubscribe-post')!.line).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );
    expect(sink.envelopes[0]).toMatchObject({ mailFrom: 'newsletter@frobozz.example', rcptTo: ['jo@example.com'] });
  });

  it('sends no List-Unsubscribe headers unless asked', async () => {
    const before = sink.messages.length;
    await mailer.send({ to: 'staff@example.com', from, subject: 'Password reset', html: '<p>Hi</p>' });
    const received = sink.messages[before]!;
    expect(received.headers.has('list-unsubscribe')).toBe(false);
    expect(received.headerLines.some((h) => h.key.startsWith('list-'))).toBe(false);
    expect(received.text?.trim()).toBe('Hi');
  });

  it('surfaces 4xx refusals with their response code, as temporary', async () => {
    const busy = await failureOf(mailer.send({ to: 'busy@example.com', from, subject: 'Hi', html: '<p>Hi</p>' }));
    expect(busy.responseCode).toBe(451);
    expect(busy.permanent).toBe(false);
    expect(busy.code).toBe('EENVELOPE');
    expect(busy.response).toContain('Try again later');

    const closing = await failureOf(mailer.send({ to: 'closing@example.com', from, subject: 'Hi', html: '<p>Hi</p>' }));
    expect(closing.responseCode).toBe(421);
    expect(closing.permanent).toBe(false);
  });

  it('surfaces 5xx refusals with their response code, as permanent', async () => {
    const gone = await failureOf(mailer.send({ to: 'gone@example.com', from, subject: 'Hi', html: '<p>Hi</p>' }));
    expect(gone.responseCode).toBe(550);
    expect(gone.permanent).toBe(true);
    expect(gone.response).toContain('No such user');

    const spam = await failureOf(mailer.send({ to: 'spam@example.com', from, subject: 'Hi', html: '<p>Hi</p>' }));
    expect(spam.responseCode).toBe(554);
    expect(spam.permanent).toBe(true);
    expect(spam.code).toBe('EMESSAGE');
  });

  it('reports a dropped connection without a response code, as temporary', async () => {
    const dropped = await failureOf(mailer.send({ to: 'drop@example.com', from, subject: 'Hi', html: '<p>Hi</p>' }));
    expect(dropped.responseCode).toBeUndefined();
    expect(dropped.permanent).toBe(false);
    expect(dropped.code).toMatch(/^E(CONNECTION|SOCKET|PROTOCOL)$/);
    // The pool recovers: the next message goes through.
    await mailer.send({ to: 'after-drop@example.com', from, subject: 'Hi', html: '<p>Hi</p>' });
    expect(sink.messages.at(-1)!.to).toMatchObject({ value: [{ address: 'after-drop@example.com' }] });
  });

  it('refuses header injection before anything is sent', async () => {
    const before = sink.messages.length;
    await expect(mailer.send({ to: 'a@b.c\r\nBcc: x@y.z', from, subject: 'Hi', html: '<p>Hi</p>' })).rejects.toThrow(
      InvalidMailError,
    );
    await expect(mailer.send({ to: 'a@b.c', from, subject: 'Hi\r\nBcc: x@y.z', html: '<p>Hi</p>' })).rejects.toThrow(
      /subject contains a line break/,
    );
    await expect(
      mailer.send({ to: 'a@b.c', from, subject: 'Hi', html: '<p>Hi</p>', headers: { 'X-Tag': 'v\nBcc: x@y.z' } }),
    ).rejects.toThrow(/header X-Tag/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sink.messages.length).toBe(before);
    expect(sink.envelopes.flatMap((e) => e.rcptTo)).not.toContain('x@y.z');
    expect(readdirSync(outboxDir)).toEqual([]);
  });

  it('sends in parallel over the pool', async () => {
    const before = sink.messages.length;
    const sends = Array.from({ length: 12 }, (_, i) =>
      mailer.send({ to: `reader${i}@example.com`, from, subject: `Issue ${i}`, html: `<p>Issue ${i}</p>` }),
    );
    const results = await Promise.all(sends);
    expect(new Set(results.map((r) => r.messageId)).size).toBe(12);
    expect(sink.messages.length - before).toBe(12);
  });
});

describe('mailer rate limit', () => {
  it('holds a pool to rateLimitPerSecond messages a second', async () => {
    const sink = await startSmtpSink();
    const mailer = createMailer({
      smtpUrl: sink.url,
      outboxDir: tmpdir(),
      pool: { maxConnections: 3, rateLimitPerSecond: 2 },
    });
    try {
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          mailer.send({ to: `r${i}@example.com`, from, subject: 'Hi', html: '<p>Hi</p>' }),
        ),
      );
      // 2 in the first second, 2 in the second, the fifth in the third — never a burst of 3.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1950);
      const arrivals = sink.envelopes.map((e) => e.receivedAt).sort((a, b) => a - b);
      // Starts are a second apart; arrivals a little less (a new connection's handshake delays its first message).
      for (let i = 2; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 2]!).toBeGreaterThanOrEqual(700);
      expect(sink.messages.length).toBe(5);
    } finally {
      await mailer.close();
      await sink.close();
    }
  });

  it('refuses to send once closed', async () => {
    const sink = await startSmtpSink();
    const mailer = createMailer({ smtpUrl: sink.url, outboxDir: tmpdir() });
    const inFlight = mailer.send({ to: 'r@example.com', from, subject: 'Hi', html: '<p>Hi</p>' });
    await mailer.close(); // waits for the message in flight
    await expect(inFlight).resolves.toMatchObject({ accepted: ['r@example.com'] });
    await expect(mailer.send({ to: 'r@example.com', from, subject: 'Hi', html: '<p>Hi</p>' })).rejects.toThrow(
      /closed/,
    );
    await sink.close();
  });
});
