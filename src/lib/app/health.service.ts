import type { DB } from '../db/database.ts';
import { dialectOf, pingDatabase } from '../db/database.ts';
import { findCommitTroubles } from '../sending/worker-health.ts';

/** What GET /healthz answers: the database reached, and every send worker able to record what it sends. */
export interface Health {
  ok: boolean;
  database: { dialect: ReturnType<typeof dialectOf>; reachable: boolean };
  sending: {
    status: 'ok' | 'cannot_record';
    workers: { worker: string; failing_since: number; failed_attempts: number; last_error: string }[];
  };
}

export async function checkHealth(db: DB, leaseMs: number, now = Date.now()): Promise<Health> {
  const reachable = await pingDatabase(db);
  const troubles = await findCommitTroubles(db, now, leaseMs);
  return {
    ok: reachable && troubles.length === 0,
    database: { dialect: dialectOf(db), reachable },
    sending: {
      status: troubles.length === 0 ? 'ok' : 'cannot_record',
      workers: troubles.map((t) => ({
        worker: t.workerId,
        failing_since: t.since,
        failed_attempts: t.attempts,
        last_error: t.lastError,
      })),
    },
  };
}
