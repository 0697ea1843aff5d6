import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * Experiments on a send (issue 19): one experiment per issue (an A/B test of 2–4 variants, a
 * randomised holdout, or both), its arms, and each delivery's arm. A held-out recipient keeps
 * a ledger row with status `held_out` (never sent, never counted as delivered or skipped).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const ref = postgres ? 'bigint' : 'integer';
  const share = postgres ? 'double precision' : 'real';
  await db.schema
    .createTable('experiments')
    .addColumn('issue_id', ref, (c) => c.primaryKey().references('issues.id').onDelete('cascade'))
    // The assignment's seed: recipients are ordered by HMAC-SHA256(seed, subscriber id) and cut by arm sizes.
    .addColumn('seed', 'text', (c) => c.notNull())
    .addColumn('test_share', share, (c) => c.notNull().defaultTo(0))
    .addColumn('holdout_share', share, (c) => c.notNull().defaultTo(0))
    .addColumn('wait_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('measure', 'text', (c) => c.notNull().defaultTo('human_clickers'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('winner_arm', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('decided_how', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('experiment_arms')
    .addColumn('issue_id', ref, (c) => c.notNull().references('experiments.issue_id').onDelete('cascade'))
    // 'A'..'D' (variants), 'rest' (gets the winner, or everything without an A/B test), 'holdout'.
    .addColumn('arm', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('preheader', 'text')
    .addColumn('body_markdown', 'text')
    // Frozen when sending starts (variants only): the variant's rendered message and its links.
    .addColumn('html', 'text')
    .addColumn('text', 'text')
    .addColumn('link_ids', 'text')
    // Ledger rows assigned to the arm; null until the audience is frozen.
    .addColumn('size', 'integer')
    .addPrimaryKeyConstraint('experiment_arms_pk', ['issue_id', 'arm'])
    .execute();
  await db.schema.alterTable('deliveries').addColumn('arm', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('deliveries').dropColumn('arm').execute();
  await db.schema.dropTable('experiment_arms').execute();
  await db.schema.dropTable('experiments').execute();
}
