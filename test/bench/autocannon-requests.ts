// One autocannon run whose requests cycle through prepared POSTs (a file, one JSON line each:
// {"path", "headers", "body"}): each request, on whichever connection, is the next one, sent as
// its raw bytes. Run by loadRequests in run-load.ts (pinned to its own core); prints the result
// as JSON like `autocannon -j`, plus `next` (where the next run should start) and `loadBusy`
// (the share of its core this process used).
//   node test/bench/autocannon-requests.ts <url> <requests file> <connections> <seconds> [start]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';

const [url, requestsFile, connections, seconds, start] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
];
const host = new URL(url).host;
const prepared = readFileSync(requestsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const { path, headers, body } = JSON.parse(line) as { path: string; headers: Record<string, string>; body: string };
    const bytes = Buffer.from(body, 'utf8');
    const head = [`POST ${path} HTTP/1.1`, `host: ${host}`, `content-length: ${bytes.length}`]
      .concat(Object.entries(headers).map(([k, v]) => `${k}: ${v}`))
      .join('\r\n');
    return Buffer.concat([Buffer.from(head + '\r\n\r\n', 'latin1'), bytes]);
  });
if (prepared.length === 0) throw new Error(`no requests in ${requestsFile}`);
let next = Number(start ?? 0);

// autocannon would rebuild each request from its options; the prepared bytes are sent as they are.
interface Iterator {
  currentRequest: { requestBuffer?: Buffer };
  resetted: boolean;
}
const RequestIterator = createRequire(import.meta.url)('autocannon/lib/requestIterator.js') as {
  prototype: {
    nextRequest: (this: Iterator) => unknown;
    setRequests: (this: Iterator, requests: unknown) => void;
  };
};
// A connection's first request too (autocannon builds it from its options when the connection starts).
const setRequests = RequestIterator.prototype.setRequests;
RequestIterator.prototype.setRequests = function (requests) {
  setRequests.call(this, requests);
  this.currentRequest = { requestBuffer: prepared[next++ % prepared.length]! };
};
RequestIterator.prototype.nextRequest = function () {
  this.resetted = false;
  this.currentRequest = { requestBuffer: prepared[next++ % prepared.length]! };
  return this.currentRequest;
};

const run = autocannon({ url, connections: Number(connections), duration: Number(seconds), method: 'POST' });
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
const result = await run;
const cpuUsed = process.cpuUsage(cpuBefore);
const loadBusy = (cpuUsed.user + cpuUsed.system) / 1000 / (performance.now() - startedAt);
process.stdout.write(JSON.stringify({ ...result, next, loadBusy }));
