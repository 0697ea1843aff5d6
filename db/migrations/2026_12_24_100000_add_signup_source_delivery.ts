import type { Kysely } from 'kysely';

/**
 * Signups they referred, per experiment arm (issue 19): the click that brought a signup's visit.
 *
 * - `subscribers.source_delivery_id`: the delivery whose link the signing-up browser clicked (the
 *   attribution cookie names it: a recipient's own click, or a forwarded copy's, which belongs to
 *   the forwarder's delivery); null when the signup came otherwise (a page's campaign alone, no
 *   cookie) or before this column. Set with `source_issue_id`, never changed after confirmation.
 *   No foreign key, like the other event references: erasure and retention keep the ledger row.
 *   Signups confirmed before this column cannot be split by arm.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subscribers').addColumn('source_delivery_id', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subscribers').dropColumn('source_delivery_id').execute();
}
