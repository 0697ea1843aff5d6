import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, request, sessionCookie } from '../helpers/accounts.ts';
import { linkIn, pressConfirm } from '../helpers/subscribers.ts';

/** The outbox viewer over real HTTP: what a marketer and an admin may read, and how a message is shown. */
describe('the outbox over HTTP', () => {
  let server: RunningServer;
  let marketer: string;
  let admin: string;

  beforeAll(async () => {
    server = await startServer();
    marketer = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
    );
    admin = await sessionCookie(server.databaseUrl, await addAccount(server.databaseUrl, 'ada@example.com', 'admin'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const get = (path: string, cookie = marketer) => request(server, path, { cookie });

  it('is empty at first, and says where mail goes', async () => {
    const empty = await get('/admin/outbox');
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('The outbox is empty');
  });

  it('the outbox: newest first, a message with its HTML (sandboxed, strict CSP), text part and headers', async () => {
    const signup = await request(server, '/subscribe?_action=subscribe', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: 'email=outboxreader%40example.com&name=Olga',
    });
    expect(signup.status).toBe(200);
    const list = await get('/admin/outbox');
    expect(list.status).toBe(200);
    const file = /href="\/admin\/outbox\/([^"/]+\.eml)">Confirm your subscription to Frobozz Electric<\/a>/.exec(
      list.text,
    )?.[1];
    expect(file).toBeTruthy();
    expect(list.text).toContain('outboxreader@example.com');

    const message = await get(`/admin/outbox/${file}`);
    expect(message.status).toBe(200);
    expect(message.text).toContain('<h1 class="page-title">Confirm your subscription to Frobozz Electric</h1>');
    expect(message.text).toMatch(
      /<iframe [^>]*src="\/admin\/outbox\/[^"]+\/html" sandbox="allow-popups allow-popups-to-escape-sandbox"/,
    );
    expect(message.text).toContain('<code>x-footfall-email</code>');
    const confirm = linkIn(message.text.replace(/&amp;/g, '&'), `${server.url}/subscribe/confirm?token=`);

    const html = await get(`/admin/outbox/${file}/html`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toBe(
      "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox",
    );
    expect(html.text).toContain('<base target="_blank">');
    expect(html.text).toContain(confirm.replace(/&/g, '&#38;'));

    // Confirming sends the welcome email, with the one-click unsubscribe headers and footer links.
    expect((await pressConfirm(confirm)).status).toBe(200);
    const after = await get('/admin/outbox');
    const welcome = /href="\/admin\/outbox\/([^"/]+\.eml)">Welcome to the Frobozz Electric newsletter<\/a>/.exec(
      after.text,
    )?.[1];
    expect(after.text.indexOf(welcome!)).toBeLessThan(after.text.indexOf(file!)); // newest first
    const welcomePage = (await get(`/admin/outbox/${welcome}`)).text;
    expect(welcomePage).toMatch(
      /<code>list-unsubscribe<\/code><\/th><td><code>&lt;http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[\w.-]+&gt;, &lt;mailto:newsletter@localhost\?subject=unsubscribe&gt;<\/code>/,
    );
    expect(welcomePage).toContain('<code>List-Unsubscribe=One-Click</code>');
    expect(welcomePage).toMatch(/Unsubscribe\s+\[http:\/\/127\.0\.0\.1:\d+\/unsubscribe\//);
    expect(welcomePage).toMatch(/Manage your preferences\s+\[http:\/\/127\.0\.0\.1:\d+\/preferences\//);
  });

  it('the outbox refuses paths that are not message names, and keeps account mail for admins', async () => {
    for (const path of [
      '/admin/outbox/..%2Fsecret',
      '/admin/outbox/..%2F..%2Fsecret',
      '/admin/outbox/%2e%2e%2fsecret',
      '/admin/outbox/..%2Fsecret/html',
      '/admin/outbox/20261126T000000.000Z-0000000000000000.eml',
    ]) {
      const answer = await get(path);
      expect(answer.status, path).toBe(404);
      expect(answer.text, path).not.toContain('root:');
    }
    // An invitation carries a link that signs someone in: a marketer never sees it.
    const invited = await request(server, '/admin/users?_action=users.invite', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: 'email=newadmin%40example.com&name=New&role=admin',
      cookie: admin,
    });
    expect(invited.status).toBe(200);
    const forAdmin = await get('/admin/outbox', admin);
    const invite = /href="\/admin\/outbox\/([^"/]+\.eml)">[^<]*invited you/.exec(forAdmin.text)?.[1];
    expect(invite).toBeTruthy();
    const forMarketer = await get('/admin/outbox');
    expect(forMarketer.text).not.toContain(invite);
    expect(forMarketer.text).toContain('shown to admins only');
    expect((await get(`/admin/outbox/${invite}`)).status).toBe(404);
    expect((await get(`/admin/outbox/${invite}/html`)).status).toBe(404);
    expect((await get(`/admin/outbox/${invite}`, admin)).status).toBe(200);
    expect(existsSync(path.join(server.dataDir, 'outbox', invite!))).toBe(true);
  });
});
