import { createDatabase } from '../../src/lib/db/database.ts';

/** Reads page views straight from a server's database (after it stopped or while it runs). */
export async function pageViewsIn(
  databaseUrl: string,
): Promise<{ path: string; utm_campaign: string | null; utm_content: string | null; is_bot: number }[]> {
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    return await db
      .selectFrom('page_views')
      .select(['path', 'utm_campaign', 'utm_content', 'is_bot'])
      .orderBy('id')
      .execute();
  } finally {
    await db.destroy();
  }
}
