import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The frozen issue, stored once when sending starts: HTML and text with per-recipient
  // placeholders ({{open}}, {{click_N}}, {{unsubscribeUrl}}, {{preferencesUrl}}), the subject,
  // the header template, the ids of its registered links by position (JSON), and the web-archive body. Sending only fills placeholders.
  await db.schema
    .createTable('issue_snapshots')
    .addColumn('issue_id', 'bigint', (c) => c.primaryKey().references('issues.id').onDelete('cascade'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('reply_to', 'text')
    .addColumn('html', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('headers', 'text', (c) => c.notNull())
    .addColumn('archive_html', 'text', (c) => c.notNull())
    .addColumn('link_ids', 'text', (c) => c.notNull())
    .addColumn('open_tracking', 'integer', (c) => c.notNull())
    .addColumn('click_tracking', 'integer', (c) => c.notNull())
    .addColumn('site_url', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('issue_snapshots').execute();
}
