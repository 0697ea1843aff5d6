// The baseline for bench:send: plain pooled nodemailer sending one pre-rendered message to
// `count` recipients through the same sink, with the same pool size. Prints the elapsed time
// (from the first sendMail to the last answer) and the process's peak RSS as JSON.
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';

const [url, countArg, poolArg, messageFile] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countArg);
const message = JSON.parse(readFileSync(messageFile, 'utf8')) as {
  from: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
};
const transporter = nodemailer.createTransport({
  url,
  pool: true,
  maxConnections: Number(poolArg),
  disableFileAccess: true,
  disableUrlAccess: true,
  logger: false,
});

const started = performance.now();
await Promise.all(
  Array.from({ length: count }, (_, i) => transporter.sendMail({ ...message, to: `reader${i}@example.com` })),
);
const elapsedMs = performance.now() - started;
transporter.close();
const peakRss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
console.log(JSON.stringify({ elapsedMs, peakRss }));
