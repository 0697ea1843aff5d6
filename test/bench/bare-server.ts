// The baseline for bench:pages: a bare node:http server answering every request with the same bytes.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [file, port] = [process.argv[2]!, Number(process.argv[3] ?? 0)];
const body = readFileSync(file);
const headers = {
  'content-type': 'text/html; charset=utf-8',
  'content-length': String(body.length),
  'cache-control': 'no-cache',
};
const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
