/** How big the demo history is; `npm run demo` makes the full one, tests a small one. */
export interface DemoScale {
  /** About this many subscriber rows at the end. */
  subscribers: number;
  weeks: number;
  issues: number;
  seed: number;
}

export const FULL_DEMO: DemoScale = { subscribers: 5000, weeks: 12, issues: 8, seed: 2026 };

export const DEMO_LIMITS = { subscribers: [50, 100_000], weeks: [1, 52], issues: [1, 8] } as const;

/** The full demo with the sizes given (as typed on the command line), or the first that is out of bounds, in words. */
export function readDemoScale(
  given: Partial<Record<keyof typeof DEMO_LIMITS, string>>,
): { ok: true; scale: DemoScale } | { ok: false; message: string } {
  const scale = { ...FULL_DEMO };
  for (const key of Object.keys(DEMO_LIMITS) as (keyof typeof DEMO_LIMITS)[]) {
    if (given[key] === undefined) continue;
    const n = Number(given[key]);
    const [min, max] = DEMO_LIMITS[key];
    if (!/^\d+$/.test(given[key]) || n < min || n > max)
      return {
        ok: false,
        message: `--${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(given[key])})`,
      };
    scale[key] = n;
  }
  return { ok: true, scale };
}
