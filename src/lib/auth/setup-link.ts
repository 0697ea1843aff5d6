import type { DB } from '../db/database.ts';
import { createSetupLink } from './users.service.ts';

/**
 * On start, with no account yet: prints the one-time link for choosing the first admin
 * (valid one hour, single use; a restart prints a fresh one). `baseUrl` is where the server
 * is reachable. The line's shape is stable: tests and scripts read the URL from it.
 */
export async function announceSetupLink(
  db: DB,
  baseUrl: string,
  log: (line: string) => void = console.log,
): Promise<string | undefined> {
  const link = await createSetupLink(db, baseUrl.replace(/\/+$/, ''));
  if (link) log(`[setup] No accounts yet. Create the first admin (link valid 1 hour, single use): ${link.url}`);
  return link?.url;
}
