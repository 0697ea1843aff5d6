// The baseline for bench:webhooks: a bare node:http server that only checks Twilio's signature
// (the same function Footfall uses, over the same public URL and the same form parameters) and
// answers 204 — or 403 when it does not match.
//   node test/bench/bare-webhooks.ts <auth token> <public URL Twilio signs>
import http from 'node:http';
import { isTwilioRequest } from '../../src/lib/offline/provider-calls.ts';

const [token, signedUrl] = [process.argv[2]!, process.argv[3]!];
const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const params = [...new URLSearchParams(Buffer.concat(chunks).toString('utf8'))];
    const ok = isTwilioRequest(token, req.headers['x-twilio-signature'] as string | undefined, signedUrl, params);
    res.writeHead(ok ? 204 : 403);
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
