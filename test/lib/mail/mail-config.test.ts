import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#lib/config.ts';
import { createAppContext } from '#lib/app/context.ts';

describe('mail configuration', () => {
  it('has defaults: no sender (Settings name one), a pool of 5, no rate limit; an empty MAIL_FROM is none', () => {
    expect(loadConfig({}).mail).toEqual({ from: undefined, poolSize: 5, ratePerSecond: undefined });
    expect(loadConfig({ MAIL_FROM: '' }).mail.from).toBeUndefined();
    expect(Object.isFrozen(loadConfig({}).mail)).toBe(true);
  });

  it('reads MAIL_FROM, SMTP_POOL_SIZE and SMTP_RATE_PER_SECOND', () => {
    const config = loadConfig({ MAIL_FROM: 'news@frobozz.example', SMTP_POOL_SIZE: '2', SMTP_RATE_PER_SECOND: '10' });
    expect(config.mail).toEqual({ from: 'news@frobozz.example', poolSize: 2, ratePerSecond: 10 });
  });

  it('fails naming each invalid mail variable', () => {
    expect(() => loadConfig({ MAIL_FROM: 'not an address' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ MAIL_FROM: 'a@b.c, d@e.f' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ SMTP_POOL_SIZE: '0' })).toThrow(/SMTP_POOL_SIZE/);
    expect(() => loadConfig({ SMTP_RATE_PER_SECOND: 'fast' })).toThrow(/SMTP_RATE_PER_SECOND/);
  });

  it('gives the app context an outbox mailer under DATA_DIR without SMTP_URL, closed with the context', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'footfall-ctx-'));
    const app = createAppContext(loadConfig({ DATA_DIR: dataDir }));
    try {
      expect(app.mailer.mode).toBe('outbox');
      const sent = await app.mailer.send({
        to: 'jo@example.com',
        from: 'shop@example.com',
        subject: 'Hi',
        html: '<p>Hi</p>',
      });
      expect(readdirSync(path.join(dataDir, 'outbox'))).toEqual([sent.file]);
    } finally {
      await app.close();
    }
    await expect(
      app.mailer.send({ to: 'jo@example.com', from: 'shop@example.com', subject: 'Hi', html: '<p>Hi</p>' }),
    ).rejects.toThrow(/closed/);
  });
});
