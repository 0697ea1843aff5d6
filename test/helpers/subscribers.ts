import { createDatabase } from '../../src/lib/db/database.ts';

/** A subscriber row as stored, read straight from a server's database. */
export async function subscriberIn(databaseUrl: string, email: string) {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    const row = await db.selectFrom('subscribers').selectAll().where('email', '=', email).executeTakeFirst();
    if (!row) return undefined;
    const topics = await db.selectFrom('subscriber_topics').select('topic').where('subscriber_id', '=', row.id).orderBy('topic').execute();
    return { ...row, topics: topics.map((t) => t.topic) };
  } finally {
    await db.destroy();
  }
}

export async function subscriberCount(databaseUrl: string): Promise<number> {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    const row = await db.selectFrom('subscribers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
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
