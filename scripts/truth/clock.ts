/**
 * Preloaded into a server the truth replay starts (`--import`): the replay sets the server's
 * clock over the IPC channel, so a hit "95 s after delivery" or "3 days after" happens without
 * waiting. The clock stands still at the time set (every Date.now() and new Date() answers it)
 * until the next message; times only move forward. Never loaded by the app itself.
 *
 * Message: {type: 'footfall-clock', at: <epoch ms>} → answered {type: 'footfall-clock-set', at}.
 */
const RealDate = Date;
let now: number | undefined;

if (typeof process.send === 'function') {
  process.on('message', (message: unknown) => {
    const m = message as { type?: string; at?: unknown };
    if (m?.type !== 'footfall-clock' || typeof m.at !== 'number' || !Number.isSafeInteger(m.at)) return;
    if (now === undefined || m.at > now) now = m.at;
    process.send!({ type: 'footfall-clock-set', at: now });
  });
  // The channel must not keep the server alive once it is told to stop.
  process.channel?.unref();
  const current = () => now ?? RealDate.now();
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [current()] : args, newTarget),
    apply: () => new RealDate(current()).toString(),
    get: (target, property, receiver) => (property === 'now' ? current : Reflect.get(target, property, receiver)),
  });
}
