import { createDatabase } from '../../src/lib/db/database.ts';
import { countRows } from './rows.ts';

/** A subscriber row as stored, read straight from a server's database. */
export async function subscriberIn(databaseUrl: string, email: string) {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    const row = await db.selectFrom('subscribers').selectAll().where('email', '=', email).executeTakeFirst();
    if (!row) return undefined;
    const topics = await db
      .selectFrom('subscriber_topics')
      .select('topic')
      .where('subscriber_id', '=', row.id)
      .orderBy('topic')
      .execute();
    return { ...row, topics: topics.map((t) => t.topic) };
  } finally {
    await db.destroy();
  }
}

export async function subscriberCount(databaseUrl: string): Promise<number> {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    return await countRows(db, 'subscribers');
  } finally {
    await db.destroy();
  }
}

/** The first link in a text part that starts with `prefix`. */
export function linkIn(text: string | undefined, prefix: string): string {
  const match = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\s<>"\\]]+`).exec(text ?? '');
  if (!match) throw new Error(`no link starting with ${prefix} in:\n${text}`);
  return match[0];
}

/**
 * Follows a confirmation link as a person does: the GET shows the Confirm button (and changes
 * nothing), the button POSTs the page's form. Answers the page after the button.
 */
export async function pressConfirm(confirmLink: string, headers: Record<string, string> = {}): Promise<Response> {
  const { origin } = new URL(confirmLink);
  const page = await fetch(confirmLink, { headers });
  const html = await page.text();
  const token = /<input type="hidden" name="token" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !token)
    throw new Error(`no Confirm button at ${confirmLink} (${page.status}):\n${html.slice(0, 600)}`);
  return fetch(`${origin}/subscribe/confirm?_action=confirmSignup`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin, ...headers },
    body: new URLSearchParams({ token }),
  });
}
