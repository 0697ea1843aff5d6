import { describe, expect, it } from 'vitest';
import { readMailboxMessage } from '#lib/bounces/mailbox/reports.ts';
import { readVerpAddress, verpAddress } from '#lib/mail/verp.ts';
import { loadConfig } from '#lib/config.ts';
import { createMailer } from '#lib/mail/mailer.ts';
import { InvalidMailError } from '#lib/mail/message.ts';
import { buildArf, buildAuthFailureReport, buildDsn } from '../../helpers/bounce-reports.ts';
import { startSmtpSink } from '../../helpers/smtp-sink.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from '../../helpers/tracking.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ORIGINAL =
  'From: Shop <news@shop.example>\r\nTo: ann@example.com\r\nMessage-ID: <footfall.3.12@shop.example>\r\nSubject: Hi';
const read = (raw: string) => readMailboxMessage(Buffer.from(raw));

/** A DSN with several per-recipient groups, as Postfix writes one for a message to several people. */
function multiDsn(groups: string[], type = 'delivery-status'): string {
  return [
    'From: MAILER-DAEMON@relay.example',
    'To: bounces@shop.example',
    'Message-ID: <multi@relay.example>',
    `Content-Type: multipart/report; report-type=${type}; boundary="b"`,
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Report.',
    '--b',
    `Content-Type: message/${type}`,
    '',
    'Reporting-MTA: dns; relay.example',
    '',
    groups.join('\r\n\r\n'),
    '',
    '--b',
    'Content-Type: text/rfc822-headers',
    '',
    ORIGINAL,
    '',
    '--b--',
    '',
  ].join('\r\n');
}

describe('reading the bounce mailbox’s messages', () => {
  it('a DSN: failed 5.x.x is hard, failed 4.x.x and delayed are soft, delivered records nothing; the Diagnostic-Code is the reason; the original Message-ID is found', async () => {
    const result = await read(
      multiDsn([
        'Final-Recipient: rfc822; a@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User\r\n unknown',
        'Final-Recipient: rfc822; b@example.com\r\nAction: failed\r\nStatus: 4.4.7\r\nDiagnostic-Code: X-Postfix; delivery\r\n time expired',
        'Final-Recipient: rfc822; c@example.com\r\nAction: delayed\r\nStatus: 4.2.2',
        'Final-Recipient: rfc822; d@example.com\r\nAction: delivered\r\nStatus: 2.0.0',
        'Original-Recipient: rfc822; e@example.com\r\nAction: failed',
      ]),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.report).toMatchObject({
      type: 'delivery-status',
      key: '<multi@relay.example>',
      originalMessageId: '<footfall.3.12@shop.example>',
      returnPaths: ['bounces@shop.example'],
    });
    expect(result.report.results).toEqual([
      { kind: 'hard', email: 'a@example.com', reason: '550 5.1.1 User unknown' },
      { kind: 'soft', email: 'b@example.com', reason: 'delivery time expired' },
      { kind: 'soft', email: 'c@example.com', reason: 'Status 4.2.2' },
      { kind: undefined, email: 'd@example.com', reason: 'Status 2.0.0' },
      { kind: 'hard', email: 'e@example.com', reason: undefined },
    ]);
  });

  it('RFC 6533 global delivery-status reports read the same way', async () => {
    const result = await read(
      multiDsn(
        ['Final-Recipient: rfc822; ünï@example.com\r\nAction: failed\r\nStatus: 5.1.1'],
        'global-delivery-status',
      ),
    );
    expect(result.ok && result.report.results).toEqual([
      { kind: 'hard', email: 'ünï@example.com', reason: 'Status 5.1.1' },
    ]);
  });

  it('an ARF abuse report is a complaint, with the attached message’s Message-ID and the Original-Mail-From as a return path; auth-failure and not-spam record nothing', async () => {
    const arf = await read(
      buildArf({
        originalHeaders: ORIGINAL,
        rcptTo: 'ann@example.com',
        mailFrom: 'bounces+d12-x@shop.example',
        messageId: '<arf@x>',
      }),
    );
    expect(arf.ok && arf.report).toMatchObject({
      type: 'feedback-report',
      key: '<arf@x>',
      originalMessageId: '<footfall.3.12@shop.example>',
      returnPaths: ['bounces+d12-x@shop.example', 'abuse@shop.example'],
      results: [{ kind: 'complaint', email: 'ann@example.com', reason: 'Feedback-Type: abuse' }],
    });
    const auth = await read(buildAuthFailureReport({ originalHeaders: ORIGINAL, messageId: '<auth@x>' }));
    expect(auth.ok && auth.report.results.map((r) => r.kind)).toEqual([undefined]);
    expect(auth.ok && auth.report.originalMessageId).toBe('<footfall.3.12@shop.example>');
    const notSpam = await read(
      buildArf({
        originalHeaders: ORIGINAL,
        rcptTo: 'ann@example.com',
        mailFrom: 'x@y.example',
        messageId: '<n@x>',
        feedbackType: 'not-spam',
      }),
    );
    expect(notSpam.ok && notSpam.report.results.map((r) => r.kind)).toEqual([undefined]);
  });

  it('anything else is not a report, with the reason: plain mail, another report type, a report without its status part, bytes that are no message', async () => {
    expect(await read('From: a@b.example\r\nSubject: Out of office\r\n\r\nBack Monday')).toMatchObject({
      ok: false,
      reason: /not a report/,
    });
    expect(await read(multiDsn(['X: y'], 'disposition-notification'))).toMatchObject({
      ok: false,
      reason: /another type/,
    });
    expect(
      await read(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n',
      ),
    ).toMatchObject({ ok: false, reason: /without its message\/delivery-status part/ });
    expect(await read('\u0000\u0001\u0002')).toMatchObject({ ok: false });
  });

  it('a DSN without a Message-ID is keyed by its bytes, so the same report twice has one key', async () => {
    const dsn = buildDsn({
      reportingMta: 'relay.example',
      to: 'bounces@shop.example',
      rejection: { recipient: 'a@example.com', response: '550 5.1.1 no', responseCode: 550 },
      originalHeaders: ORIGINAL,
      date: new Date(0),
    }).replace(/^Message-ID:.*\r\n/m, '');
    const one = await read(dsn);
    const two = await read(dsn);
    expect(one.ok && one.report.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(one.ok && two.ok && one.report.key === two.report.key).toBe(true);
  });
});

describe('VERP return paths', () => {
  const SECRET = 'verp-test-secret-verp-test-secret-0000';
  it('name their delivery under the base address, case-insensitively; a tampered, foreign or other-secret token names nothing', () => {
    const address = verpAddress('bounces@shop.example', SECRET, 4711);
    expect(address).toMatch(/^bounces\+d4711-[0-9a-f]{20}@shop\.example$/);
    expect(readVerpAddress('bounces@shop.example', SECRET, address)).toBe(4711);
    expect(readVerpAddress('bounces@shop.example', SECRET, `<${address.toUpperCase()}>`)).toBe(4711);
    expect(readVerpAddress('bounces@shop.example', SECRET, address.replace('d4711', 'd4712'))).toBeUndefined();
    expect(
      readVerpAddress(
        'bounces@shop.example',
        SECRET,
        address.replace(/-(.)/, (_, c: string) => `-${c === 'a' ? 'b' : 'a'}`),
      ),
    ).toBeUndefined();
    expect(
      readVerpAddress('bounces@shop.example', SECRET, address.replace('shop.example', 'evil.example')),
    ).toBeUndefined();
    expect(readVerpAddress('bounces@shop.example', `${SECRET}x`, address)).toBeUndefined();
    expect(readVerpAddress('bounces@shop.example', SECRET, 'bounces@shop.example')).toBeUndefined();
    expect(() => verpAddress('bounces@shop.example', SECRET, 0)).toThrow(RangeError);
  });

  it('become the SMTP envelope sender (MAIL FROM) while the From header stays; an invalid one is refused and nothing is sent', async () => {
    const sink = await startSmtpSink();
    const mailer = createMailer({ smtpUrl: sink.url, outboxDir: mkdtempSync(path.join(tmpdir(), 'footfall-outbox-')) });
    try {
      const envelopeFrom = verpAddress('bounces@shop.example', SECRET, 9);
      const mail = { to: 'ann@example.com', from: 'Shop <news@shop.example>', subject: 'Hi', html: '<p>Hi</p>' };
      await mailer.send({ ...mail, envelopeFrom });
      expect(sink.envelopes[0]).toMatchObject({ mailFrom: envelopeFrom, rcptTo: ['ann@example.com'] });
      expect(sink.messages[0]!.from?.value[0]?.address).toBe('news@shop.example');
      await expect(mailer.send({ ...mail, envelopeFrom: 'not an address' })).rejects.toThrow(InvalidMailError);
      await expect(mailer.send({ ...mail, envelopeFrom: 'a@b.example\r\nRCPT TO:<x@y>' })).rejects.toThrow(
        /line break/,
      );
      expect(sink.envelopes).toHaveLength(1);
    } finally {
      await mailer.close();
      await sink.close();
    }
  });
});

describe('bounce mailbox configuration', () => {
  it('reads BOUNCE_IMAP_URL, the poll interval, the folders and the VERP address, with defaults', () => {
    expect(loadConfig({}).bounceMailbox).toEqual({
      url: undefined,
      pollMs: 300_000,
      processedFolder: 'Processed reports',
      otherFolder: 'Not reports',
      verpAddress: undefined,
    });
    expect(
      loadConfig({
        BOUNCE_IMAP_URL: 'imaps://bounces:s3cret@mail.example:993/INBOX',
        BOUNCE_IMAP_POLL_MS: '60000',
        BOUNCE_IMAP_PROCESSED_FOLDER: 'Done',
        BOUNCE_VERP_ADDRESS: 'Bounces@Shop.Example',
      }).bounceMailbox,
    ).toMatchObject({
      url: 'imaps://bounces:s3cret@mail.example:993/INBOX',
      pollMs: 60_000,
      processedFolder: 'Done',
      verpAddress: 'bounces@shop.example',
    });
  });

  it('fails naming the variable, and never prints the password', () => {
    expect(() => loadConfig({ BOUNCE_IMAP_URL: 'pop3://u:p@h/INBOX' })).toThrow(/BOUNCE_IMAP_URL/);
    expect(() => loadConfig({ BOUNCE_IMAP_URL: 'imaps://mail.example/INBOX' })).toThrow(
      /BOUNCE_IMAP_URL: must name the user and password/,
    );
    expect(() => loadConfig({ BOUNCE_IMAP_URL: 'pop3://bounces:hunter2hunter2@mail.example/INBOX' })).toThrow(
      /got "pop3:\/\/bounces:\*\*\*@mail\.example\/INBOX"/,
    );
    expect(() => loadConfig({ BOUNCE_IMAP_POLL_MS: '10' })).toThrow(/BOUNCE_IMAP_POLL_MS/);
    expect(() => loadConfig({ BOUNCE_VERP_ADDRESS: 'bounces+x@shop.example' })).toThrow(/BOUNCE_VERP_ADDRESS/);
    expect(() => loadConfig({ BOUNCE_IMAP_OTHER_FOLDER: 'a*b' })).toThrow(/BOUNCE_IMAP_OTHER_FOLDER/);
    expect(() => loadConfig({ BOUNCE_IMAP_TLS_CA_FILE: '/nonexistent/ca.pem' })).toThrow(
      /BOUNCE_IMAP_TLS_CA_FILE: no such file/,
    );
  });
});

describe('reports a real MTA wrote (Exim 4.96; test/fixtures/bounces/exim/README.md)', () => {
  const fixture = (name: string) =>
    readFileSync(fileURLToPath(new URL(`../../fixtures/bounces/exim/${name}`, import.meta.url)));
  const base = 'bounces@frobozz.example';
  const cases = [
    {
      file: 'failed-550-5.1.1.eml',
      delivery: 4242,
      result: {
        kind: 'hard',
        email: 'gone@customer.example',
        reason: '550 5.1.1 <gone@customer.example>: Recipient address rejected: User unknown in virtual mailbox table',
      },
      messageId: '<issue-7.delivery-4242@frobozz.example>',
    },
    {
      // Exim says Status 5.0.0; the next hop said 5.2.2, a full mailbox: soft, nothing suppressed,
      // and the reason says why a failed 5.x.x counts soft.
      file: 'failed-552-5.2.2.eml',
      delivery: 4243,
      result: {
        kind: 'soft',
        email: 'full@customer.example',
        reason: 'mailbox full (5.2.2): 552 5.2.2 <full@customer.example>: Recipient address rejected: Mailbox full',
      },
      messageId: '<issue-7.delivery-4243@frobozz.example>',
    },
    {
      file: 'delayed-452-4.2.2.eml',
      delivery: 4244,
      result: {
        kind: 'soft',
        email: 'busy@customer.example',
        reason: '452 4.2.2 <busy@customer.example>: Recipient address rejected: Mailbox over quota, try again later',
      },
      messageId: '<issue-7.delivery-4244@frobozz.example>',
    },
  ] as const;
  it.each(cases)('$file → $result.kind for $result.email, its delivery from the VERP address', async (c) => {
    const read = await readMailboxMessage(fixture(c.file));
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.report.type).toBe('delivery-status');
    expect(read.report.results).toEqual([c.result]);
    expect(read.report.originalMessageId).toBe(c.messageId);
    expect(read.report.returnPaths.map((address) => readVerpAddress(base, TEST_SECRET, address))).toContain(c.delivery);
  });
});
