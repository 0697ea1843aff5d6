import type { DB } from '../db/database.ts';
import { isOfflineKind } from './offline-events.ts';
import { recordTap, todayCounts, undoTap } from './offline-events.service.ts';

/**
 * What the tally page's script sends to `POST /admin/tally/taps` (JSON, the session's user):
 *
 *   {"sentAt": <device clock now>, "taps": [{"clientId": "<uuid>", "kind": "call" | "walk_in",
 *     "at": <device clock at the tap>, "mentioned": true?, "note": "…"?}, …]}
 *   {"undo": "<clientId>"}
 *
 * Each tap is answered on its own — `stored`, `duplicate` (stored before: nothing changed) or
 * `refused` with a message (the script drops it and says why; retrying would not help) — along
 * with today's counts. Only a malformed payload as a whole is a 400.
 */

export const MAX_TAPS_PER_REQUEST = 100;

export type TapResult =
  | { clientId: string; status: 'stored' | 'duplicate'; id: number; at: number; clamped?: true }
  | { clientId: string; status: 'refused'; message: string };

export type SyncAnswer =
  | { status: 200; body: { results: TapResult[]; today: { day: string; call: number; walk_in: number } } }
  | { status: 200; body: { undone: true; today: { day: string; call: number; walk_in: number } } }
  | { status: 400 | 404 | 409; body: { error: string; message: string } };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

export async function receiveTaps(
  db: DB,
  userId: number,
  payload: unknown,
  timeZone: string,
  now = Date.now(),
): Promise<SyncAnswer> {
  const bad = (message: string): SyncAnswer => ({ status: 400, body: { error: 'bad_request', message } });
  if (!isObject(payload)) return bad('Send a JSON object: {"taps": [...]} or {"undo": "<clientId>"}.');

  if (payload.undo !== undefined) {
    if (typeof payload.undo !== 'string') return bad('"undo" must be the client id of a tap.');
    const result = await undoTap(db, userId, { clientId: payload.undo }, now);
    if (!result.ok)
      return { status: result.code === 'not_found' ? 404 : 409, body: { error: result.code, message: result.message } };
    return { status: 200, body: { undone: true, today: await todayCounts(db, timeZone, now) } };
  }

  const taps = payload.taps;
  if (!Array.isArray(taps) || taps.length === 0) return bad('"taps" must be a list of taps.');
  if (taps.length > MAX_TAPS_PER_REQUEST) return bad(`At most ${MAX_TAPS_PER_REQUEST} taps per request.`);
  if (payload.sentAt !== undefined && !isTime(payload.sentAt))
    return bad('"sentAt" must be the device time in epoch milliseconds.');
  const sentAt = payload.sentAt;

  const results: TapResult[] = [];
  for (const tap of taps) {
    const clientId = isObject(tap) && typeof tap.clientId === 'string' ? tap.clientId.slice(0, 100) : '';
    const refuse = (message: string) => results.push({ clientId, status: 'refused', message });
    if (!isObject(tap)) {
      refuse('A tap must be an object.');
      continue;
    }
    if (!isOfflineKind(tap.kind)) {
      refuse('Unknown kind: a tap is a "call" or a "walk_in".');
      continue;
    }
    if (!isTime(tap.at)) {
      refuse('A tap needs its time ("at", epoch milliseconds).');
      continue;
    }
    if (tap.note !== undefined && tap.note !== null && typeof tap.note !== 'string') {
      refuse('The note must be text.');
      continue;
    }
    const outcome = await recordTap(
      db,
      userId,
      {
        kind: tap.kind,
        clientId,
        at: tap.at,
        sentAt,
        mentioned: tap.mentioned === true ? true : tap.mentioned === false ? false : null,
        note: typeof tap.note === 'string' ? tap.note.slice(0, 2000) : null,
      },
      now,
    );
    if (!outcome.ok) refuse(outcome.message);
    else
      results.push({
        clientId,
        status: outcome.duplicate ? 'duplicate' : 'stored',
        id: outcome.event.id,
        at: outcome.event.at,
        ...(outcome.clamped ? { clamped: true as const } : {}),
      });
  }
  return { status: 200, body: { results, today: await todayCounts(db, timeZone, now) } };
}
