import type { Kysely } from 'kysely';

/**
 * When a draft's link stopped being part of it: each rendering of a draft marks the links it
 * no longer has (and clears the mark of those it has again). A click from a test send or
 * preview goes only to a link that is not retired, so a link a writer removed (say, to a site
 * they mistyped) is not an open redirect for whoever kept the test message.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('issue_links').addColumn('retired_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('issue_links').dropColumn('retired_at').execute();
}
