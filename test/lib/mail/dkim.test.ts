import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#lib/config.ts';
import { createMailer } from '#lib/mail/mailer.ts';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'footfall-dkim-'));
const keyFile = path.join(dir, 'dkim.pem');
const notAKey = path.join(dir, 'not-a-key.pem');

describe('DKIM signing', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(notAKey, 'hello\n');
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink?.close();
  });

  it('is configured by DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE together, or not at all', () => {
    expect(loadConfig({}).dkim).toBeUndefined();
    const config = loadConfig({
      DKIM_DOMAIN: 'Frobozz.example',
      DKIM_SELECTOR: 'footfall2026',
      DKIM_PRIVATE_KEY_FILE: keyFile,
    });
    expect(config.dkim).toMatchObject({
      domainName: 'frobozz.example',
      keySelector: 'footfall2026',
      privateKey: expect.stringContaining('PRIVATE KEY'),
    });
    expect(() => loadConfig({ DKIM_DOMAIN: 'frobozz.example' })).toThrow(
      /DKIM_SELECTOR, DKIM_PRIVATE_KEY_FILE: DKIM signing needs/,
    );
    expect(() =>
      loadConfig({
        DKIM_DOMAIN: 'frobozz.example',
        DKIM_SELECTOR: 's',
        DKIM_PRIVATE_KEY_FILE: path.join(dir, 'missing.pem'),
      }),
    ).toThrow(/DKIM_PRIVATE_KEY_FILE: no such file/);
    expect(() =>
      loadConfig({ DKIM_DOMAIN: 'frobozz.example', DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY_FILE: notAKey }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ DKIM_DOMAIN: 'not a domain', DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY_FILE: keyFile }),
    ).toThrow(/DKIM_DOMAIN/);
  });

  it('signs what the mailer sends over SMTP (d= the domain, s= the selector)', async () => {
    const { dkim } = loadConfig({
      DKIM_DOMAIN: 'frobozz.example',
      DKIM_SELECTOR: 'footfall2026',
      DKIM_PRIVATE_KEY_FILE: keyFile,
    });
    const mailer = createMailer({ smtpUrl: sink.url, outboxDir: dir, dkim });
    try {
      await mailer.send({
        to: 'jo@example.com',
        from: 'Frobozz Electric <news@frobozz.example>',
        subject: 'Signed',
        html: '<p>Hello</p>',
      });
    } finally {
      await mailer.close();
    }
    const [mail] = await sink.waitFor(1);
    const signature = mail!.headerLines.find((h) => h.key === 'dkim-signature')?.line.replace(/\r?\n\s+/g, ' ');
    expect(signature).toMatch(/d=frobozz\.example;/);
    expect(signature).toMatch(/s=footfall2026;/);
    expect(signature).toMatch(/a=rsa-sha256;/);
  });
});
