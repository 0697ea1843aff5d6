import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, request, sessionCookie, withDatabase, type Answer } from '../helpers/accounts.ts';
import { subscriberCount, subscriberIn } from '../helpers/subscribers.ts';
import { floodPost } from '../helpers/hostile-http.ts';
import { emailHash } from '../../src/lib/subscribers/email-address.ts';

/**
 * The admin's subscriber pages over real HTTP, as a marketer: the table (search, filters,
 * keyset pages), adding with a stated reason, the subscriber page, erasing, the CSV export,
 * the import (upload → dry run → apply in the background → report).
 */
describe('the subscriber admin over HTTP', () => {
  let server: RunningServer;
  let marketer: string;
  const t0 = Date.UTC(2026, 9, 1);

  beforeAll(async () => {
    server = await startServer();
    marketer = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
    );
    // 120 people: p1 (oldest) … p120 (newest); every 4th unsubscribed, every 3rd on "offers".
    await withDatabase(server.databaseUrl, async (db) => {
      const rows = Array.from({ length: 120 }, (_, i) => i + 1).map((n) => ({
        email: `p${n}@example.com`,
        name: `Person ${n}`,
        status: n % 4 === 0 ? ('unsubscribed' as const) : ('active' as const),
        created_at: t0 + n * 60_000,
        updated_at: t0 + n * 60_000,
        source_form: 'home',
      }));
      const ids = await db.insertInto('subscribers').values(rows).returning(['id', 'email']).execute();
      await db
        .insertInto('subscriber_topics')
        .values(
          ids
            .filter((r) => Number(r.email.slice(1).split('@')[0]) % 3 === 0)
            .map((r) => ({ subscriber_id: Number(r.id), topic: 'offers' })),
        )
        .execute();
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const get = (path: string, cookie = marketer) => request(server, path, { cookie });
  /** A same-origin form post of an action, fields repeated for arrays (topics). */
  function post(
    page: string,
    action: string,
    fields: Record<string, string | string[]>,
    cookie = marketer,
  ): Promise<Answer> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
    return request(server, `${page}${page.includes('?') ? '&' : '?'}_action=${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: body.toString(),
      cookie,
    });
  }
  const emailsIn = (html: string) =>
    [...html.matchAll(/<td><a href="\/admin\/subscribers\/\d+">([^<]+)<\/a><\/td>/g)].map((m) => m[1]);
  const hrefOf = (html: string, rel: 'next' | 'prev') =>
    new RegExp(`<a href="([^"]+)" rel="${rel}"`).exec(html)?.[1]?.replace(/&amp;/g, '&');

  it('lists the newest first, with counts by status, and pages older and newer by keyset', async () => {
    const first = await get('/admin/subscribers');
    expect(first.status).toBe(200);
    expect(emailsIn(first.text)).toHaveLength(50);
    expect(emailsIn(first.text).slice(0, 2)).toEqual(['p120@example.com', 'p119@example.com']);
    expect(first.text).toMatch(/All <strong>120<\/strong>/);
    expect(first.text).toMatch(/active <strong>90<\/strong>/);
    expect(first.text).toMatch(/unsubscribed <strong>30<\/strong>/);
    expect(first.text).not.toContain('rel="prev"');

    const older = await get(hrefOf(first.text, 'next')!);
    expect(emailsIn(older.text)[0]).toBe('p70@example.com');
    const oldest = await get(hrefOf(older.text, 'next')!);
    expect(emailsIn(oldest.text)).toHaveLength(20);
    expect(emailsIn(oldest.text).at(-1)).toBe('p1@example.com');
    expect(oldest.text).not.toContain('rel="next"');
    const newer = await get(hrefOf(oldest.text, 'prev')!);
    expect(emailsIn(newer.text)).toEqual(emailsIn(older.text));
  });

  it('searches by address or name, and filters by status and topic, keeping the filter while paging', async () => {
    const search = await get('/admin/subscribers?q=PERSON+11');
    expect(emailsIn(search.text)).toEqual([
      'p119@example.com',
      'p118@example.com',
      'p117@example.com',
      'p116@example.com',
      'p115@example.com',
      'p114@example.com',
      'p113@example.com',
      'p112@example.com',
      'p111@example.com',
      'p110@example.com',
      'p11@example.com',
    ]);
    expect(search.text).toContain('11 match this filter');
    expect(emailsIn((await get('/admin/subscribers?q=p7%40')).text)).toEqual(['p7@example.com']);

    const filtered = await get('/admin/subscribers?status=active&topic=offers');
    const expected = Array.from({ length: 120 }, (_, i) => 120 - i).filter((n) => n % 3 === 0 && n % 4 !== 0);
    expect(filtered.text).toContain(`${expected.length} match this filter`);
    expect(emailsIn(filtered.text)).toEqual(expected.map((n) => `p${n}@example.com`));

    const unsubscribed = await get('/admin/subscribers?status=unsubscribed&q=person');
    expect(emailsIn(unsubscribed.text).every((e) => Number(e!.slice(1).split('@')[0]) % 4 === 0)).toBe(true);
    expect(unsubscribed.text).toContain('30 match this filter');
    // an unknown status or topic is ignored, not an error
    expect(emailsIn((await get('/admin/subscribers?status=nope&topic=%3Cx%3E')).text)).toHaveLength(50);
  });

  it('adds someone as confirmed only with a stated reason, recorded as the consent note', async () => {
    const without = await post('/admin/subscribers', 'subscribersAdmin.add', {
      email: 'walkin@example.com',
      consentNote: '  ',
    });
    expect(without.status).toBe(400);
    expect(without.text).toContain('A consent note is required');
    expect(without.text).toContain('value="walkin@example.com"'); // the form keeps what was typed
    expect(await subscriberIn(server.databaseUrl, 'walkin@example.com')).toBeUndefined();

    const injection = await post('/admin/subscribers', 'subscribersAdmin.add', {
      email: 'a@b.c\r\nBcc: x@y.z',
      consentNote: 'counter',
    });
    expect(injection.status).toBe(400);
    expect(injection.text).toContain('cannot contain line breaks');

    const added = await post('/admin/subscribers', 'subscribersAdmin.add', {
      email: 'Walkin@Example.com',
      name: 'Wanda',
      topics: ['guides', 'store-news'],
      consentNote: 'Signed the list at the counter, 20 Nov 2026',
    });
    expect(added.status).toBe(200);
    expect(added.text).toContain('walkin@example.com is added as an active subscriber');
    expect(await subscriberIn(server.databaseUrl, 'walkin@example.com')).toMatchObject({
      status: 'active',
      name: 'Wanda',
      source_form: 'admin',
      consent_note: 'Signed the list at the counter, 20 Nov 2026',
      topics: ['guides', 'store-news'],
    });
    const again = await post('/admin/subscribers', 'subscribersAdmin.add', {
      email: 'p4@example.com',
      consentNote: 'old list',
    });
    expect(again.text).toContain('p4@example.com unsubscribed earlier');
    expect((await subscriberIn(server.databaseUrl, 'p4@example.com'))?.status).toBe('unsubscribed');
  });

  it('renders names and notes as text: a script in a name stays a string', async () => {
    const script = '<script>alert("x")</script>';
    await post('/admin/subscribers', 'subscribersAdmin.add', {
      email: 'xss@example.com',
      name: script,
      consentNote: `<img src=x onerror=alert(1)> ${script}`,
    });
    const stored = await subscriberIn(server.databaseUrl, 'xss@example.com');
    expect(stored?.name).toBe(script);
    for (const page of ['/admin/subscribers', '/admin/subscribers?q=xss', `/admin/subscribers/${stored!.id}`]) {
      const html = (await get(page)).text;
      expect(html, page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      expect(html, page).not.toContain(script);
      expect(html, page).not.toContain('<img src=x');
    }
  });

  it('shows a subscriber: details, source, consent, the timeline; edits topics and pause; unsubscribes', async () => {
    const wanda = (await subscriberIn(server.databaseUrl, 'walkin@example.com'))!;
    const page = await get(`/admin/subscribers/${wanda.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1 class="page-title">walkin@example.com</h1>');
    expect(page.text).toContain('note: Signed the list at the counter, 20 Nov 2026');
    expect(page.text).toContain('Added as already confirmed');
    expect(page.text).toContain('mara@example.com'); // who added them

    const saved = await post(`/admin/subscribers/${wanda.id}`, 'subscribersAdmin.update', {
      id: String(wanda.id),
      topics: ['offers'],
      paused: 'on',
    });
    expect(saved.text).toContain('Topics and pause saved.');
    expect(await subscriberIn(server.databaseUrl, 'walkin@example.com')).toMatchObject({
      paused: 1,
      topics: ['offers'],
    });
    const gone = await post(`/admin/subscribers/${wanda.id}`, 'subscribersAdmin.unsubscribe', { id: String(wanda.id) });
    expect(gone.text).toContain('Unsubscribed: they get no more newsletters.');
    const after = await get(`/admin/subscribers/${wanda.id}`);
    expect(after.text).toContain('Preferences changed');
    expect(after.text).toMatch(
      /<strong>Unsubscribed<\/strong><dl class="details"><dt>Through<\/dt><dd>the admin<\/dd>/,
    );
    expect((await subscriberIn(server.databaseUrl, 'walkin@example.com'))?.status).toBe('unsubscribed');
    expect((await get('/admin/subscribers/987654')).status).toBe(404);
  });

  it('erases only after the confirmation step; the address stays suppressed', async () => {
    const p5 = (await subscriberIn(server.databaseUrl, 'p5@example.com'))!;
    const step = await get(`/admin/subscribers/${p5.id}?erase=1`);
    expect(step.text).toContain('Erase p5@example.com?');
    const unconfirmed = await post('/admin/subscribers', 'subscribersAdmin.erase', {
      id: String(p5.id),
      email: p5.email,
    });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('Tick the box to confirm the erasure. Nothing was erased.');
    expect(await subscriberIn(server.databaseUrl, 'p5@example.com')).toBeDefined();

    const erased = await post('/admin/subscribers', 'subscribersAdmin.erase', {
      id: String(p5.id),
      email: p5.email,
      confirm: 'yes',
    });
    expect(erased.status).toBe(200);
    expect(erased.text).toContain('p5@example.com is erased');
    expect(await subscriberIn(server.databaseUrl, 'p5@example.com')).toBeUndefined();
    expect((await get(`/admin/subscribers/${p5.id}`)).status).toBe(404);
    const suppressed = await withDatabase(server.databaseUrl, (db) =>
      db
        .selectFrom('suppressions')
        .selectAll()
        .where('email_hash', '=', emailHash('p5@example.com'))
        .executeTakeFirst(),
    );
    expect(suppressed?.reason).toBe('erased');
  });

  it('exports the current filter as a CSV attachment', async () => {
    const all = await get('/admin/subscribers/export.csv');
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(all.headers.get('content-disposition')).toMatch(
      /^attachment; filename="subscribers-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const rows = parse<Record<string, string>>(all.text, { bom: true, columns: true });
    expect(rows.length).toBe(await subscriberCount(server.databaseUrl));

    const offers = await get('/admin/subscribers/export.csv?status=active&topic=offers&q=person+1');
    expect(offers.headers.get('content-disposition')).toContain('subscribers-active-offers-');
    const filtered = parse<Record<string, string>>(offers.text, { bom: true, columns: true });
    expect(filtered.map((r) => r.email).sort()).toEqual(
      Array.from({ length: 120 }, (_, i) => i + 1)
        .filter((n) => n % 3 === 0 && n % 4 !== 0 && String(n).startsWith('1'))
        .map((n) => `p${n}@example.com`)
        .sort(),
    );
    expect(filtered[0]).toMatchObject({ status: 'active', topics: 'offers', source_form: 'home' });
    // a name that would run as a spreadsheet formula is defused
    await post('/admin/subscribers', 'subscribersAdmin.add', {
      email: 'formula@example.com',
      name: '=HYPERLINK("http://evil.example")',
      consentNote: 'counter',
    });
    const one = parse<Record<string, string>>((await get('/admin/subscribers/export.csv?q=formula')).text, {
      bom: true,
      columns: true,
    });
    expect(one[0]!.name).toBe(`'=HYPERLINK("http://evil.example")`);
  });

  /** Uploads like a browser's form does; answers the redirect. */
  async function upload(name: string, content: string | Uint8Array<ArrayBuffer>): Promise<Answer> {
    const form = new FormData();
    form.set('file', new File([content], name, { type: 'text/csv' }));
    return request(server, '/admin/subscribers/import/upload', {
      method: 'POST',
      headers: { origin: server.url },
      body: form,
      cookie: marketer,
    });
  }
  const countText = (html: string, label: string) =>
    Number(new RegExp(`<strong>([\\d,]+)</strong> ${label}`).exec(html)?.[1]?.replace(/,/g, '') ?? NaN);

  it('imports a CSV: upload, preview with a suggested mapping, dry run with exact counts, apply in the background, report', async () => {
    const lines = ['E-mail;Full name;Interests'];
    for (let i = 1; i <= 300; i++) lines.push(`imp${i}@example.com;Importee ${i};guides offers`);
    lines.push('p3@example.com;Person 3;store-news'); // already active: merged
    lines.push('p8@example.com;;guides'); // unsubscribed: kept so
    lines.push('p5@example.com;Erased;guides'); // erased above: suppressed
    lines.push('imp1@example.com;Again;store-news'); // repeated in the file
    lines.push('not-an-address;Nope;guides');
    lines.push('"x@y.z\r\nBcc: a@b.c";Inject;');
    lines.push('short-row@example.com');
    lines.push('imp301@example.com;VIP person;VIP guides');
    const before = await subscriberCount(server.databaseUrl);

    const uploaded = await upload('loyalty list.csv', lines.join('\r\n') + '\r\n');
    expect(uploaded.status).toBe(303);
    const jobPage = uploaded.location!;
    expect(jobPage).toMatch(/^\/admin\/subscribers\/import\/[0-9a-f]{32}$/);
    expect(readdirSync(path.join(server.dataDir, 'imports'))).toHaveLength(1);

    const preview = await get(jobPage);
    expect(preview.status).toBe(200);
    expect(preview.text).toContain('File “loyalty list.csv”');
    expect(preview.text).toContain('<option value="semicolon" selected>');
    expect(preview.text).toMatch(
      /<select id="map-email" name="email" required><option value="0" selected>1: E-mail<\/option>/,
    );
    expect(preview.text).toMatch(
      /<select id="map-name" name="name">.*?<option value="1" selected>2: Full name<\/option>/,
    );
    expect(preview.text).toMatch(
      /<select id="map-topics" name="topics">.*?<option value="2" selected>3: Interests<\/option>/,
    );
    expect(preview.text).toContain('<td>imp1@example.com</td>');

    const job = jobPage.split('/').at(-1)!;
    const noNote = await post(jobPage, 'subscribersAdmin.planImport', {
      job,
      delimiter: 'semicolon',
      email: '0',
      name: '1',
      topics: '2',
      consentNote: '',
    });
    expect(noNote.status).toBe(400);
    expect(noNote.text).toContain('A consent note is required');

    const planned = await post(jobPage, 'subscribersAdmin.planImport', {
      job,
      delimiter: 'semicolon',
      email: '0',
      name: '1',
      topics: '2',
      consentNote: 'Ticked “newsletter” on the loyalty card form, 2024–2026',
    });
    expect(planned.status).toBe(200);
    expect(countText(planned.text, 'new, will be added as active')).toBe(301);
    expect(countText(planned.text, 'already on the list: topics merged')).toBe(1);
    expect(countText(planned.text, 'unsubscribed, bounced or complained: left as they are')).toBe(1);
    expect(countText(planned.text, 'on the suppression list: left out')).toBe(1);
    expect(countText(planned.text, 'repeated in the file: counted once')).toBe(1);
    expect(countText(planned.text, 'rows rejected')).toBe(3);
    expect(planned.text).toContain('1 — not a valid email address');
    expect(planned.text).toContain('1 — a line break inside the address (header injection attempt)');
    expect(planned.text).toContain('1 — fewer columns than the header');
    expect(planned.text).toContain('<code>VIP</code> — 1 row');
    expect(await subscriberCount(server.databaseUrl)).toBe(before); // a dry run writes nothing

    const started = await post(jobPage, 'subscribersAdmin.startImport', { job });
    expect(started.status).toBe(200);
    let page = started;
    for (let i = 0; i < 100 && !page.text.includes('Import finished'); i++) {
      expect(page.text).toMatch(/<progress|Import finished/);
      await new Promise((r) => setTimeout(r, 100));
      page = await get(jobPage);
    }
    expect(page.text).toContain('Import finished');
    expect(countText(page.text, 'added as active')).toBe(301);
    expect(countText(page.text, 'already on the list: topics merged')).toBe(1);
    expect(countText(page.text, 'left out: unsubscribed, bounced or complained')).toBe(1);
    expect(countText(page.text, 'left out: on the suppression list')).toBe(1);
    expect(await subscriberCount(server.databaseUrl)).toBe(before + 301);
    expect(await subscriberIn(server.databaseUrl, 'imp1@example.com')).toMatchObject({
      status: 'active',
      name: 'Importee 1',
      source_form: 'import',
      consent_note: 'Ticked “newsletter” on the loyalty card form, 2024–2026',
      topics: ['guides', 'offers', 'store-news'],
    });
    expect((await subscriberIn(server.databaseUrl, 'p3@example.com'))?.topics).toEqual(['offers', 'store-news']);
    expect((await subscriberIn(server.databaseUrl, 'p8@example.com'))?.status).toBe('unsubscribed');
    expect(await subscriberIn(server.databaseUrl, 'p5@example.com')).toBeUndefined();
    expect(readdirSync(path.join(server.dataDir, 'imports'))).toEqual([]); // the upload is gone once applied

    const report = await get(`${jobPage}/rejected.csv`);
    expect(report.headers.get('content-disposition')).toBe('attachment; filename="loyalty-list-rejected-rows.csv"');
    const rejected = parse<Record<string, string>>(report.text, { bom: true, columns: true });
    expect(rejected.map((r) => [r.row, r.reason])).toEqual([
      ['306', expect.stringMatching(/not a valid email address/)],
      ['307', expect.stringMatching(/header injection/)],
      ['308', expect.stringMatching(/missing columns/)],
    ]);
    expect(rejected[0]!.raw).toBe('not-an-address;Nope;guides');
    // Pressing Import again does not import twice.
    await post(jobPage, 'subscribersAdmin.startImport', { job });
    expect(await subscriberCount(server.databaseUrl)).toBe(before + 301);
  });

  it('refuses bad files with a clear message and stores nothing', async () => {
    const before = await subscriberCount(server.databaseUrl);
    const cases: [string, string | Uint8Array<ArrayBuffer>, RegExp][] = [
      ['empty.csv', '', /The file is empty\./],
      ['blank.csv', '\r\n\r\n', /The file is empty\./],
      ['book.xlsx', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 6, 0]), /spreadsheet workbook/],
      ['photo.csv', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), /not a text file/],
      ['quote.csv', 'email,name\n"unclosed@example.com,' + 'x'.repeat(70_000), /quoted field that is never closed/],
    ];
    for (const [name, content, message] of cases) {
      const uploaded = await upload(name, content);
      expect(uploaded.status, name).toBe(303);
      const page = await get(uploaded.location!);
      expect(page.status, name).toBe(422);
      expect(page.text, name).toMatch(message);
      expect(page.text, name).toContain('Nothing was added.');
      expect(page.text, name).toContain('name="file"'); // and the form to try again
    }
    // A file without addresses: the mapping says so, and its dry run has nothing to import.
    const noEmails = await upload('names.csv', 'name,city\nAda,Frobozz\nBob,Borphee\n');
    const preview = await get(noEmails.location!);
    expect(preview.text).toContain('No column looks like email addresses');
    const job = noEmails.location!.split('/').at(-1)!;
    const planned = await post(noEmails.location!, 'subscribersAdmin.planImport', {
      job,
      delimiter: 'comma',
      email: '0',
      name: '',
      topics: '',
      consentNote: 'x',
    });
    expect(countText(planned.text, 'rows rejected')).toBe(2);
    expect(planned.text).toContain('Nothing to import');
    expect((await post(noEmails.location!, 'subscribersAdmin.startImport', { job })).text).toContain(
      'Nothing to import',
    );

    const none = await request(server, '/admin/subscribers/import/upload', {
      method: 'POST',
      headers: { origin: server.url },
      body: new FormData(),
      cookie: marketer,
    });
    expect(none.location).toBe('/admin/subscribers/import?error=no_file');
    expect((await get(none.location!)).text).toContain('Choose a CSV file to upload.');
    const tooLarge = await upload('huge.csv', 'email\n' + 'someone@example.com\n'.repeat(1_100_000));
    expect(tooLarge.location).toBe('/admin/subscribers/import?error=too_large');
    expect((await get(tooLarge.location!)).text).toContain('larger than 20 MB');
    // A stream of unknown length is cut off as it comes (a browser always sends the length): 413, no file, memory flat.
    const flood = await floodPost(server, '/admin/subscribers/import/upload', {
      totalBytes: 300 * 1024 * 1024,
      prefix:
        '--x\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\nContent-Type: text/csv\r\n\r\n',
      headers: { 'content-type': 'multipart/form-data; boundary=x', accept: 'text/html', cookie: marketer },
    });
    expect(flood.status).toBe(413);
    expect(flood.body).toMatch(/larger than 1 MB.*Content-Length.*up to 100 MB/);
    expect(flood.sentBytes).toBeLessThan(50 * 1024 * 1024);
    expect(flood.rssGrowthMb).toBeLessThan(20);
    const crossSite = await request(server, '/admin/subscribers/import/upload', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: new FormData(),
      cookie: marketer,
    });
    expect(crossSite.status).toBe(403);
    expect(await subscriberCount(server.databaseUrl)).toBe(before);
    expect(readdirSync(path.join(server.dataDir, 'imports')).filter((f) => !f.startsWith(job))).toEqual([]);
    expect((await get(`/admin/subscribers/import/${'f'.repeat(32)}`)).status).toBe(404);
  });
});
