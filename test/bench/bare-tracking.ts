// The baseline for bench:tracking: a bare node:http server answering every request with the
// pixel's bytes and headers (`pixel`) or the click's 302 (`click <location>`).
import http from 'node:http';
import { PIXEL } from '../../src/lib/tracking/tracking-handler.ts';

const [mode, location] = [process.argv[2], process.argv[3] ?? 'http://127.0.0.1/'];
const pixelHeaders = { 'content-type': 'image/gif', 'content-length': String(PIXEL.length), 'cache-control': 'no-store, max-age=0', 'x-content-type-options': 'nosniff' };
const clickHeaders = { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' };
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
