import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { subscriberPage } from '#lib/subscribers/subscriber-list.service.ts';
import { parseApiSubscribers } from '#lib/subscribers/api.service.ts';
import { describeEvent } from '#admin/timeline.ts';
import type { SubscriberStatus } from '#lib/db/schema.ts';

const t0 = Date.UTC(2026, 10, 1);
const statuses: SubscriberStatus[] = ['active', 'active', 'pending', 'unsubscribed', 'bounced'];

describeEachDatabase('the admin subscriber list', (db) => {
  it('pages newest first by keyset, both ways, with filters and counts', async () => {
    // 130 people: every 5th status in turn, every 3rd on "offers", names "Person 1".."Person 130".
    for (let start = 1; start <= 130; start += 50) {
      const rows = Array.from({ length: Math.min(50, 131 - start) }, (_, i) => start + i).map((n) => ({
        email: `p${n}@example.com`,
        name: n === 77 ? 'Zoë 100%_sure' : `Person ${n}`,
        status: statuses[n % 5]!,
        created_at: t0 + n,
        updated_at: t0 + n,
      }));
      const ids = await db().insertInto('subscribers').values(rows).returning(['id', 'email']).execute();
      const topics = ids
        .filter((r) => Number(r.email.slice(1).split('@')[0]) % 3 === 0)
        .map((r) => ({ subscriber_id: Number(r.id), topic: 'offers' }));
      await db().insertInto('subscriber_topics').values(topics).execute();
    }

    const first = await subscriberPage(db(), {}, {});
    expect(first.rows.map((r) => r.email).slice(0, 2)).toEqual(['p130@example.com', 'p129@example.com']);
    expect(first.rows).toHaveLength(50);
    expect(first).toMatchObject({
      newer: undefined,
      total: 130,
      matching: 130,
      byStatus: { active: 52, pending: 26, unsubscribed: 26, bounced: 26, complained: 0 },
    });
    expect(first.rows.find((r) => r.email === 'p129@example.com')!.topics).toEqual(['offers']);

    const second = await subscriberPage(db(), {}, { before: first.older });
    expect(second.rows[0]!.email).toBe('p80@example.com');
    const third = await subscriberPage(db(), {}, { before: second.older });
    expect(third.rows.map((r) => r.email)).toHaveLength(30);
    expect(third.older).toBeUndefined();
    expect(third.rows.at(-1)!.email).toBe('p1@example.com');
    const back = await subscriberPage(db(), {}, { after: third.newer });
    expect(back.rows.map((r) => r.email)).toEqual(second.rows.map((r) => r.email));
    const top = await subscriberPage(db(), {}, { after: back.newer });
    expect(top.rows.map((r) => r.email)).toEqual(first.rows.map((r) => r.email));
    expect(top.newer).toBeUndefined();

    const offers = await subscriberPage(db(), { topic: 'offers', status: 'active' }, {});
    expect(offers.matching).toBe(offers.rows.length);
    expect(offers.rows.every((r) => r.status === 'active' && r.topics.includes('offers'))).toBe(true);
    expect(offers.matching).toBe(
      Array.from({ length: 130 }, (_, i) => i + 1).filter((n) => n % 3 === 0 && statuses[n % 5] === 'active').length,
    );

    expect((await subscriberPage(db(), { search: 'PERSON 12' }, {})).rows.map((r) => r.email)).toEqual([
      'p129@example.com',
      'p128@example.com',
      'p127@example.com',
      'p126@example.com',
      'p125@example.com',
      'p124@example.com',
      'p123@example.com',
      'p122@example.com',
      'p121@example.com',
      'p120@example.com',
      'p12@example.com',
    ]);
    expect((await subscriberPage(db(), { search: '100%_' }, {})).rows.map((r) => r.email)).toEqual(['p77@example.com']);
    expect((await subscriberPage(db(), { search: '%' }, {})).rows.map((r) => r.email)).toEqual(['p77@example.com']);
    expect((await subscriberPage(db(), { search: 'p7@' }, {})).matching).toBe(1);
  });
});

describe('the subscriber API body', () => {
  it('takes one object or an array, and names every field that is wrong', () => {
    expect(parseApiSubscribers({ email: 'a@example.com' })).toEqual({ ok: true, rows: [{ email: 'a@example.com' }] });
    expect(
      parseApiSubscribers([
        { email: 'a@example.com', status: 'active', consent_note: 'CRM', topics: ['guides'], name: null },
      ]),
    ).toMatchObject({ ok: true });
    expect(
      parseApiSubscribers([
        { email: 5 },
        { email: 'b@example.com', status: 'subscribed', consentNote: 'x' },
        'c@example.com',
      ]),
    ).toEqual({
      ok: false,
      message: expect.any(String),
      fields: {
        '0.email': 'must be a string',
        '1.status': expect.stringMatching(/"pending".*"active"/),
        '1.consentNote': expect.stringMatching(/not a field/),
        '2': 'must be an object',
      },
    });
    expect(parseApiSubscribers([])).toMatchObject({ ok: false, message: expect.stringMatching(/empty/) });
    expect(parseApiSubscribers('a@example.com')).toMatchObject({ ok: false, message: expect.stringMatching(/object/) });
    expect(parseApiSubscribers(Array.from({ length: 10_001 }, () => ({ email: 'x@example.com' })))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/At most 10,000/),
    });
  });
});

describe('the subscriber timeline in words', () => {
  it('describes known events and shows unknown ones with every detail', () => {
    expect(describeEvent({ at: 1, kind: 'unsubscribed', detail: '{"via":"one-click","issue":4}' })).toMatchObject({
      title: 'Unsubscribed',
      details: [
        ['Through', expect.stringMatching(/one click/)],
        ['Issue', '4'],
      ],
    });
    expect(
      describeEvent({ at: 1, kind: 'added', detail: '{"by":"user:3","form":"admin","reason":"paper form"}' }, (by) =>
        by === 'user:3' ? 'Mira' : by,
      ),
    ).toMatchObject({
      title: 'Added as already confirmed',
      details: [
        ['By', 'Mira'],
        ['Through', 'admin'],
        ['Consent note', 'paper form'],
      ],
    });
    expect(
      describeEvent({ at: 1, kind: 'link_clicked', detail: '{"url":"https://x.example/","human":true}' }),
    ).toMatchObject({
      title: 'Link clicked',
      details: [
        ['Url', 'https://x.example/'],
        ['Human', 'yes'],
      ],
    });
    expect(describeEvent({ at: 1, kind: 'odd', detail: 'not json' })).toMatchObject({
      title: 'Odd',
      details: [['Detail', 'not json']],
    });
  });
});
