// One autocannon run whose requests cycle through a list of paths (a file, one path a line):
// each request, on whichever connection, takes the next path. Run by loadPaths in run-load.ts
// (pinned to its own core); prints the result as JSON like `autocannon -j`, plus `next`: the
// position after the last path taken, to start the next run there.
//   node test/bench/autocannon-paths.ts <url> <paths file> <connections> <seconds> <user agent> [start]
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, pathsFile, connections, seconds, userAgent, start] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];
const paths = readFileSync(pathsFile, 'utf8').split('\n').filter(Boolean);
if (paths.length === 0) throw new Error(`no paths in ${pathsFile}`);
let next = Number(start ?? 0);

const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  headers: { 'user-agent': userAgent },
  requests: [
    {
      setupRequest: (request) => {
        request.path = paths[next++ % paths.length]!;
        return request;
      },
    },
  ],
});
process.stdout.write(JSON.stringify({ ...result, next }));
