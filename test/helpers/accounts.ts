import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { createUser } from '../../src/lib/auth/users.service.ts';
import { createSession, SESSION_COOKIE } from '../../src/lib/auth/session.service.ts';
import { createApiKey } from '../../src/lib/auth/api-keys.service.ts';
import type { Role } from '../../src/lib/auth/roles.ts';
import type { RunningServer } from './server.ts';

/** Opens a running server's database from the test process (SQLite in WAL mode allows it). */
export async function withDatabase<T>(databaseUrl: string, fn: (db: DB) => Promise<T>): Promise<T> {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/** An active account straight in the database (argon2: one hash per call). */
export async function addAccount(
  databaseUrl: string,
  email: string,
  role: Role,
  password = 'a long passphrase for tests',
): Promise<number> {
  return withDatabase(databaseUrl, async (db) => {
    const result = await createUser(db, { email, role, password });
    if (!result.ok) throw new Error(result.message);
    return result.value.id;
  });
}

/** A session cookie for a user, minted in the database (no argon2, no throttle). */
export async function sessionCookie(databaseUrl: string, userId: number): Promise<string> {
  return withDatabase(databaseUrl, async (db) => `${SESSION_COOKIE}=${(await createSession(db, userId)).token}`);
}

export async function apiKeyFor(databaseUrl: string, role: Role, name = `${role} key`): Promise<string> {
  return withDatabase(databaseUrl, async (db) => {
    const result = await createApiKey(db, { name, role, createdBy: null });
    if (!result.ok) throw new Error(result.message);
    return result.value.key;
  });
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  /** A saved admin form's post/redirect/get: the POST's own answer (303 to the page without `?_action=`), followed as a browser does. */
  prg?: { status: number; location: string };
}

const CARRIED_RESULT = /(?:^|,\s*)(footfall_action_result=[^;]*)/;

/**
 * A request that does not follow redirects, with the body read — except the redirect that
 * ends a saved admin form (post/redirect/get, carrying its result in a cookie), which a browser
 * follows at once: that one is followed, and the POST's own answer kept in `prg`.
 */
export async function request(
  server: RunningServer,
  path: string,
  init: RequestInit & { cookie?: string } = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  const res = await fetch(server.url + path, { ...init, headers, redirect: 'manual' });
  const location = res.headers.get('location');
  const carried = CARRIED_RESULT.exec(res.headers.getSetCookie().join(', '))?.[1];
  if (res.status === 303 && location && carried) {
    await res.arrayBuffer();
    const cookie = [init.cookie, carried].filter(Boolean).join('; ');
    const page = await request(server, location, {
      headers: { 'x-forwarded-for': headers.get('x-forwarded-for') ?? '' },
      cookie,
    });
    return { ...page, prg: { status: res.status, location } };
  }
  return { status: res.status, headers: res.headers, text: await res.text(), location };
}

/**
 * Posts a form the way a browser on the admin does: same-origin `Origin`, urlencoded body,
 * `?_action=<name>` on the page's URL.
 */
export function postForm(
  server: RunningServer,
  page: string,
  action: string,
  fields: Record<string, string>,
  options: { cookie?: string; origin?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.origin !== null) headers.origin = options.origin ?? server.url;
  const separator = page.includes('?') ? '&' : '?';
  return request(server, `${page}${separator}_action=${action}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
    cookie: options.cookie,
  });
}

/** Signs in through the login form; returns the session cookie (name=value). */
export async function signInOverHttp(
  server: RunningServer,
  email: string,
  password = 'a long passphrase for tests',
): Promise<string> {
  const answer = await postForm(server, '/admin/login', 'accounts.login', { email, password });
  const cookie = /footfall_session=[^;]+/.exec(answer.headers.get('set-cookie') ?? '')?.[0];
  if (answer.status !== 303 || !cookie)
    throw new Error(`sign-in as ${email} failed: ${answer.status}\n${answer.text.slice(0, 500)}`);
  return cookie;
}

/** The setup link the server printed on its first start. */
export async function setupLinkFrom(server: RunningServer, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /\[setup\] .*?(http:\/\/\S+\/admin\/setup\?token=[a-z2-7]+)/.exec(server.output());
    if (match) return match[1]!;
    if (Date.now() > deadline) throw new Error(`no setup link printed:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The messages in a server's outbox folder (DATA_DIR/outbox), oldest first, parsed. Waits up to `timeoutMs` for `count`. */
export async function outboxMessages(
  dataDir: string,
  count = 1,
  timeoutMs = 5000,
): Promise<{ to: string; subject: string; text: string }[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { simpleParser } = await import('mailparser');
  const dir = `${dataDir}/outbox`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort();
    if (files.length >= count || Date.now() > deadline) {
      return Promise.all(
        files.map(async (file) => {
          const parsed = await simpleParser(await readFile(`${dir}/${file}`));
          const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
          return { to: to ?? '', subject: parsed.subject ?? '', text: parsed.text ?? '' };
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
