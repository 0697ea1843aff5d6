import type { DB } from '../db/database.ts';
import { phoneHash } from '../phone/phone-hash.ts';
import { findSnapshotsWithoutPhoneHash, setSnapshotPhoneHash } from '../issues/issues.repository.ts';
import {
  dropPlainCalledNumbers,
  findPlainCalledNumbers,
  hasPlainCalledNumbers,
  hashPlainCalledNumber,
  lockOfflineEvents,
} from './offline-events.repository.ts';

/**
 * Called numbers are kept only as keyed hashes (`offline_events.to_hash`), and a call is credited
 * by comparing that hash with the hash of an issue's tracked number stored on its snapshot
 * (`issue_snapshots.tracked_phone_hash`). Rows stored before then carried the plain number, and
 * snapshots no hash; hashing needs the server secret, which migrations do not have
 * (db/migrations/2026_12_23_100000_hash_called_numbers.ts), so every process that migrates calls
 * this right after, with the secret.
 *
 * Once: it runs while `offline_events.to_number` exists and drops it at the end, all in one
 * transaction (a crash leaves everything as it was, to be done at the next start). A second
 * process starting at the same moment waits on the table's lock and then finds nothing to do.
 * Answers what it hashed; undefined when there was nothing left to do.
 */
export async function hashStoredPhoneNumbers(
  db: DB,
  serverSecret: string,
): Promise<{ calls: number; snapshots: number } | undefined> {
  if (!(await hasPlainCalledNumbers(db))) return undefined;
  return db.transaction().execute(async (trx) => {
    await lockOfflineEvents(trx);
    if (!(await hasPlainCalledNumbers(trx))) return undefined;
    let calls = 0;
    for (const number of await findPlainCalledNumbers(trx))
      calls += await hashPlainCalledNumber(trx, number, phoneHash(serverSecret, number));
    const snapshots = await findSnapshotsWithoutPhoneHash(trx);
    for (const { issueId, trackedPhone } of snapshots)
      await setSnapshotPhoneHash(trx, issueId, phoneHash(serverSecret, trackedPhone));
    await dropPlainCalledNumbers(trx);
    return { calls, snapshots: snapshots.length };
  });
}
