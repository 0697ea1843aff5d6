import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseMailbox } from './text/mailbox.ts';

/** Embedded defaults: a SQLite file and an outbox under DATA_DIR, a secret generated on first start. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4321),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:|[^:]+$|[a-zA-Z]:\\)/, 'must be postgres://…, sqlite:<path> or a file path')
    .optional(),
  SITE_URL: z.url({ protocol: /^https?$/ }).optional(),
  TRUST_PROXY: z
    .string()
    .regex(
      /^(\d+|[0-9a-fA-F.:]+(\s*,\s*[0-9a-fA-F.:]+)*)$/,
      'must be a hop count (1) or a comma-separated list of proxy addresses',
    )
    .optional(),
  SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  SMTP_TLS_CA_FILE: z.string().min(1).optional(),
  MAIL_FROM: z
    .string()
    .refine(
      (v) => !/[\r\n\0]/.test(v) && parseMailbox(v).ok,
      'must be one address, e.g. "Frobozz Electric <newsletter@example.com>"',
    )
    .optional(),
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(5),
  SMTP_RATE_PER_SECOND: z.coerce.number().int().min(1).max(100_000).optional(),
  EVENT_WRITER_MAX_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(0),
  EVENT_WRITER_MAX_TURNS: z.coerce.number().int().min(0).max(10).default(2),
  EVENT_WRITER_MAX_BATCH: z.coerce.number().int().min(1).max(100_000).default(2000),
  EVENT_WRITER_CONCURRENCY: z.coerce.number().int().min(1).max(8).default(1),
  LOG_REQUESTS: z.enum(['0', '1']).default('0'),
  DKIM_DOMAIN: z
    .string()
    .regex(
      /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/,
      'must be a domain name such as example.com',
    )
    .optional(),
  DKIM_SELECTOR: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$/, 'must be a DNS label such as footfall2026')
    .optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  SEND_WORKER: z.enum(['0', '1']).default('1'),
  SEND_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  SEND_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  SEND_RETRY_BASE_MS: z.coerce.number().int().min(1).max(86_400_000).default(60_000),
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  SEND_PAUSE_AFTER_FAILURES: z.coerce.number().int().min(1).max(1_000_000).default(20),
  SEND_COMMIT_RETRY_MAX_MS: z.coerce.number().int().min(250).max(600_000).default(30_000),
  SEND_COMMIT_ATTEMPTS: z.coerce.number().int().min(2).max(100_000).default(12),
  SEND_UNDO_SECONDS: z.coerce.number().int().min(0).max(600).default(30),
  /** How often the send worker looks whether the weekly digest is due (Mondays 08:00, site time). */
  DIGEST_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** How long a process keeps the Settings it read before reading them again (a save elsewhere shows after this). */
  SETTINGS_CACHE_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  // Native bounce webhooks (src/lib/bounces/README.md); each refuses everything until configured.
  SES_SNS_TOPIC_ARNS: z
    .string()
    .regex(
      /^\s*arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]{1,256}\s*(,\s*arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]{1,256}\s*)*$/,
      'must be SNS topic ARNs separated by commas (arn:aws:sns:<region>:<account>:<topic>)',
    )
    .optional(),
  SES_SNS_CERTIFICATE_DIR: z.string().min(1).optional(),
  POSTMARK_WEBHOOK_USER: z.string().min(1).max(200).optional(),
  POSTMARK_WEBHOOK_PASSWORD: z.string().min(16, 'must be at least 16 characters').max(200).optional(),
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  SENDGRID_WEBHOOK_PUBLIC_KEY: z
    .string()
    .regex(/^[\sA-Za-z0-9+/=-]+$/, 'must be the base64 verification key from SendGrid (PEM headers allowed)')
    .optional(),
  BOUNCE_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  CALLS_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(16, 'must be the account’s auth token (32 characters)').optional(),
  CALLRAIL_SIGNING_KEY: z.string().min(16, 'must be the signing key CallRail shows for the webhook').optional(),
  DOOR_COUNTS_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  NETWORK_DATA_DIR: z.string().min(1).optional(),
  NETWORK_CACHE_DIR: z.string().min(1).optional(),
  /** The bounce mailbox (src/lib/bounces/mailbox): imap[s]://user:password@host:port/FOLDER. */
  BOUNCE_IMAP_URL: z
    .url({ protocol: /^imaps?$/, error: 'must be imaps://user:password@host:993/INBOX (or imap://…)' })
    .refine((v) => {
      const u = new URL(v);
      return u.username !== '' && u.password !== '';
    }, 'must name the user and password: imaps://user:password@host:993/INBOX')
    .optional(),
  BOUNCE_IMAP_POLL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  BOUNCE_IMAP_PROCESSED_FOLDER: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\r\n\0*%]+$/, 'must be a folder name')
    .default('Processed reports'),
  BOUNCE_IMAP_OTHER_FOLDER: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\r\n\0*%]+$/, 'must be a folder name')
    .default('Not reports'),
  BOUNCE_IMAP_TLS_CA_FILE: z.string().min(1).optional(),
  BOUNCE_VERP_ADDRESS: z
    .string()
    .regex(
      /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/,
      'must be a plain address without "+", e.g. bounces@shop.example',
    )
    .optional(),
});

export type TrustProxy =
  { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'addresses'; addresses: readonly string[] };

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  siteUrl: string;
  trustProxy: TrustProxy;
  secret: string | undefined;
  smtpUrl: string | undefined;
  /** PEM certificates (SMTP_TLS_CA_FILE) trusted for the SMTP relay besides the system's: a relay with a self-signed certificate. */
  smtpTlsCa: string | undefined;
  /** The sender until Settings name one (none when MAIL_FROM is unset); SMTP pool size; messages per second across the pool (unlimited when undefined). */
  mail: { from: string | undefined; poolSize: number; ratePerSecond: number | undefined };
  eventWriter: { maxWaitMs: number; maxTurns: number; maxBatch: number; concurrency: number };
  logRequests: boolean;
  /** How long a process answers Settings from what it read last (SETTINGS_CACHE_MS). */
  settingsCacheMs: number;
  /** DKIM signing of every outgoing message (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY_FILE: all three or none). */
  dkim: { domainName: string; keySelector: string; privateKey: string } | undefined;
  /**
   * The send worker: run inside the server (`worker`), claim lease, idle poll interval,
   * retry backoff base (doubling, with jitter), attempts before a delivery fails, and
   * consecutive failures after which a send pauses itself; when outcomes cannot be recorded,
   * the longest wait between attempts and the failed attempts after which the send pauses;
   * the undo window: how long after "send now" the first message goes out (it can be stopped until then).
   */
  sending: {
    worker: boolean;
    leaseMs: number;
    pollMs: number;
    retryBaseMs: number;
    maxAttempts: number;
    pauseAfterFailures: number;
    commitRetryMaxMs: number;
    commitAttempts: number;
    undoMs: number;
    digestCheckMs: number;
  };
  /** The relays' native bounce webhooks; each refuses everything while its part is undefined. */
  bounceProviders: {
    /** POST /api/webhooks/ses: SNS topics allowed, and a folder of signing certificates trusted without fetching. */
    ses: { topicArns: readonly string[]; certificateDir: string | undefined } | undefined;
    /** POST /api/webhooks/postmark: the HTTP basic auth credentials set on Postmark's webhook URL. */
    postmark: { user: string; password: string } | undefined;
    /** POST /api/webhooks/mailgun: the HTTP webhook signing key. */
    mailgun: { signingKey: string } | undefined;
    /** POST /api/webhooks/sendgrid: the signed event webhook's verification key (ECDSA public key, base64). */
    sendgrid: { publicKey: string } | undefined;
  };
  /** Shared secret of POST /api/webhooks/bounces; the webhook refuses everything without it. */
  bounceWebhookSecret: string | undefined;
  /** Shared secret of POST /api/webhooks/calls (the call-tracking webhook); without it the webhook refuses everything. */
  callsWebhookSecret: string | undefined;
  /** Twilio's auth token: verifies X-Twilio-Signature on POST /api/webhooks/twilio; without it the webhook refuses everything. */
  twilioAuthToken: string | undefined;
  /** CallRail's webhook signing key: verifies the Signature header on POST /api/webhooks/callrail; without it everything is refused. */
  callrailSigningKey: string | undefined;
  /** Shared secret of POST /api/webhooks/door-counts (door counters); without it the webhook refuses everything. */
  doorCountsWebhookSecret: string | undefined;
  /**
   * The IP → network owner data set: the folder holding asn-ipv4-num.csv and asn-ipv6-num.csv
   * (undefined: the @ip-location-db/asn package), and where its compiled form is cached
   * (undefined: node_modules/.cache/footfall-networks, shared by every server of this installation).
   */
  networks: { dataDir: string | undefined; cacheDir: string | undefined };
  /**
   * The bounce mailbox read over IMAP (undefined url: none): its URL (credentials inside, never
   * shown), how often it is read, the folders processed reports and other mail are moved to;
   * and the VERP base address of every delivery's envelope sender (mail/verp.ts).
   */
  bounceMailbox: {
    url: string | undefined;
    pollMs: number;
    processedFolder: string;
    otherFolder: string;
    /** PEM certificates (BOUNCE_IMAP_TLS_CA_FILE) trusted for the IMAP server besides the system's. */
    tlsCa: string | undefined;
    verpAddress: string | undefined;
  };
}

export class ConfigError extends Error {}

function parseTrustProxy(value: string | undefined): TrustProxy {
  if (!value) return { kind: 'none' };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops === 0 ? { kind: 'none' } : { kind: 'hops', hops };
  }
  return { kind: 'addresses', addresses: value.split(',').map((a) => a.trim()) };
}

/** DKIM settings: all three variables or none; the key file must hold a private key. */
function readDkim(
  domain: string | undefined,
  selector: string | undefined,
  keyFile: string | undefined,
): Config['dkim'] {
  const given = { DKIM_DOMAIN: domain, DKIM_SELECTOR: selector, DKIM_PRIVATE_KEY_FILE: keyFile };
  const missing = Object.entries(given)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length === 3) return undefined;
  if (missing.length > 0)
    throw new ConfigError(
      `Invalid environment:\n  ${missing.join(', ')}: DKIM signing needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE together (missing ${missing.join(', ')})`,
    );
  let privateKey: string;
  try {
    privateKey = readFileSync(keyFile!, 'utf8');
    createPrivateKey(privateKey);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'the file does not hold a PEM private key';
    throw new ConfigError(`Invalid environment:\n  DKIM_PRIVATE_KEY_FILE: ${reason} (got ${JSON.stringify(keyFile)})`);
  }
  return Object.freeze({ domainName: domain!.toLowerCase(), keySelector: selector!, privateKey });
}

/** SMTP_TLS_CA_FILE (or `variable`): a PEM file holding at least one certificate. */
function readTlsCa(file: string | undefined, variable = 'SMTP_TLS_CA_FILE'): string | undefined {
  if (!file) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
    new X509Certificate(pem);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'the file does not hold a PEM certificate';
    throw new ConfigError(`Invalid environment:\n  ${variable}: ${reason} (got ${JSON.stringify(file)})`);
  }
  return pem;
}

/** A value as an error message may show it: a URL's password (imaps://user:password@…) masked. */
function withoutPassword(value: string | undefined): string | undefined {
  return value?.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^@/\s]+@/i, '$1***@');
}

/** Parses an environment into a frozen Config; throws a ConfigError naming every invalid variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  // An empty MAIL_FROM is no sender, as an unset one.
  const parsed = envSchema.safeParse({ ...env, MAIL_FROM: env.MAIL_FROM || undefined });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) =>
        `  ${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(withoutPassword(env[String(issue.path[0])]))})`,
    );
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.POSTMARK_WEBHOOK_USER) !== Boolean(e.POSTMARK_WEBHOOK_PASSWORD))
    throw new ConfigError(
      `Invalid environment:\n  ${e.POSTMARK_WEBHOOK_USER ? 'POSTMARK_WEBHOOK_PASSWORD' : 'POSTMARK_WEBHOOK_USER'}: set both POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD, or neither`,
    );
  if (e.SENDGRID_WEBHOOK_PUBLIC_KEY) {
    try {
      const der = Buffer.from(e.SENDGRID_WEBHOOK_PUBLIC_KEY.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      if (createPublicKey({ key: der, format: 'der', type: 'spki' }).asymmetricKeyType !== 'ec')
        throw new Error('not EC');
    } catch {
      throw new ConfigError(
        'Invalid environment:\n  SENDGRID_WEBHOOK_PUBLIC_KEY: not an ECDSA public key (paste the verification key SendGrid shows for the signed event webhook)',
      );
    }
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return Object.freeze({
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    dataDir,
    databaseUrl: e.DATABASE_URL ?? `sqlite:${path.join(dataDir, 'footfall.db')}`,
    siteUrl: (e.SITE_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    trustProxy: Object.freeze(parseTrustProxy(e.TRUST_PROXY)),
    secret: e.SECRET,
    smtpUrl: e.SMTP_URL,
    smtpTlsCa: readTlsCa(e.SMTP_TLS_CA_FILE),
    mail: Object.freeze({ from: e.MAIL_FROM, poolSize: e.SMTP_POOL_SIZE, ratePerSecond: e.SMTP_RATE_PER_SECOND }),
    eventWriter: Object.freeze({
      maxWaitMs: e.EVENT_WRITER_MAX_WAIT_MS,
      maxTurns: e.EVENT_WRITER_MAX_TURNS,
      maxBatch: e.EVENT_WRITER_MAX_BATCH,
      concurrency: e.EVENT_WRITER_CONCURRENCY,
    }),
    logRequests: e.LOG_REQUESTS === '1',
    settingsCacheMs: e.SETTINGS_CACHE_MS,
    dkim: readDkim(e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY_FILE),
    sending: Object.freeze({
      worker: e.SEND_WORKER === '1',
      leaseMs: e.SEND_LEASE_MS,
      pollMs: e.SEND_POLL_MS,
      retryBaseMs: e.SEND_RETRY_BASE_MS,
      maxAttempts: e.SEND_MAX_ATTEMPTS,
      pauseAfterFailures: e.SEND_PAUSE_AFTER_FAILURES,
      commitRetryMaxMs: e.SEND_COMMIT_RETRY_MAX_MS,
      commitAttempts: e.SEND_COMMIT_ATTEMPTS,
      undoMs: e.SEND_UNDO_SECONDS * 1000,
      digestCheckMs: e.DIGEST_CHECK_MS,
    }),
    bounceProviders: Object.freeze({
      ses: e.SES_SNS_TOPIC_ARNS
        ? Object.freeze({
            topicArns: Object.freeze(e.SES_SNS_TOPIC_ARNS.split(',').map((arn) => arn.trim())),
            certificateDir: e.SES_SNS_CERTIFICATE_DIR && path.resolve(e.SES_SNS_CERTIFICATE_DIR),
          })
        : undefined,
      postmark:
        e.POSTMARK_WEBHOOK_USER && e.POSTMARK_WEBHOOK_PASSWORD
          ? Object.freeze({ user: e.POSTMARK_WEBHOOK_USER, password: e.POSTMARK_WEBHOOK_PASSWORD })
          : undefined,
      mailgun: e.MAILGUN_WEBHOOK_SIGNING_KEY ? Object.freeze({ signingKey: e.MAILGUN_WEBHOOK_SIGNING_KEY }) : undefined,
      sendgrid: e.SENDGRID_WEBHOOK_PUBLIC_KEY
        ? Object.freeze({ publicKey: e.SENDGRID_WEBHOOK_PUBLIC_KEY.trim() })
        : undefined,
    }),
    bounceWebhookSecret: e.BOUNCE_WEBHOOK_SECRET,
    callsWebhookSecret: e.CALLS_WEBHOOK_SECRET,
    twilioAuthToken: e.TWILIO_AUTH_TOKEN,
    callrailSigningKey: e.CALLRAIL_SIGNING_KEY,
    doorCountsWebhookSecret: e.DOOR_COUNTS_WEBHOOK_SECRET,
    networks: Object.freeze({
      dataDir: e.NETWORK_DATA_DIR && path.resolve(e.NETWORK_DATA_DIR),
      cacheDir: e.NETWORK_CACHE_DIR && path.resolve(e.NETWORK_CACHE_DIR),
    }),
    bounceMailbox: Object.freeze({
      url: e.BOUNCE_IMAP_URL,
      pollMs: e.BOUNCE_IMAP_POLL_MS,
      processedFolder: e.BOUNCE_IMAP_PROCESSED_FOLDER,
      otherFolder: e.BOUNCE_IMAP_OTHER_FOLDER,
      tlsCa: readTlsCa(e.BOUNCE_IMAP_TLS_CA_FILE, 'BOUNCE_IMAP_TLS_CA_FILE'),
      verpAddress: e.BOUNCE_VERP_ADDRESS?.toLowerCase(),
    }),
  });
}

let cached: Readonly<Config> | undefined;

/** The process's configuration, read from process.env once. */
export function getConfig(): Readonly<Config> {
  cached ??= loadConfig(process.env);
  return cached;
}
