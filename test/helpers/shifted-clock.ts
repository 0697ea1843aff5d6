/**
 * Preloaded into a server process by tests that need a later day (`shiftedClockEnv`): the
 * whole process, and only it, lives FOOTFALL_TEST_CLOCK_SHIFT_MS ahead of the wall clock.
 * Footfall reads time only through `Date.now()` and `new Date()` in its own process (no SQL
 * clock), so shifting both is the same as starting the server later. Never loaded by the app.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SHIFT_VARIABLE = 'FOOTFALL_TEST_CLOCK_SHIFT_MS';

/** The environment that starts a server `shiftMs` in the future (for startServer's `env`). */
export function shiftedClockEnv(shiftMs: number): Record<string, string> {
  if (!Number.isSafeInteger(shiftMs)) throw new Error(`clock shift must be whole milliseconds, got ${shiftMs}`);
  const self = pathToFileURL(path.resolve(fileURLToPath(import.meta.url))).href;
  return {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${self}`.trim(),
    [SHIFT_VARIABLE]: String(shiftMs),
  };
}

const given = process.env[SHIFT_VARIABLE];
if (given !== undefined) {
  const shift = Number(given);
  if (!Number.isSafeInteger(shift))
    throw new Error(`${SHIFT_VARIABLE} must be whole milliseconds, got ${JSON.stringify(given)}`);
  const RealDate = Date;
  const shiftedNow = () => RealDate.now() + shift;
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [shiftedNow()] : args, newTarget),
    apply: () => new RealDate(shiftedNow()).toString(),
    get: (target, property, receiver) => (property === 'now' ? shiftedNow : Reflect.get(target, property, receiver)),
  });
}
