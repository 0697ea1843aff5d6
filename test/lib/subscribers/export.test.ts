import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import type { DB } from '#lib/db/database.ts';
import type { SubscriberStatus } from '#lib/db/schema.ts';
import { EXPORT_CHUNK, exportSubscribersCsv } from '#lib/subscribers/export.service.ts';
import { applyImport, inspectCsv, planImport } from '#lib/subscribers/import.service.ts';
import type { SubscriberFilter } from '#lib/subscribers/subscribers.repository.ts';

const t0 = Date.UTC(2026, 10, 26, 10);
const dir = mkdtempSync(path.join(tmpdir(), 'footfall-export-'));

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

async function exportText(db: DB, filter: SubscriberFilter): Promise<{ text: string; count: number; pieces: number }> {
  let text = '';
  let pieces = 0;
  const count = await exportSubscribersCsv(db, filter, async (piece) => {
    pieces++;
    text += piece;
  });
  return { text, count, pieces };
}

const rowsOf = (text: string) => parse<Record<string, string>>(text, { bom: true, columns: true });

interface Person {
  email: string;
  name?: string | null;
  status: SubscriberStatus;
  topics?: string[];
  campaign?: string | null;
  confirmed?: boolean;
  note?: string | null;
}

async function seed(db: DB, people: Person[]): Promise<void> {
  for (let i = 0; i < people.length; i += 500) {
    const chunk = people.slice(i, i + 500);
    const ids = await db
      .insertInto('subscribers')
      .values(
        chunk.map((p, k) => ({
          email: p.email,
          name: p.name ?? null,
          status: p.status,
          created_at: t0 + i + k,
          updated_at: t0 + i + k,
          confirmed_at: p.confirmed === false ? null : t0 + 60_000,
          source_form: 'home',
          source_campaign: p.campaign ?? null,
          consent_note: p.note ?? null,
        })),
      )
      .returning(['id', 'email'])
      .execute();
    const topics = ids.flatMap((s) =>
      (chunk.find((p) => p.email === s.email)!.topics ?? []).map((topic) => ({ subscriber_id: Number(s.id), topic })),
    );
    if (topics.length > 0) await db.insertInto('subscriber_topics').values(topics).execute();
  }
}

describeEachDatabase('subscriber CSV export', (db) => {
  it('writes the columns in id order, honours status, topic and search filters', async () => {
    await seed(db(), [
      {
        email: 'ann@filters.example',
        name: 'Ann Arbor',
        status: 'active',
        topics: ['guides', 'offers'],
        campaign: 'may-issue',
        note: 'double opt-in via home',
      },
      { email: 'bob@filters.example', name: 'Bob', status: 'unsubscribed', topics: ['guides'] },
      { email: 'cy@filters.example', name: null, status: 'pending', confirmed: false },
      { email: 'dee@filters.example', name: 'Dee Arbor', status: 'active', topics: ['store-news'] },
    ]);
    const active = await exportText(db(), { status: 'active', search: 'filters.example' });
    expect(
      active.text.startsWith(
        '\uFEFFemail,name,status,topics,created_at,confirmed_at,source_form,source_campaign,consent_note\n',
      ),
    ).toBe(true);
    expect(active.count).toBe(2);
    expect(rowsOf(active.text)).toEqual([
      {
        email: 'ann@filters.example',
        name: 'Ann Arbor',
        status: 'active',
        topics: 'guides offers',
        created_at: new Date(t0).toISOString(),
        confirmed_at: new Date(t0 + 60_000).toISOString(),
        source_form: 'home',
        source_campaign: 'may-issue',
        consent_note: 'double opt-in via home',
      },
      expect.objectContaining({ email: 'dee@filters.example', topics: 'store-news' }),
    ]);
    expect(
      rowsOf((await exportText(db(), { topic: 'guides', search: 'filters.example' })).text).map((r) => r.email),
    ).toEqual(['ann@filters.example', 'bob@filters.example']);
    expect(rowsOf((await exportText(db(), { search: 'ARBOR' })).text).map((r) => r.email)).toEqual([
      'ann@filters.example',
      'dee@filters.example',
    ]);
    const pending = rowsOf((await exportText(db(), { status: 'pending', search: 'filters.example' })).text);
    expect(pending).toEqual([
      expect.objectContaining({ email: 'cy@filters.example', name: '', confirmed_at: '', topics: '' }),
    ]);
    const none = await exportText(db(), { search: 'nobody-matches-this' });
    expect(none).toMatchObject({
      count: 0,
      text: '\uFEFFemail,name,status,topics,created_at,confirmed_at,source_form,source_campaign,consent_note\n',
    });
  });

  it('neutralises values a spreadsheet would run as formulas', async () => {
    await seed(db(), [
      {
        email: '-minus@formula.example',
        name: '=HYPERLINK("http://evil.example","click")',
        status: 'active',
        campaign: '+cmd|calc',
        note: '@SUM(A1:A9)',
      },
      { email: 'tab@formula.example', name: '\tTabbed', status: 'active', campaign: '-2+3' },
    ]);
    const { text } = await exportText(db(), { search: 'formula.example' });
    const rows = rowsOf(text);
    expect(rows[0]).toMatchObject({
      email: "'-minus@formula.example",
      name: '\'=HYPERLINK("http://evil.example","click")',
      source_campaign: "'+cmd|calc",
      consent_note: "'@SUM(A1:A9)",
    });
    expect(rows[1]).toMatchObject({ name: "'\tTabbed", source_campaign: "'-2+3" });
    for (const row of rows) for (const value of Object.values(row)) expect(value).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('streams large exports a chunk at a time', async () => {
    const many = Array.from({ length: 2 * EXPORT_CHUNK + 17 }, (_, i) => ({
      email: `m${String(i).padStart(5, '0')}@many.example`,
      status: 'active' as const,
      topics: i % 2 ? ['offers'] : [],
    }));
    await seed(db(), many);
    const result = await exportText(db(), { search: 'many.example' });
    expect(result.count).toBe(many.length);
    expect(result.pieces).toBe(1 + 3);
    const rows = rowsOf(result.text);
    expect(rows.map((r) => r.email)).toEqual(many.map((m) => m.email));
    expect(rows.filter((r) => r.topics === 'offers')).toHaveLength(EXPORT_CHUNK + 8);
  });

  it('round trip: an export imports again as merges only, changing nothing', async () => {
    await seed(db(), [
      { email: 'one@round.example', name: 'Zoë Ünal', status: 'active', topics: ['guides', 'store-news'] },
      { email: '-two@round.example', name: '=Two', status: 'active', topics: ['offers'] },
      { email: 'three@round.example', name: 'Three, Esq.', status: 'pending', confirmed: false },
      { email: 'four@round.example', name: 'Four', status: 'unsubscribed', topics: ['guides'] },
      { email: 'five@round.example', name: 'Five', status: 'bounced' },
    ]);
    const snapshot = () =>
      db().selectFrom('subscribers').selectAll().where('email', 'like', '%round.example').orderBy('id').execute();
    const before = await snapshot();

    const active = path.join(dir, 'active.csv');
    writeFileSync(active, (await exportText(db(), { status: 'active', search: 'round.example' })).text);
    const preview = unwrap(await inspectCsv(active));
    expect(preview.suggested).toEqual({ delimiter: ',', email: 0, name: 1, topics: 3, phone: null });
    const mapping = { ...preview.suggested, email: preview.suggested.email! };
    const plan = unwrap(await planImport(db(), active, mapping, t0 + 1));
    expect(plan.counts).toEqual({
      rows: 2,
      add: 0,
      merge: 2,
      kept_unsubscribed: 0,
      suppressed: 0,
      duplicate_in_file: 0,
      rejected: 0,
      blank: 0,
    });
    expect(plan.unknownTopics).toEqual({});

    const all = path.join(dir, 'all.csv');
    writeFileSync(all, (await exportText(db(), { search: 'round.example' })).text);
    const everything = unwrap(await planImport(db(), all, mapping, t0 + 2));
    expect(everything.counts).toEqual({
      rows: 5,
      add: 0,
      merge: 3,
      kept_unsubscribed: 2,
      suppressed: 0,
      duplicate_in_file: 0,
      rejected: 0,
      blank: 0,
    });
    expect(unwrap(await applyImport(db(), everything, { consentNote: 'round trip', actor: 'user:1' }, t0 + 3))).toEqual(
      { added: 0, merged: 3, kept_unsubscribed: 0, suppressed: 0 },
    );
    expect(await snapshot()).toEqual(before);
    const topics = await db()
      .selectFrom('subscriber_topics')
      .innerJoin('subscribers', 'subscribers.id', 'subscriber_topics.subscriber_id')
      .select(['email', 'topic'])
      .where('email', 'like', '%round.example')
      .orderBy('email')
      .orderBy('topic')
      .execute();
    expect(topics).toEqual([
      { email: '-two@round.example', topic: 'offers' },
      { email: 'four@round.example', topic: 'guides' },
      { email: 'one@round.example', topic: 'guides' },
      { email: 'one@round.example', topic: 'store-news' },
    ]);
  });
});
