import { sql } from 'kysely';
import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import type { Database } from '../../src/lib/db/schema.ts';

/** How many rows `table` holds. */
export async function countRows(db: DB, table: keyof Database): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

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

/**
 * An issue's bounce reports counted straight from the raw rows, in SQL written here (not the
 * repository's): per kind and reason, and per kind, to hold the maintained figures against.
 */
export async function rawBounceCounts(
  db: DB,
  issueId: number,
): Promise<{
  reasons: { kind: string; reason: string; count: number }[];
  totals: { hard: number; soft: number; complaint: number };
}> {
  const { rows } = await sql<{
    kind: string;
    reason: string;
    n: number;
  }>`select kind, reason, count(*) as n from bounce_events where issue_id = ${issueId} group by kind, reason`.execute(
    db,
  );
  const reasons = rows.map((r) => ({ kind: r.kind, reason: r.reason, count: Number(r.n) }));
  const total = (kind: string) => reasons.filter((r) => r.kind === kind).reduce((a, r) => a + r.count, 0);
  return { reasons, totals: { hard: total('hard'), soft: total('soft'), complaint: total('complaint') } };
}
