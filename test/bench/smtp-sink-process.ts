// The receiving end for bench:send: a local smtp-server that accepts every message, reads and
// drops its bytes, and prints "received <n>" for every 500th message (and "listening on …" once).
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      if (received % 500 === 0) console.log(`received ${received}`);
      callback();
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
