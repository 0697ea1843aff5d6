import { setTimeout as sleep } from 'node:timers/promises';

/**
 * At most `limit` starts in any `windowMs` (a sliding window), granted in call order.
 * nodemailer's own pool limit lets every new connection send at once, so a pool of five
 * bursts five messages whatever the limit; this one holds to it exactly.
 */
export function createRateLimiter(limit: number, windowMs = 1000): () => Promise<void> {
  const starts: number[] = [];
  let queue = Promise.resolve();
  return function acquire() {
    const turn = queue.then(async () => {
      for (;;) {
        const now = Date.now();
        while (starts.length > 0 && starts[0]! <= now - windowMs) starts.shift();
        if (starts.length < limit) {
          starts.push(now);
          return;
        }
        await sleep(starts[0]! + windowMs - now);
      }
    });
    queue = turn;
    return turn;
  };
}
