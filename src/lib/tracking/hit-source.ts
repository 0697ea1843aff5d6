import { isReaderKind, type AgentFacts } from './classify-agent.ts';
import type { NetworkLookup, NetworkOwner, NetworkRole } from '../network/network.ts';
import type { TotalByDimMetric } from '../counts/metrics.ts';

export type { NetworkLookup, NetworkOwner, NetworkRole };

/** Who sent a hit: the owner of its address and its agent. */
export interface HitSource {
  owner: NetworkOwner;
  agent: AgentFacts;
}

/**
 * A source as stored on a hit row (`asn`, `net`, `agent` columns) and on its delivery: never the
 * address or the agent string, only what later verdicts compare.
 */
export interface StoredSource {
  asn: number | null;
  role: NetworkRole;
  family: string;
}

export const storedSource = (s: HitSource): StoredSource => ({
  asn: s.owner.asn,
  role: s.owner.role,
  family: s.agent.family,
});

/** A source in one text column (a delivery's reader and machine): "<asn>|<role>|<agent family>". */
export const sourceText = (s: StoredSource): string => `${s.asn ?? ''}|${s.role}|${s.family}`;

export function parseSourceText(text: string | null): StoredSource | null {
  if (!text) return null;
  const [asn = '', role = 'access', family = 'other:other'] = text.split('|');
  return { asn: asn === '' ? null : Number(asn), role: role as NetworkRole, family };
}

/** Networks that carry machines only: whatever comes from them, in any agent, is a machine's. */
export const isMachineNetwork = (role: NetworkRole): boolean =>
  role === 'security_gateway' || role === 'cloud' || role === 'mail_proxy';

/**
 * Networks that carry people's browsing and scanners alike — web security proxies (Zscaler,
 * Forcepoint, Netskope: their vendors' sandboxes too) and Private Relay egress: a hit from them
 * is a machine's only with another machine sign (a machine agent, a sweep in the delivery-time
 * scan, a scanner's timing before any reader sign, a years-old browser).
 */
export const carriesPeopleAndScanners = (role: NetworkRole): boolean => role === 'web_proxy' || role === 'apple';

/** Networks people browse from directly (homes, offices, mobile; a private address is one behind the site's own proxy). */
export const isAccessNetwork = (role: NetworkRole): boolean => role === 'access' || role === 'private';

/**
 * Whether a hit came from the machine a delivery's verdict names: the same network and, where
 * people also browse from that network, the same agent family.
 */
export function isMachinesHit(hit: StoredSource, machine: StoredSource): boolean {
  if (hit.asn !== machine.asn || hit.role !== machine.role) return false;
  return isMachineNetwork(machine.role) || hit.family === machine.family;
}

/** The device a family runs on ("browser:ios" → "ios"): a reader's open and click share it. */
export const platformOf = (family: string): string => family.slice(family.indexOf(':') + 1);

/** Same network and same device as an earlier reader sign. */
export function continuesReader(hit: StoredSource, reader: StoredSource | null): boolean {
  return (
    reader !== null &&
    reader.asn === hit.asn &&
    reader.role === hit.role &&
    platformOf(reader.family) === platformOf(hit.family)
  );
}

const ROLE_WORDS: Record<NetworkRole, string> = {
  security_gateway: 'a mail security gateway',
  cloud: 'a cloud host',
  mail_proxy: 'a mail provider',
  apple: 'Apple',
  web_proxy: 'a web security proxy',
  access: 'an access network',
  private: 'a private network',
};

/** "Proofpoint, Inc. (AS26211)" — the owner as a reason names it. */
export function ownerName(owner: Pick<NetworkOwner, 'asn' | 'organisation' | 'role' | 'label'>): string {
  if (owner.asn === null)
    return owner.label ?? (owner.role === 'private' ? 'a private or reserved address' : 'an unknown network');
  return `${owner.label ?? owner.organisation ?? 'an unnamed network'} (AS${owner.asn})`;
}

/** "Proofpoint, Inc. (AS26211), a mail security gateway" */
export function ownerWithRole(owner: Pick<NetworkOwner, 'asn' | 'organisation' | 'role' | 'label'>): string {
  if (owner.asn === null) return ownerName(owner);
  if (owner.role === 'apple') return ownerName(owner);
  return `${ownerName(owner)}, ${ROLE_WORDS[owner.role]}`;
}

/**
 * How machine activity is grouped in reports: the owner's role and name ("security_gateway",
 * "Proofpoint, Inc. (AS26211)"), as one count dimension.
 */
const ownerKeys = new WeakMap<object, string>();
export function ownerKey(owner: Pick<NetworkOwner, 'asn' | 'organisation' | 'role' | 'label'>): string {
  let key = ownerKeys.get(owner);
  if (key === undefined) ownerKeys.set(owner, (key = `${owner.role}\t${ownerName(owner)}`));
  return key;
}

export function parseOwnerKey(key: string): { role: NetworkRole; owner: string } {
  const tab = key.indexOf('\t');
  return { role: key.slice(0, tab) as NetworkRole, owner: key.slice(tab + 1) };
}

/** Count metrics of machine activity by owner (dimension: ownerKey), per issue and in all. */
export const OWNER_METRIC = { open: 'owner.open', click: 'owner.click', view: 'owner.view' } as const satisfies Record<
  string,
  TotalByDimMetric
>;

/**
 * What a source comes to, worked out once per owner and agent (owners are shared objects per
 * network, agent facts are cached per agent string): its stored form and text, its owner key,
 * and the reason a reader's hit from it carries. A hit then builds no strings of its own.
 */
export interface SourceFacts {
  stored: StoredSource;
  text: string;
  ownerKey: string;
  readerReason: string;
  /** A reader's program on a network people browse from: its hits are reader signs. */
  reader: boolean;
}

const sourceFactsCache = new WeakMap<NetworkOwner, Map<AgentFacts, SourceFacts>>();

export function sourceFacts(source: HitSource): SourceFacts {
  let byAgent = sourceFactsCache.get(source.owner);
  if (!byAgent) sourceFactsCache.set(source.owner, (byAgent = new Map<AgentFacts, SourceFacts>()));
  let facts = byAgent.get(source.agent);
  if (!facts) {
    const stored = storedSource(source);
    const role = source.owner.role;
    facts = {
      stored,
      text: sourceText(stored),
      ownerKey: ownerKey(source.owner),
      readerReason: `reader: ${source.agent.name}, ${isAccessNetwork(role) ? ownerName(source.owner) : ownerWithRole(source.owner)}`,
      reader: isReaderKind(source.agent.kind) && (isAccessNetwork(role) || role === 'web_proxy' || role === 'apple'),
    };
    if (byAgent.size >= 256) byAgent.clear();
    byAgent.set(source.agent, facts);
  }
  return facts;
}
