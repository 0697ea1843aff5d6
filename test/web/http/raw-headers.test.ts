import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { allRawHeaders, firstRawHeader } from '../../../src/web/http/raw-headers.ts';

describe('raw request headers', () => {
  it('read as Node reads req.headers: any case, the first User-Agent, every X-Forwarded-For', async () => {
    const seen: { first: unknown; all: unknown; missing: unknown; node: http.IncomingHttpHeaders }[] = [];
    const server = http.createServer((req, res) => {
      seen.push({
        first: firstRawHeader(req.rawHeaders, 'user-agent'),
        all: allRawHeaders(req.rawHeaders, 'x-forwarded-for'),
        missing: firstRawHeader(req.rawHeaders, 'referer'),
        node: req.headers,
      });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    // Repeated headers need a raw request: fetch would merge them.
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          port,
          host: '127.0.0.1',
          path: '/',
          headers: [
            'Host',
            `127.0.0.1:${port}`,
            'USER-Agent',
            'first agent',
            'user-agent',
            'second agent',
            'X-Forwarded-For',
            '203.0.113.7',
            'x-forwarded-for',
            '10.0.0.1, 10.0.0.2',
          ],
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    server.close();
    const [{ first, all, missing, node }] = seen as [(typeof seen)[number]];
    expect(first).toBe('first agent');
    expect(first).toBe(node['user-agent']);
    expect(all).toEqual(['203.0.113.7', '10.0.0.1, 10.0.0.2']);
    expect((all as string[]).join(', ')).toBe(node['x-forwarded-for']);
    expect(missing).toBeUndefined();
    expect(allRawHeaders([], 'x-forwarded-for')).toBeUndefined();
  });
});
