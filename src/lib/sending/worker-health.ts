import type { Db } from './sending.ts';
import { findTroubledWorkers } from './workers.repository.ts';

/**
 * A send worker that cannot record what it sent (its group commit keeps failing): what the
 * progress page and /healthz show. The worker's own process knows it from memory — the
 * database may be what is failing — and every process reads it from the workers' heartbeats.
 */
export interface CommitTrouble {
  workerId: string;
  /** The first failed commit of this run of failures. */
  since: number;
  attempts: number;
  lastError: string;
  /** Failed attempts after which the worker pauses the sends concerned. */
  pauseAfter: number;
}

// The server entry and Astro's bundle each have their own copy of this module: the map lives on globalThis.
const KEY = Symbol.for('footfall.sendWorkerTrouble');
function troubles(): Map<string, CommitTrouble> {
  const holder = globalThis as { [KEY]?: Map<string, CommitTrouble> };
  return (holder[KEY] ??= new Map<string, CommitTrouble>());
}

/** Called by the worker: its trouble now, or undefined once outcomes are recorded again. */
export function reportCommitTrouble(workerId: string, trouble: CommitTrouble | undefined): void {
  if (trouble) troubles().set(workerId, trouble);
  else troubles().delete(workerId);
}

/** A single failed commit retried at once is a blip, not news: trouble shows from the second failed attempt in a row. */
const SHOWN_FROM_ATTEMPT = 2;

/** This process's workers in trouble, and those of other processes whose heartbeat is younger than `leaseMs`. */
export async function findCommitTroubles(db: Db, now: number, leaseMs: number): Promise<CommitTrouble[]> {
  const found = new Map(troubles());
  try {
    for (const row of await findTroubledWorkers(db, now - leaseMs)) {
      if (found.has(row.worker_id) || row.failing_since === null) continue;
      found.set(row.worker_id, {
        workerId: row.worker_id,
        since: Number(row.failing_since),
        attempts: Number(row.failing_attempts),
        lastError: row.last_error ?? 'unknown error',
        pauseAfter: 0,
      });
    }
  } catch {
    // The database cannot be read: what this process knows stands.
  }
  return [...found.values()].filter((t) => t.attempts >= SHOWN_FROM_ATTEMPT).sort((a, b) => a.since - b.since);
}

/** One sentence for the admin. */
export function describeCommitTrouble(trouble: CommitTrouble, time: (at: number) => string): string {
  const pause =
    trouble.pauseAfter > trouble.attempts
      ? ` Sends pause after ${trouble.pauseAfter} failed attempts.`
      : trouble.pauseAfter > 0
        ? ' Its sends are paused.'
        : '';
  return (
    `The send worker cannot record its progress in the database: ${trouble.attempts} failed attempt${trouble.attempts === 1 ? '' : 's'} since ${time(trouble.since)} (${trouble.lastError}). ` +
    `Messages it already sent are kept and recorded once the database accepts them; it tries again with a growing wait.${pause}`
  );
}
