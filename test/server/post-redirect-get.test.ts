import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { addAccount, sessionCookie, withDatabase } from '../helpers/accounts.ts';

/**
 * Issue 17, item 17: "`?_action=` left in the URL after saving". Every admin form that saved
 * answers 303 to its page without `?_action=` (a reload re-posts nothing) and the page then says
 * what happened, once; a refused form stays on the page with what was typed.
 */
describe('post/redirect/get on every admin form', () => {
  let server: RunningServer;
  let admin: string;
  let subscriberId: number;
  let colleagueId: number;

  beforeAll(async () => {
    server = await startServer();
    admin = await sessionCookie(server.databaseUrl, await addAccount(server.databaseUrl, 'root@example.com', 'admin'));
    colleagueId = await addAccount(server.databaseUrl, 'colleague@example.com', 'writer');
    subscriberId = await withDatabase(server.databaseUrl, async (db) => {
      const row = await db
        .insertInto('subscribers')
        .values({
          email: 'sub@example.com',
          name: 'Sub',
          status: 'active',
          created_at: Date.now(),
          updated_at: Date.now(),
          confirmed_at: Date.now(),
          unsubscribed_at: null,
          source_form: 'test',
          source_campaign: null,
          source_issue_id: null,
          consent_at: Date.now(),
          consent_text_version: null,
          consent_note: 'test',
          confirmation_sent_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  const post = (page: string, action: string, fields: Record<string, string>, cookie = admin) =>
    fetch(`${server.url}${page}${page.includes('?') ? '&' : '?'}_action=${action}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, cookie },
      body: new URLSearchParams(fields),
    });
  const get = async (path: string, cookie: string) =>
    (await fetch(`${server.url}${path}`, { redirect: 'manual', headers: { cookie } })).text();

  const forms: { page: string; action: string; fields: () => Record<string, string>; says: RegExp }[] = [
    {
      page: '/admin/users',
      action: 'users.invite',
      fields: () => ({ email: 'new@example.com', name: 'New', role: 'writer' }),
      says: /Invitation sent to new@example\.com\./,
    },
    {
      page: '/admin/users',
      action: 'users.changeRole',
      fields: () => ({ userId: String(colleagueId), role: 'marketer' }),
      says: /colleague@example\.com is now marketer\./,
    },
    {
      page: '/admin/users',
      action: 'users.deactivate',
      fields: () => ({ userId: String(colleagueId) }),
      says: /colleague@example\.com is deactivated/,
    },
    {
      page: '/admin/users',
      action: 'users.reactivate',
      fields: () => ({ userId: String(colleagueId) }),
      says: /colleague@example\.com can sign in again\./,
    },
    {
      page: '/admin/api-keys',
      action: 'apiKeys.create',
      fields: () => ({ name: 'CRM sync', role: 'marketer' }),
      says: /Key “CRM sync” \(marketer\) created\.[\s\S]*ffk_[a-z2-7]{32}/,
    },
    {
      page: `/admin/subscribers/SUB`,
      action: 'subscribersAdmin.update',
      fields: () => ({ id: String(subscriberId), topics: 'guides' }),
      says: /Topics and pause saved\./,
    },
    {
      page: '/admin/offline-events?from=2026-11-01&to=2026-11-03',
      action: 'offlineEvents.add',
      fields: () => ({ kind: 'walk_in', at: '2026-11-03T16:30', note: '', clientId: randomUUID() }),
      says: /Added: walk-in on/,
    },
    {
      page: '/admin/tally',
      action: 'tally.tap',
      fields: () => ({ clientId: randomUUID(), kind: 'call' }),
      says: /<p>Phone call at \d\d:\d\d\.<\/p>/,
    },
    {
      page: '/admin/subscribers/SUB',
      action: 'subscribersAdmin.unsubscribe',
      fields: () => ({ id: String(subscriberId) }),
      says: /Unsubscribed: they get no more newsletters\./,
    },
  ];

  for (const form of forms) {
    it(`${form.action}: 303 to the page without ?_action=, which says what happened once`, async () => {
      const page = form.page.replace('SUB', String(subscriberId));
      const answer = await post(page, form.action, form.fields());
      expect(
        answer.status,
        await answer
          .clone()
          .text()
          .then((t) => t.slice(0, 300)),
      ).toBe(303);
      expect(answer.headers.get('location')).toBe(page);
      expect(answer.headers.get('location')).not.toContain('_action');
      const carried = /footfall_action_result=[^;]+/.exec(answer.headers.getSetCookie().join(', '))![0];
      const shown = await get(page, `${admin}; ${carried}`);
      expect(shown).toMatch(form.says);
      // A reload: the message is gone, nothing is posted again.
      expect(await get(page, admin)).not.toMatch(form.says);
    });
  }

  it('account: a changed password redirects too; a wrong current password stays on the page (400), nothing changed', async () => {
    const own = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'me@example.com', 'writer'),
    );
    const wrong = await post(
      '/admin/account',
      'accounts.changePassword',
      { currentPassword: 'not it at all', newPassword: 'a brand new passphrase' },
      own,
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('name="currentPassword"');
    const changed = await post(
      '/admin/account',
      'accounts.changePassword',
      { currentPassword: 'a long passphrase for tests', newPassword: 'a brand new passphrase' },
      own,
    );
    expect(changed.status).toBe(303);
    expect(changed.headers.get('location')).toBe('/admin/account');
    const carried = /footfall_action_result=[^;]+/.exec(changed.headers.getSetCookie().join(', '))![0];
    expect(await get('/admin/account', `${own}; ${carried}`)).toContain('Password changed.');
  });

  it('a refused form keeps the URL it was posted to and what was typed', async () => {
    const refused = await post('/admin/users', 'users.invite', {
      email: 'not an address',
      name: 'Typed Name',
      role: 'writer',
    });
    expect(refused.status).toBe(400);
    const text = await refused.text();
    expect(text).toContain('value="Typed Name"');
    expect(refused.headers.get('set-cookie') ?? '').not.toContain('footfall_action_result');
  });

  it('"forgot password" answers with a redirect to the clean page and says the mail is on its way', async () => {
    const asked = await fetch(`${server.url}/admin/forgot?_action=accounts.requestReset`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: 'someone@example.com' }),
    });
    expect(asked.status).toBe(303);
    expect(asked.headers.get('location')).toBe('/admin/forgot');
    const carried = /footfall_action_result=[^;]+/.exec(asked.headers.getSetCookie().join(', '))![0];
    expect(await get('/admin/forgot', carried)).toContain('a reset link is on its way');
  });
});
