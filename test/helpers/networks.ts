import type { NetworkLookup, NetworkOwner, NetworkRole } from '../../src/lib/tracking/hit-source.ts';
import { EventWriter } from '../../src/lib/events/event-writer.ts';
import { hitInserter } from '../../src/lib/tracking/hit-writer.ts';
import { trackingBatchLock } from '../../src/lib/tracking/batch-locks.ts';
import { VisitTracker } from '../../src/lib/analytics/visits.ts';
import type { TrackingApp } from '../../src/lib/tracking/tracking.service.ts';
import { loadConfig } from '../../src/lib/config.ts';
import type { DB } from '../../src/lib/db/database.ts';
import { TEST_SECRET } from './tracking.ts';

/**
 * Owners built directly for tests of the classifier and the hit writer (the real lookup over the
 * AS data set is src/lib/network, tested there and over HTTP): a few networks by address prefix,
 * anything else a home broadband network.
 */
const owner = (
  asn: number | null,
  organisation: string | null,
  role: NetworkRole,
  label: string | null = null,
  imageProxy: string | null = null,
): NetworkOwner => ({
  asn,
  organisation,
  role,
  roleSource: asn === null ? 'reserved' : 'table',
  label,
  imageProxy,
});

export const OWNERS = {
  microsoft: owner(8075, 'Microsoft Corporation', 'security_gateway', 'Microsoft mail protection'),
  /** The rest of Microsoft's AS8075 (Azure, Defender's detonation, Outlook's image proxy). */
  outlook: owner(8075, 'Microsoft Corporation', 'cloud', 'Microsoft', 'Outlook.com / Outlook on the web image proxy'),
  proofpoint: owner(26211, 'Proofpoint, Inc.', 'security_gateway'),
  mimecast: owner(30031, 'Mimecast Ltd', 'security_gateway'),
  amazon: owner(16509, 'Amazon.com, Inc.', 'cloud'),
  google: owner(15169, 'Google LLC', 'mail_proxy'),
  yahoo: owner(36646, 'Yahoo', 'mail_proxy'),
  apple: owner(714, 'Apple Inc.', 'apple'),
  relay: owner(36183, 'Akamai Technologies, Inc.', 'apple', 'iCloud Private Relay'),
  cloudflare: owner(13335, 'Cloudflare, Inc.', 'web_proxy'),
  zscaler: owner(22616, 'ZSCALER, INC.', 'web_proxy'),
  comcast: owner(7922, 'Comcast Cable Communications, LLC', 'access'),
  tmobile: owner(21928, 'T-Mobile USA, Inc.', 'access'),
  bt: owner(2856, 'British Telecommunications PLC', 'access'),
  private: owner(null, null, 'private', 'private network (RFC 1918)'),
} as const;

/** Test addresses, one per owner above (TEST-NET-like prefixes chosen per network). */
export const IPS = {
  microsoft: '40.107.1.10',
  outlook: '52.96.1.10',
  proofpoint: '148.163.1.10',
  mimecast: '205.139.110.10',
  amazon: '52.1.1.1',
  google: '66.249.84.1',
  yahoo: '98.136.1.1',
  apple: '17.58.101.4',
  relay: '172.224.226.10',
  cloudflare: '104.28.1.1',
  zscaler: '165.225.1.1',
  comcast: '73.1.2.3',
  tmobile: '172.56.1.1',
  bt: '81.2.3.4',
  private: '10.0.0.7',
} as const;

const byPrefix: [string, NetworkOwner][] = (Object.keys(IPS) as (keyof typeof IPS)[]).map((k) => [
  IPS[k].split('.').slice(0, 2).join('.') + '.',
  OWNERS[k],
]);

export const testNetworks: NetworkLookup = {
  lookup(ip: string): NetworkOwner {
    for (const [prefix, o] of byPrefix) if (ip.startsWith(prefix)) return o;
    return owner(64_496, 'Example Broadband', 'access');
  },
};

/** A tracking app over `db` with a writer of its own (the composition root's inserters and locks) and the test owners above. */
export function trackingApp(db: DB) {
  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(
    db,
    { hits: hitInserter, pageViews },
    { maxWaitMs: 0, maxBatch: 100, lock: trackingBatchLock(pageViews) },
  );
  const app = {
    db,
    secret: TEST_SECRET,
    config: loadConfig({ NODE_ENV: 'test' }),
    writer,
    hits: writer.handle(hitInserter),
    pageViews: writer.handle(pageViews),
    networks: testNetworks,
  };
  return app satisfies TrackingApp;
}
