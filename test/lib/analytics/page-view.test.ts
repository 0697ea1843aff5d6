import { describe, expect, it } from 'vitest';
import { cleanText, describePageView, deviceClass, isCountedPath } from '#lib/analytics/page-view.ts';
import { VisitorHasher, SALT_MAX_AGE_MS } from '#lib/analytics/visitor-hash.service.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1';

describe('describePageView', () => {
  it('keeps path, utm_* and the external referrer host; nothing else', () => {
    const row = describePageView(
      {
        url: '/articles/x/?utm_source=newsletter&utm_medium=email&utm_campaign=may-issue&utm_content=3&utm_term=w&fbclid=zzz',
        referrer: 'https://mail.example.com/inbox?id=1',
        userAgent: chrome,
        ownHost: 'shop.test',
      },
      42,
    );
    expect(row).toEqual({
      at: 42,
      path: '/articles/x/',
      referrer_host: 'mail.example.com',
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'may-issue',
      utm_content: '3',
      utm_term: 'w',
      device: 'desktop',
      is_bot: 0,
    });
  });

  it('drops our own host as referrer and flags bots and missing agents', () => {
    expect(
      describePageView({ url: '/', referrer: 'http://shop.test/a', userAgent: chrome, ownHost: 'shop.test' }, 1)
        .referrer_host,
    ).toBeNull();
    expect(
      describePageView(
        {
          url: '/',
          referrer: 'not a url',
          userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)',
          ownHost: undefined,
        },
        1,
      ).is_bot,
    ).toBe(1);
    expect(
      describePageView({ url: '/', referrer: undefined, userAgent: undefined, ownHost: undefined }, 1),
    ).toMatchObject({ is_bot: 1, device: 'unknown' });
  });

  it('bounds and cleans hostile input', () => {
    const row = describePageView(
      {
        url: `/a%00b/%FF?utm_campaign=${'x'.repeat(10_000)}`,
        referrer: undefined,
        userAgent: iphone,
        ownHost: undefined,
      },
      1,
    );
    expect(row.utm_campaign).toHaveLength(200);
    expect(row.path).not.toContain('\0');
    expect(row.device).toBe('mobile');
    expect(cleanText('a\uD800b')).toBe('a\uFFFDb');
  });

  it('counts public pages only', () => {
    for (const p of ['/', '/articles/x/', '/tags/care/', '/subscribe']) expect(isCountedPath(p)).toBe(true);
    for (const p of [
      '/admin',
      '/admin/users',
      '/api/x',
      '/_actions/y',
      '/_astro/a.css',
      '/healthz',
      '/rss.xml',
      '/t/o/x',
      '/sitemap-index.xml',
    ])
      expect(isCountedPath(p)).toBe(false);
  });

  it('classifies devices', () => {
    expect(deviceClass(chrome)).toBe('desktop');
    expect(deviceClass(iphone)).toBe('mobile');
    expect(deviceClass('Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)')).toBe('tablet');
  });
});

describeEachDatabase('visitor hashing', (db) => {
  const day = 86_400_000;
  const t0 = Date.UTC(2026, 10, 2, 10);

  it('is stable within a day, differs across days and agents, never contains the address', async () => {
    const hasher = new VisitorHasher(db());
    const a = await hasher.hash('203.0.113.9', chrome, t0);
    expect(await hasher.hash('203.0.113.9', chrome, t0 + 3_600_000)).toBe(a);
    expect(await hasher.hash('203.0.113.9', iphone, t0)).not.toBe(a);
    expect(await hasher.hash('203.0.113.9', chrome, t0 + day)).not.toBe(a);
    expect(a).not.toContain('203');
    // a second process (another hasher on the same database) agrees on today's salt
    expect(await new VisitorHasher(db()).hash('203.0.113.9', chrome, t0 + 60_000)).toBe(a);
  });

  it('deletes salts older than 48 hours', async () => {
    const hasher = new VisitorHasher(db());
    await hasher.saltFor(t0 + 5 * day);
    const days = (await db().selectFrom('visitor_salts').select(['day', 'created_at']).execute()).map(
      (r) => r.created_at,
    );
    expect(days.every((created) => created >= t0 + 5 * day - SALT_MAX_AGE_MS)).toBe(true);
  });
});
