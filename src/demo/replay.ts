/**
 * Replays planned happenings through the services, day by day in time order. One person's
 * (or one visitor's) happenings run one after another — a click before the page it leads to —
 * while different people's run together, so the event writer commits many rows at once: a
 * batch takes the earliest waiting happening of each lane that day. Lanes share nothing that
 * depends on their order, and a batch never crosses midnight UTC (when the visitor hash's
 * salt changes).
 */
export interface Happening {
  at: number;
  /** Who it happens to: happenings of one lane run in order, never at once. */
  lane: string;
  /** Called with `at` to the millisecond (times are integer epoch milliseconds everywhere). */
  run: (at: number) => Promise<void>;
}

const DAY_MS = 86_400_000;
const MAX_BATCH = 1000;

export class Replay {
  #pending: (Happening & { seq: number })[] = [];
  #seq = 0;
  /** Happenings run so far. */
  done = 0;

  add(happening: Happening): void {
    this.#pending.push({ ...happening, at: Math.round(happening.at), seq: this.#seq++ });
  }

  get pending(): number {
    return this.#pending.length;
  }

  /** Runs every happening before `until`, in time order per lane; later ones wait for the next call. */
  async runUntil(until: number): Promise<void> {
    this.#pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
    let due = 0;
    while (due < this.#pending.length && this.#pending[due]!.at < until) due++;
    let day: Happening[] = [];
    for (const happening of this.#pending.slice(0, due)) {
      if (day.length > 0 && Math.floor(happening.at / DAY_MS) !== Math.floor(day[0]!.at / DAY_MS)) {
        await this.#runDay(day);
        day = [];
      }
      day.push(happening);
    }
    await this.#runDay(day);
    this.#pending = this.#pending.slice(due);
  }

  /** One day's happenings: each batch takes the earliest waiting happening of every lane. */
  async #runDay(day: Happening[]): Promise<void> {
    let waiting = day;
    while (waiting.length > 0) {
      const lanes = new Set<string>();
      const batch: Happening[] = [];
      const later: Happening[] = [];
      for (const happening of waiting) {
        if (batch.length < MAX_BATCH && !lanes.has(happening.lane)) batch.push(happening);
        else later.push(happening);
        lanes.add(happening.lane);
      }
      const results = await Promise.allSettled(batch.map((h) => h.run(h.at)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      this.done += batch.length;
      waiting = later;
    }
  }

  /** Forgets what was planned after the end of the history. */
  dropFrom(at: number): number {
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((h) => h.at < at);
    return before - this.#pending.length;
  }
}
