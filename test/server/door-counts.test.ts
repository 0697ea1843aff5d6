import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, postForm, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { floodPost } from '../helpers/hostile-http.ts';
import { doorFigures } from '../helpers/door.ts';

const SECRET = 'door-counts-webhook-secret-0123456';
const Q = 15 * 60_000;

for (const dialect of testDialects()) {
  describe(`door counts over HTTP [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let admin: string;
    let marketer: string;
    const auth = { authorization: `Bearer ${SECRET}` };
    // Quarter hours of the last day, so every interval is recent and none in the future.
    const base = Math.floor((Date.now() - 86_400_000) / Q) * Q;

    const post = (body: string, headers: Record<string, string> = auth) =>
      request(server, '/api/webhooks/door-counts', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const stored = () =>
      withDatabase(server.databaseUrl, (db) =>
        db
          .selectFrom('door_counts')
          .select(['from_at', 'to_at', 'count_in', 'count_out', 'source'])
          .orderBy('from_at')
          .execute(),
      );
    const figures = () => withDatabase(server.databaseUrl, (db) => doorFigures(db));
    const totalIn = async () => {
      const { maintained } = await figures();
      return Number(
        /^door\.in~t@0=(\d+)$/.exec(maintained.find((m) => m.startsWith('door.in~t@')) ?? 'door.in~t@0=0')![1],
      );
    };

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-door-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { DOOR_COUNTS_WEBHOOK_SECRET: SECRET },
      });
      await withDatabase(server.databaseUrl, (db) =>
        db
          .insertInto('settings')
          .values({ key: 'timeZone', value: '"UTC"', updated_at: 0, updated_by: null })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: '"UTC"' }))
          .execute(),
      );
      admin = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'admin@example.com', 'admin'),
      );
      marketer = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'm@example.com', 'marketer'),
      );
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('an admin names the counters in Settings; a marketer may not', async () => {
      const page = await request(server, '/admin/settings/doors', { cookie: admin });
      expect(page.status).toBe(200);
      expect(page.text).toContain('/api/webhooks/door-counts');
      expect(page.text).toContain('a secret is configured');
      expect(page.text).not.toContain(SECRET);
      const added = await postForm(
        server,
        '/admin/settings/doors',
        'doors.add',
        { key: 'Front', name: 'Front door', staffPerDay: '0', openingHours: '' },
        { cookie: admin },
      );
      expect(
        added.status,
        /<main[\s\S]*<\/main>/
          .exec(added.text)?.[0]
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 600),
      ).toBe(200);
      expect(added.text).toContain('<code>front</code>');
      const bad = await postForm(
        server,
        '/admin/settings/doors',
        'doors.add',
        { key: 'side', name: 'Side', staffPerDay: '0', openingHours: 'weekdays 9-5' },
        { cookie: admin },
      );
      expect(bad.text).toContain('is not “Mon-Fri 09:00-17:30”');
      await postForm(
        server,
        '/admin/settings/doors',
        'doors.add',
        { key: 'side', name: 'Side door', staffPerDay: '0', openingHours: '' },
        { cookie: admin },
      );
      const denied = await postForm(
        server,
        '/admin/settings/doors',
        'doors.add',
        { key: 'back', name: 'Back', staffPerDay: '0', openingHours: '' },
        { cookie: marketer },
      );
      expect(denied.status).not.toBe(200);
      expect(
        await withDatabase(server.databaseUrl, (db) =>
          db.selectFrom('door_counters').select('key').orderBy('key').execute(),
        ),
      ).toEqual([{ key: 'front' }, { key: 'side' }]);
    });

    it('one count and a list are stored; a replay is 200 and stores nothing more; a correction moves the counts', async () => {
      const one = await post(
        JSON.stringify({
          counter: 'front',
          from: new Date(base).toISOString(),
          to: new Date(base + Q).toISOString(),
          in: 7,
          out: 5,
        }),
      );
      expect(one.status, one.text).toBe(201);
      expect(JSON.parse(one.text)).toEqual({ stored: 1, replaced: 0, unchanged: 0 });
      const list = [1, 2, 3].map((i) => ({ counter: 'side', from: base + i * Q, to: base + (i + 1) * Q, in: i * 2 }));
      const many = await post(JSON.stringify(list), { 'x-webhook-secret': SECRET });
      expect(many.status).toBe(201);
      expect(await totalIn()).toBe(7 + 2 + 4 + 6);
      const replay = await post(JSON.stringify(list));
      expect(replay.status).toBe(200);
      expect(JSON.parse(replay.text)).toEqual({ stored: 0, replaced: 0, unchanged: 3 });
      expect(await stored()).toHaveLength(4);
      const fix = await post(JSON.stringify({ counter: 'front', from: base, to: base + Q, in: 3, out: 5 }));
      expect(fix.status).toBe(201);
      expect(JSON.parse(fix.text)).toEqual({ stored: 0, replaced: 1, unchanged: 0 });
      expect(await totalIn()).toBe(3 + 2 + 4 + 6);
      expect((await stored())[0]).toMatchObject({ count_in: 3, source: 'webhook' });
      const { maintained, direct } = await figures();
      expect(maintained).toEqual(direct);
    });

    it('bad secret, wrong content type, 5 MB, bad fields, unknown counter, overlap: 4xx with the field, nothing stored', async () => {
      const before = await figures();
      const rows = (await stored()).length;
      const good = JSON.stringify({ counter: 'front', from: base + 10 * Q, to: base + 11 * Q, in: 1 });
      expect((await post(good, { authorization: 'Bearer wrong-secret-wrong-secret' })).status).toBe(401);
      expect((await post(good, {})).status).toBe(401);
      const form = await request(server, '/api/webhooks/door-counts', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
        body: 'counter=front',
      });
      // The secret is checked first (the handler: rate limit, secret, then content type): with the
      // right one, a body that is not JSON is 415; with a wrong one, 401 whatever the type.
      expect(form.status, form.text).toBe(415);
      expect(JSON.parse(form.text)).toMatchObject({ error: 'unsupported_media_type' });
      const text = await request(server, '/api/webhooks/door-counts', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...auth },
        body: good,
      });
      expect(text.status, text.text).toBe(415);
      const textWithoutSecret = await request(server, '/api/webhooks/door-counts', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: 'Bearer wrong-secret-wrong-secret' },
        body: good,
      });
      expect(textWithoutSecret.status).toBe(401);
      const big = await floodPost(server, '/api/webhooks/door-counts', {
        totalBytes: 5 * 1024 * 1024,
        headers: { 'content-type': 'application/json', ...auth },
      });
      expect(big.status).toBe(413);
      const fields = async (body: unknown) => {
        const answer = await post(JSON.stringify(body));
        expect(answer.status, answer.text).toBe(400);
        return JSON.parse(answer.text).fields as Record<string, string>;
      };
      expect(await fields({ counter: 'front', from: base, to: base - Q, in: 1 })).toEqual({ to: 'must be after from' });
      expect(await fields({ counter: 'front', from: base, to: base + Q, in: -1 })).toMatchObject({
        in: expect.stringMatching(/whole number/),
      });
      expect(await fields({ counter: 'front', from: base, to: base + Q })).toMatchObject({
        in: expect.stringMatching(/required/),
      });
      expect(await fields({ counter: 'front', from: '2026-11-26 10:00', to: base + Q, in: 1 })).toMatchObject({
        from: expect.stringMatching(/offset/),
      });
      expect(await fields({ counter: 'front', from: Math.floor(base / 1000), to: base, in: 1 })).toMatchObject({
        from: expect.stringMatching(/seconds/),
      });
      expect(
        await fields({ counter: 'front', from: Date.now() + 3_600_000, to: Date.now() + 2 * 3_600_000, in: 1 }),
      ).toEqual({ to: 'is in the future' });
      expect(await fields({ counter: 'back', from: base, to: base + Q, in: 1 })).toMatchObject({
        counter: expect.stringContaining('no counter "back"'),
      });
      // A list with one bad entry stores none of it.
      expect(
        await fields([
          { counter: 'front', from: base + 20 * Q, to: base + 21 * Q, in: 1 },
          { counter: 'front', from: base, to: base + Q, in: 'x' },
        ]),
      ).toEqual({ '[1].in': 'must be a whole number from 0 to 100000' });
      expect(
        await fields([
          { counter: 'front', from: base + 20 * Q, to: base + 21 * Q, in: 1 },
          { counter: 'front', from: base + 20 * Q, to: base + 21 * Q, in: 2 },
        ]),
      ).toEqual({ '[1].from': 'the same counter and interval as [0]' });
      expect(await fields({ counter: 'side', from: base + Q, to: base + 3 * Q, in: 1 })).toMatchObject({
        from: expect.stringContaining('overlaps'),
      });
      expect(await fields(new Array(1001).fill({ counter: 'front', from: base, to: base + Q, in: 1 }))).toMatchObject({
        body: expect.stringContaining('at most 1000'),
      });
      expect(await fields('{')).toBeDefined();
      expect((await stored()).length).toBe(rows);
      expect(await figures()).toEqual(before);
    });

    it('a counter export through the CSV import: upload → dry run with counts and rejected rows → import', async () => {
      const day = new Date(base - 86_400_000).toISOString().slice(0, 10);
      const csv = [
        'time,in,out,door',
        `${day} 09:00,4,3,front`,
        `${day} 09:15,6,,side`,
        'yesterday,1,1,front',
        `${day} 09:30,2,2,back`,
        '',
      ].join('\n');
      const form = new FormData();
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'counter.csv');
      const uploaded = await request(server, '/admin/offline-events/door-import?_action=doors.upload', {
        method: 'POST',
        headers: { origin: server.url },
        body: form,
        cookie: marketer,
      });
      expect(uploaded.status, uploaded.text.slice(0, 300)).toBe(303);
      const upload = /\?upload=([0-9a-f]{32})$/.exec(uploaded.location ?? '')![1]!;
      const preview = await request(server, uploaded.location!, { cookie: marketer });
      expect(preview.text).toContain('counter.csv');
      const rows = (await stored()).length;
      const mapping = { upload, delimiter: 'comma', time: '0', end: 'min:15', in: '1', out: '2', counter: '3' };
      const dry = await request(
        server,
        `/admin/offline-events/door-import?${new URLSearchParams({ ...mapping, run: '1' })}`,
        { cookie: marketer },
      );
      expect(dry.status).toBe(200);
      const count = (name: string) => Number(new RegExp(`data-count="${name}"[^>]*>(\\d+)<`).exec(dry.text)![1]);
      expect([count('rows'), count('new'), count('rejected')]).toEqual([4, 2, 2]);
      expect(dry.text).toContain('no counter “back” in Settings');
      expect(dry.text).toContain('the time: not a time: &quot;yesterday&quot;');
      // The dry run stored nothing.
      expect((await stored()).length).toBe(rows);
      const done = await postForm(server, '/admin/offline-events/door-import', 'doors.import', mapping, {
        cookie: marketer,
      });
      expect(done.status).toBe(200);
      expect(done.text).toContain('Imported 2 intervals from counter.csv');
      const after = await stored();
      expect(after.length).toBe(rows + 2);
      expect(after.filter((r) => r.source === 'csv')).toHaveLength(2);
      const { maintained, direct } = await figures();
      expect(maintained).toEqual(direct);
      // The Offline events page shows the day's counted people beside the tapped walk-ins.
      const offline = await request(server, `/admin/offline-events?from=${day}&to=${day}`, { cookie: marketer });
      expect(offline.status).toBe(200);
      expect(offline.text).toContain('People through the door by day');
      expect(/data-total="in"[^>]*>(\d+)</.exec(offline.text)?.[1]).toBe('10');
    });
  });
}
