import type { Kysely } from 'kysely';

/**
 * Sign-in throttling shared by every server process (src/lib/auth/login-throttle.ts).
 * `login_throttles`: failed sign-ins counted per key — an account, a client address, or the two
 * together — since the window's first failure; `notified_at` says the account holder was mailed
 * for this window. `login_addresses`: where each account has signed in before, so its owner is
 * slowed, not locked out, while someone else guesses. Keys are HMACs under the server secret:
 * no address or email is stored.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('login_throttles')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('first_failure_at', 'bigint', (c) => c.notNull())
    .addColumn('last_failure_at', 'bigint', (c) => c.notNull())
    .addColumn('notified_at', 'bigint')
    .execute();
  await db.schema.createIndex('login_throttles_last_failure').on('login_throttles').column('last_failure_at').execute();
  await db.schema
    .createTable('login_addresses')
    .addColumn('account_key', 'text', (c) => c.notNull())
    .addColumn('address_key', 'text', (c) => c.notNull())
    .addColumn('last_signed_in_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('login_addresses_pk', ['account_key', 'address_key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('login_addresses').execute();
  await db.schema.dropTable('login_throttles').execute();
}
