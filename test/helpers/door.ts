import type { DB } from '../../src/lib/db/database.ts';
import { CountDeltas } from '../../src/lib/counts/ledger.ts';
import { SITE } from '../../src/lib/counts/buckets.ts';
import { countCounterDirectly, doorCounters } from '../../src/lib/door/door-counts.service.ts';

/**
 * The door counts two ways: the maintained rows (`door.*` in report_counts, every grain) and a
 * direct count of the kept raw intervals under each counter's rule, as sorted "metric@bucket=n".
 */
export async function doorFigures(db: DB): Promise<{ maintained: string[]; direct: string[] }> {
  const rows = await db
    .selectFrom('report_counts')
    .select(['metric', 'bucket', 'n'])
    .where('issue_id', '=', SITE)
    .where('metric', 'like', 'door.%')
    .execute();
  const maintained = rows
    .filter((r) => Number(r.n) !== 0)
    .map((r) => `${r.metric}@${Number(r.bucket)}=${Number(r.n)}`)
    .sort();
  const deltas = new CountDeltas();
  for (const counter of await doorCounters(db))
    for (const b of await countCounterDirectly(db, counter)) {
      for (const [minute, n] of b.minutes) deltas.atToTheMinute(SITE, 'door.in', minute, n);
      if (b.out) deltas.at(SITE, 'door.out', b.bucket, b.out);
    }
  const direct = deltas
    .rows()
    .map((r) => `${r.metric}@${r.bucket}=${r.n}`)
    .sort();
  return { maintained, direct };
}
