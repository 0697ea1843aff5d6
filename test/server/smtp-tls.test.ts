import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, apiKeyFor, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { makeSelfSignedCertificate, type SelfSignedCertificate } from '../helpers/tls.ts';
import { loadConfig } from '../../src/lib/config.ts';

/**
 * Issue 17, item 16: an SMTP failure shows the relay's answer (or the connection's TLS error) to
 * those who send — on the test-send result and the progress page — and the TLS options of
 * SMTP_URL documented in the README work as written: STARTTLS and smtps:// against a relay with
 * a self-signed certificate, trusted through SMTP_TLS_CA_FILE.
 */
describe('SMTP relays: their answers shown, their TLS options', () => {
  let cert: SelfSignedCertificate;
  const sinks: SmtpSink[] = [];
  const servers: RunningServer[] = [];

  beforeAll(() => {
    cert = makeSelfSignedCertificate();
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const s of sinks) await s.close();
  });

  async function shop(env: Record<string, string>) {
    const server = await startServer({
      env: { SEND_POLL_MS: '50', SEND_RETRY_BASE_MS: '20', SEND_MAX_ATTEMPTS: '2', ...env },
    });
    servers.push(server);
    const marketer = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'marketing@frobozz.example', 'marketer'),
    );
    const writer = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'writer@frobozz.example', 'writer'),
    );
    const key = await apiKeyFor(server.databaseUrl, 'marketer');
    const id = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, 'Over TLS'));
    const testSend = (to: string) =>
      postForm(server, `/admin/issues/${id}/preview`, 'issues.sendTest', { id: String(id), to }, { cookie: marketer });
    return { server, marketer, writer, key, id, testSend };
  }
  async function sink(options: Parameters<typeof startSmtpSink>[0] = {}) {
    const s = await startSmtpSink(options);
    sinks.push(s);
    return s;
  }
  const errorOf = (html: string) =>
    /<div class="alert alert--error"[^>]*>\s*<p[^>]*>([^<]*)<\/p>/
      .exec(html)?.[1]
      ?.replace(/&#39;|&#x27;/g, "'")
      .replace(/&#8217;/g, '’') ?? '';

  it('a relay with a self-signed certificate: refused with the TLS error and what fixes it, on the test-send result, over the API and on the progress page', async () => {
    const relay = await sink({ tls: { key: cert.key, cert: cert.cert } });
    const { server, marketer, writer, key, id, testSend } = await shop({ SMTP_URL: relay.url });

    const page = await testSend('me@frobozz.example');
    expect(page.status).toBe(502);
    const shown = errorOf(page.text);
    expect(shown).toContain(
      'The test to me@frobozz.example could not be sent. The mail server answered: ESOCKET: self-signed certificate',
    );
    expect(shown).toContain('SMTP_TLS_CA_FILE');
    expect(shown).not.toContain('--use-system-ca');

    const api = await request(server, `/api/issues/${id}/test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: ['me@frobozz.example'] }),
    });
    expect(api.status).toBe(502);
    expect(JSON.parse(api.text)).toMatchObject({
      error: 'mail_failed',
      message: expect.stringContaining('self-signed certificate'),
    });

    // A real send: each delivery fails after its attempts, and the progress page says what the relay did.
    await withDatabase(server.databaseUrl, (db) =>
      seedSubscribers(db, 3, { email: (i) => `tls-reader${i}@example.com` }),
    );
    expect(
      (
        await request(server, `/api/issues/${id}/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(202);
    await eventually(
      async () =>
        JSON.parse(
          (await request(server, `/api/issues/${id}/progress`, { headers: { authorization: `Bearer ${key}` } })).text,
        ).counts.failed === 3,
      'the deliveries to fail',
    );
    const progress = await request(server, `/admin/issues/${id}/progress`, { cookie: marketer });
    expect(progress.text).toContain('What the mail server answered');
    expect(progress.text).toMatch(
      /<li><strong>3 messages<\/strong> failed: <code>gave up after 2 attempts: ESOCKET: self-signed certificate \(the relay’s TLS certificate is not trusted here/,
    );
    // Writers follow progress; the relay's answers are for those who send.
    expect((await request(server, `/admin/issues/${id}/progress`, { cookie: writer })).text).not.toContain(
      'What the mail server answered',
    );
    expect(relay.messages).toHaveLength(0);
  });

  it('the relay refuses: its own answer is shown word for word', async () => {
    const relay = await sink({
      respond: (rcpt) =>
        rcpt.startsWith('outside')
          ? { code: 550, message: '5.7.1 Relaying denied for <outside@elsewhere.example>' }
          : null,
    });
    const { testSend } = await shop({ SMTP_URL: relay.url });
    const page = await testSend('inside@frobozz.example, outside@elsewhere.example');
    expect(page.status).toBe(502);
    expect(errorOf(page.text)).toBe(
      'The test to outside@elsewhere.example could not be sent (sent to inside@frobozz.example before that). The mail server answered: 550 5.7.1 Relaying denied for &lt;outside@elsewhere.example&gt;',
    );
    expect(relay.envelopes.map((e) => e.rcptTo)).toEqual([['inside@frobozz.example']]);
  });

  it('STARTTLS to a self-signed relay, trusted with SMTP_TLS_CA_FILE: delivered over TLS', async () => {
    const relay = await sink({ tls: { key: cert.key, cert: cert.cert } });
    const { testSend } = await shop({ SMTP_URL: `${relay.url}?requireTLS=true`, SMTP_TLS_CA_FILE: cert.certFile });
    const page = await testSend('me@frobozz.example');
    expect(errorOf(page.text)).toBe('');
    expect(page.text).toContain('Test sent to me@frobozz.example.');
    expect(relay.envelopes).toMatchObject([{ rcptTo: ['me@frobozz.example'], secure: true }]);
  });

  it('smtps:// (TLS from the first byte) to a self-signed relay, trusted with SMTP_TLS_CA_FILE: delivered', async () => {
    const relay = await sink({ tls: { key: cert.key, cert: cert.cert, implicit: true } });
    expect(relay.url).toMatch(/^smtps:\/\//);
    const { testSend } = await shop({ SMTP_URL: relay.url, SMTP_TLS_CA_FILE: cert.certFile });
    expect((await testSend('me@frobozz.example')).text).toContain('Test sent to me@frobozz.example.');
    expect(relay.envelopes).toMatchObject([{ secure: true }]);
  });

  it('requireTLS against a relay without STARTTLS: refused, nothing sent in the clear', async () => {
    const relay = await sink();
    const { testSend } = await shop({ SMTP_URL: `${relay.url}?requireTLS=true` });
    const page = await testSend('me@frobozz.example');
    expect(page.status).toBe(502);
    expect(errorOf(page.text)).toMatch(
      /The mail server answered: .*the relay would not start TLS, and SMTP_URL asks for it/,
    );
    expect(relay.messages).toHaveLength(0);
  });

  it('SMTP_TLS_CA_FILE that is missing or holds no certificate stops the server naming the variable', () => {
    expect(() => loadConfig({ SMTP_TLS_CA_FILE: '/nonexistent/relay.pem' })).toThrow(/SMTP_TLS_CA_FILE: no such file/);
    const notPem = `${cert.keyFile}.txt`;
    writeFileSync(notPem, 'not a certificate');
    expect(() => loadConfig({ SMTP_TLS_CA_FILE: notPem })).toThrow(
      /SMTP_TLS_CA_FILE: the file does not hold a PEM certificate/,
    );
    expect(loadConfig({ SMTP_TLS_CA_FILE: cert.certFile }).smtpTlsCa).toBe(cert.cert);
  });
});
