// The baseline for bench:tracking: a bare node:http server answering every request with the
// pixel's bytes and headers (`pixel`) or the click's 302 (`click <location>`), the latter with
// an attribution cookie of the size a reader's click gets (the same 302, made once).
import http from 'node:http';
import { PIXEL } from '../../src/web/tracking-handler.ts';
import { makeAttributionCookie } from '../../src/lib/tracking/attribution.ts';
import { defaultSettings } from '../../src/lib/settings/settings.ts';

const [mode, location] = [process.argv[2], process.argv[3] ?? 'http://127.0.0.1/'];
const pixelHeaders = {
  'content-type': 'image/gif',
  'content-length': String(PIXEL.length),
  'cache-control': 'no-store, max-age=0',
  'x-content-type-options': 'nosniff',
};
const cookie = makeAttributionCookie(
  'bare-server-secret'.padEnd(48, 'x'),
  { issueId: 1, deliveryId: 123_456, subscriberId: 123_456, at: Date.now() },
  defaultSettings({ siteUrl: 'http://127.0.0.1', mail: { from: 'news@example.com' } }).attributionWindowDays,
  false,
);
const clickHeaders = {
  location,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer-when-downgrade',
  'set-cookie': cookie,
};
const server = http.createServer({ keepAliveTimeout: 5000 }, (_req, res) => {
  if (mode === 'pixel') {
    res.writeHead(200, pixelHeaders);
    res.end(PIXEL);
  } else {
    res.writeHead(302, clickHeaders);
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
