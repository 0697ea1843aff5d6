import { type Kysely, sql } from 'kysely';

/**
 * Mail clients and devices (issue 17, item 20): the report counts likely-human opens and human
 * clicks by mail program family (Apple Mail, Gmail, Outlook, …) and by device class (desktop,
 * phone, tablet). Agents are never stored, so both small labels are worked out from the agent
 * when the hit is judged and kept on its row. Rows stored before this have neither: the report
 * counts them as unknown rather than guessing from the coarser agent family.
 *
 * The counts the report reads (raw rows are pruned): `agent.open` and `agent.click` per issue,
 * dim "<class>|<client>|<device>", bucket 0; rows already stored are counted as unknown.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['opens', 'clicks']) {
    await db.schema.alterTable(table).addColumn('client', 'text').execute();
    await db.schema.alterTable(table).addColumn('device', 'text').execute();
  }
  await sql`insert into report_counts (issue_id, metric, dim, bucket, n) select issue_id, 'agent.open', class || '|unknown|unknown', 0, count(*) from opens group by issue_id, class`.execute(
    db,
  );
  await sql`insert into report_counts (issue_id, metric, dim, bucket, n) select issue_id, 'agent.click', class || '|unknown|unknown', 0, count(*) from clicks group by issue_id, class`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from report_counts where metric in ('agent.open', 'agent.click')`.execute(db);
  for (const table of ['clicks', 'opens']) {
    await db.schema.alterTable(table).dropColumn('device').execute();
    await db.schema.alterTable(table).dropColumn('client').execute();
  }
}
