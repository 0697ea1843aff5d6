import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

export const DOVECOT = '/usr/sbin/dovecot';

/** Whether Debian's Dovecot is installed (`.ci/run` installs dovecot-imapd). */
export const dovecotInstalled = existsSync(DOVECOT);

export interface ImapServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `imap://user:password@127.0.0.1:PORT/INBOX`: what BOUNCE_IMAP_URL holds. */
  url: string;
  /** A logged-in client for the test's own look at the mailbox (APPEND, listing). */
  client(): Promise<ImapFlow>;
  /** Adds a raw message to a folder (created if missing), as the relay's DSN arriving. */
  append(raw: string | Buffer, folder?: string): Promise<void>;
  /** The Message-ID headers of the messages in a folder (empty when the folder does not exist). */
  messageIds(folder: string): Promise<string[]>;
  /** Stops the server (the mailbox stays on disk until close). */
  stop(): Promise<void>;
  /** Starts it again on the same port and mail folder. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForGreeting(port: number, log: string, tls: boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
        : connect(port, '127.0.0.1');
      let text = '';
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('* OK')) {
          socket.end('x LOGOUT\r\n');
          socket.destroy();
          resolve(true);
        }
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until)
      throw new Error(`Dovecot did not answer on port ${port}: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Debian's Dovecot as the test's own IMAP server: a generated configuration in a temporary
 * folder, plaintext login from a passwd-file, Maildir under the same folder, a free high port
 * on 127.0.0.1. Run by root (a container), Dovecot will not run its login and internal
 * processes or the mail user as root: they run as the package's `dovenull` and `dovecot`
 * users, which own the mail folder. Run by anyone else, everything runs as that user.
 */
export async function startImapServer(
  options: { tls?: { keyFile: string; certFile: string } } = {},
): Promise<ImapServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-imap-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const user = 'bounces';
  const password = 'imap-test-password';
  const root = process.getuid?.() === 0;
  const me = userInfo();
  const internalUser = root ? 'dovecot' : me.username;
  const loginUser = root ? 'dovenull' : me.username;
  const mailDir = path.join(dir, 'mail');
  mkdirSync(mailDir);
  mkdirSync(path.join(dir, 'run'));
  mkdirSync(path.join(dir, 'state'));
  if (root) {
    const uid = Number(/^dovecot:[^:]*:(\d+):(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1]);
    const gid = Number(/^dovecot:[^:]*:(\d+):(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[2]);
    chownSync(mailDir, uid, gid);
  }
  const mailUid = root ? 'dovecot' : String(me.uid);
  const mailGid = root ? 'dovecot' : String(me.gid);
  writeFileSync(path.join(dir, 'passwd'), `${user}:{PLAIN}${password}::::::\n`, { mode: 0o644 });
  const log = path.join(dir, 'dovecot.log');
  const conf = path.join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${log}
protocols = imap
listen = 127.0.0.1
${options.tls ? `ssl = required\nssl_cert = <${options.tls.certFile}\nssl_key = <${options.tls.keyFile}` : 'ssl = no'}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${internalUser}
default_internal_group = ${root ? 'dovecot' : String(me.gid)}
default_login_user = ${loginUser}
first_valid_uid = 1
mail_location = maildir:${mailDir}/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${mailUid} gid=${mailGid} home=${mailDir}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${options.tls ? 0 : port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${options.tls ? port : 0}
    ssl = ${options.tls ? 'yes' : 'no'}
  }
}
`,
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: 'ignore' });
    await waitForGreeting(port, log, options.tls !== undefined);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running?.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
    // The listener may linger a moment after the master exits.
    for (let i = 0; i < 50; i++) {
      const open = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (!open) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await start();

  const client = async () => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: options.tls !== undefined,
      ...(options.tls ? { tls: { rejectUnauthorized: false } } : {}),
      auth: { user, pass: password },
      logger: false,
    });
    await c.connect();
    return c;
  };
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url: `${options.tls ? 'imaps' : 'imap'}://${user}:${password}@127.0.0.1:${port}/INBOX`,
    client,
    async append(raw, folder = 'INBOX') {
      const c = await client();
      try {
        if (folder !== 'INBOX') await c.mailboxCreate(folder).catch(() => undefined);
        await c.append(folder, raw);
      } finally {
        await c.logout();
      }
    },
    async messageIds(folder) {
      const c = await client();
      try {
        const exists = (await c.list()).some((m) => m.path === folder);
        if (!exists) return [];
        const lock = await c.getMailboxLock(folder);
        try {
          const ids: string[] = [];
          for await (const m of c.fetch('1:*', { envelope: true }, { uid: false }))
            ids.push(m.envelope?.messageId ?? '');
          return ids;
        } catch {
          return [];
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    },
    stop,
    restart: start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
