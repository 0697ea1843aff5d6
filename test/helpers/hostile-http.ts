import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import type { RunningServer } from './server.ts';

/** The resident memory of a process, in MB (VmRSS of /proc/<pid>/status). */
export function residentMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

export interface FloodResult {
  /** The answer's status, or undefined when the connection ended without one. */
  status: number | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Bytes of body written before the answer came (or the connection ended). */
  sentBytes: number;
  /** The server's largest resident memory while it lasted, minus before, in MB. */
  rssGrowthMb: number;
  /** Statuses of the page requests made one after the other meanwhile. */
  readerStatuses: number[];
}

/**
 * A POST whose body is `totalBytes` sent chunked as fast as the server takes it, as an attacker
 * would (after `prefix`, e.g. a multipart part's headers): stops sending when the answer arrives. Meanwhile the server's memory is sampled and
 * `readerPath` (a page) is requested again and again, as readers would.
 */
export async function floodPost(
  server: RunningServer,
  path: string,
  options: { totalBytes: number; headers?: Record<string, string>; readerPath?: string; prefix?: string },
): Promise<FloodResult> {
  const pid = server.process.pid!;
  const before = residentMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentMb(pid))), 10);
  let done = false;
  const readerStatuses: number[] = [];
  const readers = (async () => {
    if (!options.readerPath) return;
    while (!done) {
      const answer = await fetch(server.url + options.readerPath, {
        headers: { 'user-agent': 'Mozilla/5.0 Firefox/133.0' },
      });
      await answer.arrayBuffer();
      readerStatuses.push(answer.status);
    }
  })();
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let sentBytes = 0;
  const answer = await new Promise<{ status: number | undefined; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve) => {
      const req = http.request(server.url + path, {
        method: 'POST',
        headers: {
          origin: server.url,
          'content-type': 'application/x-www-form-urlencoded',
          ...options.headers,
          'transfer-encoding': 'chunked',
        },
      });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => (body += text));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      });
      req.on('error', () => {
        if (!answered) resolve({ status: undefined, headers: {}, body: '' });
      });
      if (options.prefix) sentBytes += Buffer.byteLength(options.prefix);
      if (options.prefix) req.write(options.prefix);
      const pump = () => {
        while (!answered && !req.destroyed && sentBytes < options.totalBytes) {
          sentBytes += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered && !req.destroyed) req.end();
      };
      pump();
    },
  );
  // A moment more: whatever the server still does with the rest of the body shows in its memory.
  await new Promise((resolve) => setTimeout(resolve, 300));
  done = true;
  await readers;
  clearInterval(sampler);
  peak = Math.max(peak, residentMb(pid));
  return { ...answer, sentBytes, rssGrowthMb: peak - before, readerStatuses };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** True when the server sent "100 Continue" first. */
  continued: boolean;
}

/**
 * One request written byte for byte on a socket, the target as given (fetch and http.request
 * normalise "/api/../admin" before it leaves), with `Connection: close`; resolves with the answer.
 */
export function rawRequest(server: RunningServer, head: string, body = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => (received += text));
    socket.on('error', reject);
    socket.on('close', () => {
      let rest = received;
      let continued = false;
      if (rest.startsWith('HTTP/1.1 100')) {
        continued = true;
        rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
      }
      const end = rest.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = rest.slice(0, end < 0 ? undefined : end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0),
        headers,
        body: end < 0 ? '' : rest.slice(end + 4),
        continued,
      });
    });
    socket.write(
      `${head
        .trim()
        .split('\n')
        .map((line) => line.trim())
        .join('\r\n')}\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
