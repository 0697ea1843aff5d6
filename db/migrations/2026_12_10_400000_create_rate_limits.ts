import type { Kysely } from 'kysely';

/**
 * Fixed-window limits shared by every server process (src/lib/security/rate-limit.ts): signups
 * per client network, password-reset requests per network and per address, failed webhook
 * authentications. Kept in memory they were per process — two processes behind a load balancer
 * allowed twice the limit and a restart forgot it. `key` is the rule's name and an HMAC of the
 * value under the server secret (no address or email is stored); `hits` counts the window that
 * ends at `expires_at`, after which the row starts again or is cleaned away.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_limits_expires_at').on('rate_limits').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
