import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../app/context.ts';

/**
 * The fast path for /t/… (open pixel, click redirect), served by the server entry before
 * Astro is reached. The tracking issue fills it in; until then nothing here is a known URL.
 */
export async function handleTrackingRequest(_req: IncomingMessage, res: ServerResponse, _context: AppContext): Promise<void> {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end('Not found\n');
}
