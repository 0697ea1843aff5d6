import { createVerify, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Amazon SNS messages posted to an HTTPS endpoint, checked as AWS documents it ("Verifying the
 * signatures of Amazon SNS messages", https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):
 * the signing certificate is fetched over HTTPS only from an SNS host (`sns.<region>.amazonaws.com`,
 * `.com.cn` in China) and a `.pem` path; the string to sign is built from the message's fields
 * in their documented order; SignatureVersion 1 is RSA-SHA1, 2 is RSA-SHA256. The same rules
 * as the `sns-validator` package, whose certificate download cannot be replaced: here the
 * fetcher is a parameter, so a trusted folder (SES_SNS_CERTIFICATE_DIR) or a test can supply it.
 */

export interface SnsMessage {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

export type CertificateFetcher = (url: string) => Promise<string>;

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** An https URL on an SNS host: where a signing certificate or a confirmation may come from. */
export function isSnsUrl(value: string, pathEnding?: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    url.port === '' &&
    url.username === '' &&
    url.password === '' &&
    SNS_HOST.test(url.hostname) &&
    (pathEnding === undefined || url.pathname.endsWith(pathEnding))
  );
}

const TYPES = new Set(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']);

/** The envelope's shape, or why it is not one. */
export function parseSnsMessage(value: unknown): { ok: true; message: SnsMessage } | { ok: false; error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'The body is not an SNS message (a JSON object).' };
  const m = value as Record<string, unknown>;
  const required = [
    'Type',
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ];
  const confirmations = m.Type === 'SubscriptionConfirmation' || m.Type === 'UnsubscribeConfirmation';
  for (const key of confirmations ? [...required, 'SubscribeURL', 'Token'] : required)
    if (typeof m[key] !== 'string') return { ok: false, error: `The SNS message has no ${key}.` };
  for (const key of ['Subject', 'UnsubscribeURL'])
    if (m[key] !== undefined && m[key] !== null && typeof m[key] !== 'string')
      return { ok: false, error: `The SNS message's ${key} is not text.` };
  if (!TYPES.has(m.Type as string)) return { ok: false, error: `Unknown SNS message type ${JSON.stringify(m.Type)}.` };
  return { ok: true, message: m as unknown as SnsMessage };
}

/** The documented string to sign: "Name\nvalue\n" for each signed field present, in this order. */
export function snsStringToSign(message: SnsMessage): string {
  const keys =
    message.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  let out = '';
  for (const key of keys) {
    const value = message[key];
    if (value !== undefined && value !== null) out += `${key}\n${value}\n`;
  }
  return out;
}

export type SnsCheck = { ok: true } | { ok: false; error: string };

/**
 * Checks the signature of a parsed message: its certificate URL, its signature version, the
 * certificate's validity now and the signature itself.
 */
export async function verifySnsSignature(
  message: SnsMessage,
  fetchCertificate: CertificateFetcher,
  now = Date.now(),
): Promise<SnsCheck> {
  if (!isSnsUrl(message.SigningCertURL, '.pem'))
    return {
      ok: false,
      error: 'The signing certificate is not on an Amazon SNS host (https://sns.<region>.amazonaws.com/….pem).',
    };
  const algorithm =
    message.SignatureVersion === '1' ? 'RSA-SHA1' : message.SignatureVersion === '2' ? 'RSA-SHA256' : null;
  if (!algorithm)
    return { ok: false, error: `SignatureVersion ${JSON.stringify(message.SignatureVersion)} is not 1 or 2.` };
  let pem: string;
  try {
    pem = await fetchCertificate(message.SigningCertURL);
  } catch (error) {
    return {
      ok: false,
      error: `The signing certificate could not be fetched: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return { ok: false, error: 'The signing certificate is not a PEM certificate.' };
  }
  if (Date.parse(certificate.validFrom) > now || Date.parse(certificate.validTo) < now)
    return { ok: false, error: 'The signing certificate is not valid now.' };
  const verifier = createVerify(algorithm);
  verifier.update(snsStringToSign(message), 'utf8');
  let valid: boolean;
  try {
    valid = verifier.verify(certificate.publicKey, message.Signature, 'base64');
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, error: 'The SNS signature does not match the message.' };
}

const MAX_CERTIFICATE_BYTES = 16 * 1024;

/**
 * The production fetcher: a certificate from `trustedDir` (a file named as the URL's last path
 * segment, for a server that may not reach AWS, or a test's own certificate), else downloaded
 * over HTTPS (5 s, 16 KB at most) and kept in memory by URL.
 */
export function createCertificateFetcher(trustedDir: string | undefined): CertificateFetcher {
  const cache = new Map<string, Promise<string>>();
  const load = async (url: string): Promise<string> => {
    const name = path.posix.basename(new URL(url).pathname);
    if (trustedDir && /^[\w.-]+\.pem$/.test(name)) {
      try {
        return await readFile(path.join(trustedDir, name), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5_000) });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    const body = await response.arrayBuffer();
    if (body.byteLength > MAX_CERTIFICATE_BYTES) throw new Error('the certificate is too large');
    return new TextDecoder().decode(body);
  };
  return (url) => {
    let found = cache.get(url);
    if (!found) {
      if (cache.size >= 32) cache.delete(cache.keys().next().value!);
      found = load(url);
      cache.set(url, found);
      found.catch(() => cache.delete(url));
    }
    return found;
  };
}

/** Confirms a subscription by fetching its SubscribeURL (an SNS host only). */
export type UrlFetcher = (url: string) => Promise<{ status: number }>;

export const fetchSubscribeUrl: UrlFetcher = async (url) => {
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return { status: response.status };
};
