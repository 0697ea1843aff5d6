import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMailer } from '#lib/mail/mailer.ts';
import { countCharacters, hasLongLine, transferEncodingFor } from '#lib/mail/transfer-encoding.ts';

/** The Content-Transfer-Encoding nodemailer gives each body part when it decides itself. */
async function encodingsChosenByTheMailer(html: string, text: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-encoding-'));
  const mailer = createMailer({ outboxDir: dir });
  const sent = await mailer.send({ to: 'jo@example.com', from: 'news@frobozz.example', subject: 'S', html, text });
  await mailer.close();
  const bytes = readFileSync(path.join(dir, sent.file!), 'latin1');
  return [...bytes.matchAll(/^Content-Transfer-Encoding: (\S+)/gim)].map((m) => m[1]!.toLowerCase());
}

const decided = (body: string) => transferEncodingFor(countCharacters(body), hasLongLine(body)) ?? '7bit';

describe('a text body’s transfer encoding', () => {
  it('is what nodemailer chooses: 7bit, quoted-printable for mostly Latin text, base64 for mostly other', async () => {
    const bodies = [
      'Short ASCII lines\r\nonly.',
      `<p>${'A long ASCII line. '.repeat(8)}</p>`,
      'Grüße aus Köln, à bientôt',
      '日本語のテキストです。'.repeat(20),
      'Зимние виджеты: скидки до 30 % на все модели',
      `ab\u0001cd`,
      '=== 12345 ==='.repeat(10),
    ];
    const expected = ['7bit', 'quoted-printable', 'quoted-printable', 'base64', 'base64', 'quoted-printable', 'base64'];
    expect(bodies.map(decided)).toEqual(expected);
    for (const [i, body] of bodies.entries())
      expect(await encodingsChosenByTheMailer(body, body), body).toEqual([expected[i], expected[i]]);
  });

  it('adds counts up: a template’s parts plus its inserted values count as the filled body', () => {
    const [a, b, c, x, y] = ['<p>Grüße ', ' und ', '</p>', 'https://frobozz.example/t/c/abc', 'ÄÖÜ'];
    const counts = { letters: 0, others: 0 };
    for (const text of [a, b, c, x, y]) countCharacters(text, counts);
    expect(counts).toEqual(countCharacters(a + x + b + y + c));
    expect(counts).toEqual({ letters: 32, others: 5 });
  });
});
