import { expect, it, vi } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { addressNetwork, LoginThrottle } from '#lib/auth/login-throttle.ts';
import { TOKEN_LIFETIME_MS } from '#lib/auth/account-tokens.service.ts';
import { validateSessionToken } from '#lib/auth/session.service.ts';
import {
  acceptInvite,
  changeUserRole,
  completeSetup,
  createSetupLink,
  createUser,
  deactivateUser,
  inviteUser,
  reactivateUser,
  requestPasswordReset,
  resetPassword,
  signIn,
  type AccountMail,
} from '#lib/auth/users.service.ts';
import { findUserByEmail } from '#lib/auth/users.repository.ts';
import { addUser, PASSWORD } from './fixtures.ts';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const SITE = 'https://shop.example.com';
const SECRET = 'login-throttle-test-secret-'.padEnd(48, 'x');

function recordingMail() {
  const sent: { kind: string; to: string; url: string }[] = [];
  const mail: AccountMail = {
    sendInvite: async (to, data) => void sent.push({ kind: 'invite', to, url: data.acceptUrl }),
    sendPasswordReset: async (to, data) => void sent.push({ kind: 'reset', to, url: data.resetUrl }),
  };
  return { sent, mail };
}

const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

describeEachDatabase('first start', (db) => {
  it('prints a setup link only while there are no users; it works once, for one hour', async () => {
    const link = await createSetupLink(db(), SITE, T0);
    expect(link?.url).toMatch(/^https:\/\/shop\.example\.com\/admin\/setup\?token=[a-z2-7]{32}$/);
    expect(link?.expiresAt).toBe(T0 + 60 * 60_000);
    const token = tokenOf(link!.url);
    const input = { token, email: ' Owner@Example.com ', name: 'Owner', password: 'a long enough passphrase' };

    const expired = await completeSetup(db(), input, T0 + 60 * 60_000);
    expect(expired).toMatchObject({ ok: false, reason: 'gone' });

    const done = await completeSetup(db(), input, T0 + 60_000);
    expect(done.ok).toBe(true);
    if (!done.ok) return;
    expect(done.value.user).toMatchObject({ email: 'owner@example.com', role: 'admin' });
    expect(await validateSessionToken(db(), done.value.token, T0 + 60_000)).not.toBeNull();

    expect(await completeSetup(db(), { ...input, email: 'second@example.com' }, T0 + 120_000)).toMatchObject({
      ok: false,
      reason: 'gone',
    });
    expect(await createSetupLink(db(), SITE, T0)).toBeUndefined();
  });
});

describeEachDatabase('accounts', (db) => {
  it('createUser: clear refusals for a duplicate email, a weak password, an unknown role', async () => {
    const created = await createUser(
      db(),
      { email: 'cli@example.com', role: 'marketer', password: 'a perfectly fine passphrase' },
      T0,
    );
    expect(created).toMatchObject({
      ok: true,
      value: { email: 'cli@example.com', role: 'marketer', status: 'active', name: 'cli' },
    });
    expect(
      await createUser(db(), { email: 'CLI@example.com', role: 'writer', password: 'another fine passphrase' }, T0),
    ).toMatchObject({
      ok: false,
      reason: 'conflict',
      message: 'An account with this email address exists already.',
    });
    expect(await createUser(db(), { email: 'weak@example.com', role: 'writer', password: 'short' }, T0)).toMatchObject({
      ok: false,
      field: 'password',
      message: expect.stringMatching(/at least 10/),
    });
    expect(
      await createUser(db(), { email: 'weak@example.com', role: 'writer', password: 'password123' }, T0),
    ).toMatchObject({ ok: false, message: expect.stringMatching(/common/) });
    expect(
      await createUser(db(), { email: 'role@example.com', role: 'owner', password: 'a perfectly fine passphrase' }, T0),
    ).toMatchObject({ ok: false, field: 'role', message: expect.stringMatching(/Unknown role "owner"/) });
  });

  it('signIn: one answer for a wrong password and an unknown email; failures from anywhere lock new addresses out, never the owner’s own', async () => {
    const id = await addUser(db(), 'known@example.com', 'writer', T0);
    const locks: { userId: number; attempts: number; until: number }[] = [];
    // Two throttles over one database: two server processes.
    const deps = [0, 1].map(() => ({
      db: db(),
      throttle: new LoginThrottle({ db: db(), secret: SECRET }),
      onLockedOut: (user: { id: number }, lock: { attempts: number; until: number }) =>
        void locks.push({ userId: user.id, ...lock }),
    }));
    let turn = 0;
    const attempt = (email: string, password: string, now: number, address: string) =>
      signIn(deps[turn++ % 2]!, { email, password, address }, now);
    const home = '198.51.100.7';
    expect((await attempt('known@example.com', PASSWORD, T0, home)).ok).toBe(true); // the owner's usual address

    const wrong = await attempt('known@example.com', 'not the password', T0 + 1000, '192.0.2.1');
    const unknown = await attempt('nobody@example.com', 'not the password', T0 + 1000, '192.0.2.1');
    expect(wrong).toEqual({ ok: false, reason: 'unauthorized', message: 'Wrong email or password.' });
    expect(unknown).toEqual(wrong);

    for (let i = 2; i <= 10; i++)
      expect(
        await attempt('known@example.com', 'still wrong', T0 + i * 1000, `192.0.2.${i}`),
        `attempt ${i}`,
      ).toMatchObject({ reason: 'unauthorized' });
    expect(locks).toEqual([{ userId: id, attempts: 10, until: T0 + 1000 + 10 * 60_000 }]);
    // A new address is refused, right password or not, without counting (no second mail).
    const eleventh = await attempt('known@example.com', PASSWORD, T0 + 11_000, '203.0.113.9');
    expect(eleventh).toMatchObject({
      ok: false,
      reason: 'throttled',
      retryAfterSeconds: 590,
      message:
        'Too many failed sign-ins for this account. Try again in 10 minutes, or sign in from a computer or network you have used before.',
    });
    for (let i = 0; i < 5; i++)
      expect(await attempt('known@example.com', 'guess', T0 + 12_000 + i, `203.0.113.${20 + i}`)).toMatchObject({
        reason: 'throttled',
      });
    expect(locks).toHaveLength(1);
    // The owner's usual address: a second after the last failure, not ten minutes.
    expect(await attempt('known@example.com', PASSWORD, T0 + 10_500, home)).toMatchObject({
      reason: 'throttled',
      retryAfterSeconds: 1,
      message: 'Too many failed sign-ins. Wait 1 second and try again.',
    });
    expect((await attempt('known@example.com', PASSWORD, T0 + 11_000, home)).ok).toBe(true);
    // The window's end opens the account to new addresses again.
    expect((await attempt('known@example.com', PASSWORD, T0 + 1000 + 10 * 60_000, '203.0.113.9')).ok).toBe(true);
    // An unknown email is locked the same way, so a 429 says nothing about who has an account; nobody is mailed.
    for (let i = 1; i <= 10; i++)
      await attempt('ghost@example.com', `guess ${i}`, T0 + 20 * 60_000 + i, `192.0.2.${100 + i}`);
    expect(await attempt('ghost@example.com', 'guess', T0 + 20 * 60_000 + 100, '192.0.2.99')).toMatchObject({
      reason: 'throttled',
      retryAfterSeconds: 600,
    });
    expect(locks).toHaveLength(1);
  });

  it('signIn: wrong passwords from one address wait 1, 2, 4 s… — then the right one still works; one network sprays fifty and waits', async () => {
    await addUser(db(), 'pair@example.com', 'writer', T0);
    const deps = { db: db(), throttle: new LoginThrottle({ db: db(), secret: SECRET }) };
    const attempt = (email: string, password: string, now: number, address: string) =>
      signIn(deps, { email, password, address }, now);
    let at = T0;
    for (let i = 1; i <= 5; i++)
      expect(await attempt('pair@example.com', `wrong ${i}`, (at += 100), '2001:db8:7:1::10')).toMatchObject({
        reason: 'unauthorized',
      });
    // The same /64, another address in it: still the same network.
    expect(await attempt('pair@example.com', PASSWORD, at + 10, '2001:db8:7:1:abcd::99')).toMatchObject({
      reason: 'throttled',
      retryAfterSeconds: 1,
    });
    expect(await attempt('pair@example.com', 'wrong 6', (at += 1000), '2001:db8:7:1::10')).toMatchObject({
      reason: 'unauthorized',
    });
    expect(await attempt('pair@example.com', PASSWORD, at + 10, '2001:db8:7:1::10')).toMatchObject({
      reason: 'throttled',
      retryAfterSeconds: 2,
    });
    expect(await attempt('pair@example.com', 'wrong 7', (at += 2000), '2001:db8:7:1::10')).toMatchObject({
      reason: 'unauthorized',
    });
    expect(await attempt('pair@example.com', PASSWORD, at + 10, '2001:db8:7:1::10')).toMatchObject({
      reason: 'throttled',
      retryAfterSeconds: 4,
    });
    // Another network is not slowed; and after the wait the right password works, and the count ends.
    expect((await attempt('pair@example.com', PASSWORD, at + 20, '198.51.100.20')).ok).toBe(true);
    expect((await attempt('pair@example.com', PASSWORD, (at += 4000), '2001:db8:7:1::10')).ok).toBe(true);
    expect(await attempt('pair@example.com', 'wrong again', at + 10, '2001:db8:7:1::10')).toMatchObject({
      reason: 'unauthorized',
    });

    for (let i = 1; i <= 50; i++)
      expect(await attempt(`spray${i}@example.com`, 'password guess', T0 + i, '192.0.2.200')).toMatchObject({
        reason: 'unauthorized',
      });
    expect(await attempt('spray51@example.com', 'password guess', T0 + 60_000, '192.0.2.200')).toMatchObject({
      reason: 'throttled',
      retryAfterSeconds: 541,
      message: 'Too many failed sign-ins from your network. Try again in 10 minutes.',
    });
    expect(addressNetwork('::ffff:192.0.2.200')).toBe('192.0.2.200');
    expect(addressNetwork('2001:0db8:0007:0001:0000:0000:0000:0010')).toBe(addressNetwork('2001:db8:7:1::ffff'));
  });

  it('signIn: case and spaces in the email do not matter; a deactivated account cannot sign in', async () => {
    const id = await addUser(db(), 'case@example.com', 'writer', T0);
    const throttle = new LoginThrottle({ db: db(), secret: SECRET });
    expect(
      (
        await signIn(
          { db: db(), throttle },
          { email: '  CASE@Example.COM ', password: PASSWORD, address: '192.0.2.1' },
          T0,
        )
      ).ok,
    ).toBe(true);
    const admin = await addUser(db(), 'admin-a@example.com', 'admin', T0);
    expect(
      (
        await deactivateUser(
          db(),
          { userId: id, actor: { id: admin, email: 'admin-a@example.com', name: 'a', role: 'admin' } },
          T0,
        )
      ).ok,
    ).toBe(true);
    expect(
      await signIn({ db: db(), throttle }, { email: 'case@example.com', password: PASSWORD, address: '192.0.2.1' }, T0),
    ).toMatchObject({ reason: 'unauthorized', message: 'Wrong email or password.' });
    expect((await reactivateUser(db(), { userId: id }, T0)).ok).toBe(true);
    expect(
      (
        await signIn(
          { db: db(), throttle },
          { email: 'case@example.com', password: PASSWORD, address: '192.0.2.1' },
          T0,
        )
      ).ok,
    ).toBe(true);
  });

  it('invite → accept: the invited person chooses a password and is signed in; the link works once', async () => {
    const { sent, mail } = recordingMail();
    const adminId = await addUser(db(), 'boss@example.com', 'admin', T0);
    const actor = { id: adminId, email: 'boss@example.com', name: 'Boss', role: 'admin' as const };
    const invited = await inviteUser(
      { db: db(), siteUrl: SITE, mail },
      { email: 'Mara@Example.com', name: 'Mara', role: 'marketer', invitedBy: actor },
      T0,
    );
    expect(invited).toMatchObject({
      ok: true,
      value: { mailed: true, user: { email: 'mara@example.com', status: 'invited', password_hash: null } },
    });
    expect(sent).toEqual([
      {
        kind: 'invite',
        to: 'mara@example.com',
        url: expect.stringMatching(/^https:\/\/shop\.example\.com\/admin\/invite\?token=[a-z2-7]{32}$/),
      },
    ]);
    expect(
      await inviteUser(
        { db: db(), siteUrl: SITE, mail },
        { email: 'mara@example.com', name: 'Mara', role: 'writer', invitedBy: actor },
        T0,
      ),
    ).toMatchObject({ reason: 'conflict' });
    // No password yet: signing in fails like any wrong password.
    expect(
      await signIn(
        { db: db(), throttle: new LoginThrottle({ db: db(), secret: SECRET }) },
        { email: 'mara@example.com', password: 'anything at all', address: '192.0.2.1' },
        T0,
      ),
    ).toMatchObject({ reason: 'unauthorized' });

    const token = tokenOf(sent[0]!.url);
    expect(await acceptInvite(db(), { token, name: 'Mara K', password: 'short' }, T0 + 1000)).toMatchObject({
      ok: false,
      field: 'password',
    });
    expect(await acceptInvite(db(), { token, name: 'Mara K', password: 'mara@example.com' }, T0 + 1000)).toMatchObject({
      ok: false,
      field: 'password',
    });
    const accepted = await acceptInvite(
      db(),
      { token, name: 'Mara K', password: 'widgets all the way down' },
      T0 + 1000,
    );
    expect(accepted).toMatchObject({
      ok: true,
      value: { user: { email: 'mara@example.com', name: 'Mara K', role: 'marketer' } },
    });
    expect(
      await acceptInvite(db(), { token, name: 'Mara K', password: 'widgets all the way down' }, T0 + 2000),
    ).toMatchObject({ ok: false, reason: 'gone' });
    expect(
      (
        await signIn(
          { db: db(), throttle: new LoginThrottle({ db: db(), secret: SECRET }) },
          { email: 'mara@example.com', password: 'widgets all the way down', address: '192.0.2.1' },
          T0 + 3000,
        )
      ).ok,
    ).toBe(true);
  });

  it('when the invitation mail fails, the invitation still exists and the admin is told (with the link)', async () => {
    const adminId = await addUser(db(), 'boss3@example.com', 'admin', T0);
    const mail: AccountMail = {
      sendInvite: vi.fn(() => Promise.reject(new Error('SMTP down'))),
      sendPasswordReset: vi.fn(),
    };
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const result = await inviteUser(
      { db: db(), siteUrl: SITE, mail },
      {
        email: 'offline@example.com',
        name: 'Off',
        role: 'writer',
        invitedBy: { id: adminId, email: 'boss3@example.com', name: 'B', role: 'admin' },
      },
      T0,
    );
    vi.restoreAllMocks();
    expect(result).toMatchObject({
      ok: true,
      value: { mailed: false, acceptUrl: expect.stringContaining('/admin/invite?token=') },
    });
  });

  it('an invitation expires after 7 days', async () => {
    const { sent, mail } = recordingMail();
    const adminId = await addUser(db(), 'boss2@example.com', 'admin', T0);
    await inviteUser(
      { db: db(), siteUrl: SITE, mail },
      {
        email: 'late@example.com',
        name: 'Late',
        role: 'writer',
        invitedBy: { id: adminId, email: 'boss2@example.com', name: 'B', role: 'admin' },
      },
      T0,
    );
    const result = await acceptInvite(
      db(),
      { token: tokenOf(sent[0]!.url), name: 'Late', password: 'widgets all the way down' },
      T0 + TOKEN_LIFETIME_MS.invite,
    );
    expect(result).toMatchObject({ ok: false, reason: 'gone' });
  });

  it('password reset: a link for active accounts only, valid one hour, once; it ends every session', async () => {
    const { sent, mail } = recordingMail();
    const id = await addUser(db(), 'forgetful@example.com', 'writer', T0);
    const throttle = new LoginThrottle({ db: db(), secret: SECRET });
    const before = await signIn(
      { db: db(), throttle },
      { email: 'forgetful@example.com', password: PASSWORD, address: '192.0.2.1' },
      T0,
    );
    expect(await requestPasswordReset({ db: db(), siteUrl: SITE, mail }, 'nobody@example.com', T0)).toBe('no-account');
    expect(await requestPasswordReset({ db: db(), siteUrl: SITE, mail }, 'not an email', T0)).toBe('no-account');
    expect(await requestPasswordReset({ db: db(), siteUrl: SITE, mail }, 'Forgetful@example.com', T0)).toBe('sent');
    expect(sent).toEqual([
      { kind: 'reset', to: 'forgetful@example.com', url: expect.stringMatching(/\/admin\/reset\?token=[a-z2-7]{32}$/) },
    ]);
    const token = tokenOf(sent[0]!.url);

    expect(
      await resetPassword(db(), { token, password: 'a brand new passphrase' }, T0 + TOKEN_LIFETIME_MS.reset),
    ).toMatchObject({ reason: 'gone' });
    const reset = await resetPassword(db(), { token, password: 'a brand new passphrase' }, T0 + 60_000);
    expect(reset).toMatchObject({ ok: true, value: { user: { id } } });
    expect(await resetPassword(db(), { token, password: 'yet another passphrase' }, T0 + 61_000)).toMatchObject({
      reason: 'gone',
    });
    if (before.ok) expect(await validateSessionToken(db(), before.value.token, T0 + 62_000)).toBeNull();
    expect(
      (
        await signIn(
          { db: db(), throttle },
          { email: 'forgetful@example.com', password: 'a brand new passphrase', address: '192.0.2.1' },
          T0 + 63_000,
        )
      ).ok,
    ).toBe(true);
  });

  it('roles and deactivation never leave Footfall without an active admin, and admins cannot lock themselves out', async () => {
    const soleId = await addUser(db(), 'sole-admin@example.com', 'admin', T0);
    const writerId = await addUser(db(), 'w@example.com', 'writer', T0);
    const sole = { id: soleId, email: 'sole-admin@example.com', name: 'Sole', role: 'admin' as const };
    expect(await changeUserRole(db(), { userId: soleId, role: 'writer', actor: sole }, T0)).toMatchObject({
      reason: 'forbidden',
    });
    expect(await deactivateUser(db(), { userId: soleId, actor: sole }, T0)).toMatchObject({ reason: 'forbidden' });
    expect(await changeUserRole(db(), { userId: writerId, role: 'boss', actor: sole }, T0)).toMatchObject({
      reason: 'invalid',
    });
    expect(await changeUserRole(db(), { userId: writerId, role: 'admin', actor: sole }, T0)).toMatchObject({
      ok: true,
      value: { role: 'admin' },
    });
    const other = { id: writerId, email: 'w@example.com', name: 'w', role: 'admin' as const };
    // Two admins: one may demote the other, but then not the last one standing.
    expect(await changeUserRole(db(), { userId: soleId, role: 'marketer', actor: other }, T0)).toMatchObject({
      ok: true,
    });
    const admins = await db()
      .selectFrom('users')
      .select('email')
      .where('role', '=', 'admin')
      .where('status', '=', 'active')
      .execute();
    expect(admins.length).toBeGreaterThanOrEqual(1);
    expect(await changeUserRole(db(), { userId: 999_999, role: 'writer', actor: other }, T0)).toMatchObject({
      reason: 'not-found',
    });
    expect((await findUserByEmail(db(), 'sole-admin@example.com'))?.role).toBe('marketer');
  });
});
