import type { DB } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { hashStoredPhoneNumbers } from '../offline/called-numbers.ts';

export interface DatabaseUpgrade {
  /** The migrations applied now, in order. */
  applied: string[];
  /** The called numbers hashed now (once, on a database from before they were kept as hashes). */
  hashed: { calls: number; snapshots: number } | undefined;
}

/**
 * Brings a database up to this version: the migrations, then the steps that need the server
 * secret, which migrations do not have (called numbers kept as keyed hashes:
 * src/lib/offline/called-numbers.ts). Every process that opens the database for work calls this
 * first — the server, the send worker, `npm run db:migrate`, the demo — so none can forget a step.
 */
export async function upgradeDatabase(db: DB, serverSecret: string): Promise<DatabaseUpgrade> {
  const applied = await migrateToLatest(db);
  const hashed = await hashStoredPhoneNumbers(db, serverSecret);
  return { applied, hashed };
}
