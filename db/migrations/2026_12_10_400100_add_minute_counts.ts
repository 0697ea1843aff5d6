import { sql, type Kysely } from 'kysely';

/**
 * The site's visits, calls and walk-ins per minute (`visit~m`, `call~m`, `walk_in~m` in
 * report_counts, issue 0): the lift's window is the send's minute to now and each earlier week's
 * the same minutes, which quarter-hours cannot split. Kept as counts, like every other figure,
 * so pruning raw rows and erasing a person change nothing. Filled here from the raw rows still
 * kept; minutes already pruned stay uncounted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    insert into report_counts (issue_id, metric, dim, bucket, n)
    select 0, 'visit~m', '', started_at - started_at % 60000, count(*) from visits group by started_at - started_at % 60000
    on conflict do nothing`.execute(db);
  await sql`
    insert into report_counts (issue_id, metric, dim, bucket, n)
    select 0, kind || '~m', '', at - at % 60000, count(*) from offline_events where undone_at is null group by kind, at - at % 60000
    on conflict do nothing`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db
    .deleteFrom('report_counts')
    .where('issue_id', '=', 0)
    .where('metric', 'in', ['visit~m', 'call~m', 'walk_in~m'])
    .execute();
}
