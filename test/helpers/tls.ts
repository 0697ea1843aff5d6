import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SelfSignedCertificate {
  /** PEM files: what a relay serves, and what SMTP_TLS_CA_FILE names to trust it. */
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made with the system's openssl (as an
 * admin would for a relay on the LAN), valid for a day.
 */
export function makeSelfSignedCertificate(commonName = 'relay.test'): SelfSignedCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-tls-'));
  const keyFile = path.join(dir, 'relay-key.pem');
  const certFile = path.join(dir, 'relay-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}
