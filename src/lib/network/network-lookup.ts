/**
 * IP → owner: admins' networks first (longest prefix wins, then their AS numbers), then the
 * reserved ranges, then the data set's AS with the reviewed table's role (its networks before
 * its AS numbers); an address in no row is an access network. Owners are frozen and shared:
 * one per AS (and per table or admin network), made on first use.
 */
import { readFileSync } from 'node:fs';
import type { NetworkOverride } from './admin-networks.ts';
import {
  defaultAsnSourceDir,
  defaultCacheDir,
  loadAsnTables,
  NetworkDataError,
  type AsnTables,
  type LoadedAsnTables,
} from './asn-data.ts';
import reviewedRoles from './as-roles.json' with { type: 'json' };
import { compareWords, MAX_ADDRESS_LENGTH, parseIPv4, parseIPv6, parseNetwork } from './ip-address.ts';
import { isNetworkRole, type NetworkLookup, type NetworkOwner, type NetworkRole } from './network.ts';
import { NOT_GLOBAL_UNICAST, RESERVED_IPV4, RESERVED_IPV6 } from './reserved-ranges.ts';

/** How the reviewed table is named in messages (it is bundled as a module, so it has no path of its own at run time). */
export const ROLE_TABLE_FILE = 'src/lib/network/as-roles.json';

/** The reviewed table (as-roles.json): AS numbers and networks with their role, a label and a source. */
export interface RoleTable {
  asns: { asn: number; role: NetworkRole; label: string; source: string; imageProxy?: string }[];
  networks: { cidr: string; role: NetworkRole; label: string; source: string }[];
}

type Source = NetworkOwner['roleSource'];

/** A network with its role; owners inside it are made per AS (index -1: no AS) and kept. */
interface Rule {
  version: 4 | 6;
  first4: number;
  last4: number;
  first6: Uint32Array;
  last6: Uint32Array;
  prefix: number;
  role: NetworkRole;
  label: string | null;
  source: Source;
  owners: Map<number, NetworkOwner>;
}

interface RoleEntry {
  role: NetworkRole;
  label: string | null;
  source: Source;
  imageProxy?: string | undefined;
}

const owner = (
  asn: number | null,
  organisation: string | null,
  role: NetworkRole,
  roleSource: Source,
  label: string | null,
  imageProxy: string | null = null,
): NetworkOwner => Object.freeze({ asn, organisation, role, roleSource, label, imageProxy });

const NOT_AN_ADDRESS = owner(null, null, 'access', 'default', 'not an IP address');
const UNLISTED = owner(null, null, 'access', 'default', null);
const reservedOwner = (reason: string) => owner(null, null, 'private', 'reserved', reason);

function toRule(text: string, role: NetworkRole, label: string | null, source: Source): Rule | string {
  const network = parseNetwork(text);
  if ('error' in network) return `“${text}” ${network.error}`;
  const none = new Uint32Array(4);
  return network.version === 4
    ? {
        version: 4,
        first4: network.first,
        last4: network.last,
        first6: none,
        last6: none,
        prefix: network.prefix,
        role,
        label,
        source,
        owners: new Map(),
      }
    : {
        version: 6,
        first4: 0,
        last4: -1,
        first6: network.first,
        last6: network.last,
        prefix: network.prefix,
        role,
        label,
        source,
        owners: new Map(),
      };
}

/**
 * Networks by version, longest prefix first (the first match is the most specific), with the
 * first 8 (IPv4) or 16 (IPv6) bits any of them covers, so most addresses skip the list in one
 * array read.
 */
interface RuleSet {
  v4: Rule[];
  v6: Rule[];
  octets: Uint8Array;
  hextets: Uint8Array;
}

function ruleSet(rules: Rule[]): RuleSet {
  const sorted = rules.slice().sort((a, b) => b.prefix - a.prefix);
  const octets = new Uint8Array(256);
  const hextets = new Uint8Array(65536);
  for (const rule of sorted) {
    if (rule.version === 4) octets.fill(1, rule.first4 >>> 24, (rule.last4 >>> 24) + 1);
    else hextets.fill(1, rule.first6[0]! >>> 16, (rule.last6[0]! >>> 16) + 1);
  }
  return { v4: sorted.filter((r) => r.version === 4), v6: sorted.filter((r) => r.version === 6), octets, hextets };
}

function match4(set: RuleSet, n: number): Rule | undefined {
  if (set.octets[n >>> 24] === 0) return undefined;
  const rules = set.v4;
  for (const rule of rules) if (n >= rule.first4 && n <= rule.last4) return rule;
  return undefined;
}

function match6(set: RuleSet, w: Uint32Array): Rule | undefined {
  if (set.hextets[w[0]! >>> 16] === 0) return undefined;
  const rules = set.v6;
  for (const rule of rules) {
    if (compareWords(w, 0, rule.first6, 0) >= 0 && compareWords(w, 0, rule.last6, 0) <= 0) return rule;
  }
  return undefined;
}

/**
 * For each /16, how many IPv4 ranges start before it: a lookup searches only the ranges that
 * start inside its /16 (and the one before), a few instead of 400,000.
 */
function slash16Index(starts: Uint32Array): Uint32Array {
  const index = new Uint32Array(65537);
  let i = 0;
  for (let h = 0; h <= 65536; h++) {
    const bound = h * 65536;
    while (i < starts.length && starts[i]! < bound) i++;
    index[h] = i;
  }
  return index;
}

/** Checks the reviewed table; a bad row stops the server, naming the file and the row. */
export function checkRoleTable(table: unknown, file = ROLE_TABLE_FILE): RoleTable {
  const bad = (why: string) => new NetworkDataError(`Network data: ${file} ${why}.`);
  const t = table as Partial<RoleTable> | null;
  if (!t || !Array.isArray(t.asns) || !Array.isArray(t.networks)) throw bad('must hold "asns" and "networks" lists');
  const seen = new Set<string>();
  for (const [i, row] of t.asns.entries()) {
    if (!row || !Number.isInteger(row.asn) || row.asn < 1 || row.asn > 4_294_967_295)
      throw bad(`asns[${i}] has no valid AS number`);
    if (!isNetworkRole(row.role) || !row.label || !row.source)
      throw bad(`asns[${i}] (AS${row.asn}) needs a role, a label and a source`);
    if (row.imageProxy !== undefined && (typeof row.imageProxy !== 'string' || row.imageProxy === ''))
      throw bad(`asns[${i}] (AS${row.asn}) has an empty imageProxy`);
    if (seen.has(`AS${row.asn}`)) throw bad(`lists AS${row.asn} twice`);
    seen.add(`AS${row.asn}`);
  }
  for (const [i, row] of t.networks.entries()) {
    if (!row || typeof row.cidr !== 'string' || typeof toRule(row.cidr, 'access', null, 'table') === 'string')
      throw bad(`networks[${i}] has no valid CIDR network`);
    if (!isNetworkRole(row.role) || !row.label || !row.source)
      throw bad(`networks[${i}] (${row.cidr}) needs a role, a label and a source`);
    if (seen.has(row.cidr)) throw bad(`lists ${row.cidr} twice`);
    seen.add(row.cidr);
  }
  return t as RoleTable;
}

/** A role table from a file of its own (the reviewed one is built in). */
export function readRoleTable(file: string): RoleTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new NetworkDataError(`Network data: cannot read ${file} (${(error as Error).message}).`);
  }
  return checkRoleTable(parsed, file);
}

export class NetworkTable implements NetworkLookup {
  readonly #t: AsnTables;
  readonly #roles: RoleTable;
  readonly #words = new Uint32Array(4);
  readonly #decoder = new TextDecoder();
  readonly #tableAs = new Map<number, RoleEntry>();
  readonly #v4Index: Uint32Array;
  readonly #tableRules: RuleSet;
  readonly #reserved: RuleSet;
  readonly #notGlobal = reservedOwner(NOT_GLOBAL_UNICAST);
  #adminAs = new Map<number, RoleEntry>();
  #adminRules: RuleSet = ruleSet([]);
  /** Owner per AS index (table or default role, or the admin's AS entry). */
  #owners: (NetworkOwner | undefined)[];
  #overridesText: string | undefined;

  constructor(tables: AsnTables, roles: RoleTable) {
    this.#t = tables;
    this.#roles = roles;
    this.#owners = new Array<NetworkOwner | undefined>(tables.asNumber.length);
    for (const row of roles.asns)
      this.#tableAs.set(row.asn, { role: row.role, label: row.label, source: 'table', imageProxy: row.imageProxy });
    this.#v4Index = slash16Index(tables.v4Start);
    this.#tableRules = ruleSet(roles.networks.map((row) => toRule(row.cidr, row.role, row.label, 'table') as Rule));
    this.#reserved = ruleSet(
      [...RESERVED_IPV4, ...RESERVED_IPV6].map(({ cidr, reason }) => {
        const rule = toRule(cidr, 'private', reason, 'reserved') as Rule;
        rule.owners.set(-1, reservedOwner(reason));
        return rule;
      }),
    );
  }

  /** Memory the arrays hold (the owners made on use are small and few). */
  get byteLength(): number {
    return this.#t.byteLength;
  }

  lookup(ip: string): NetworkOwner {
    try {
      if (typeof ip !== 'string' || ip.length === 0 || ip.length > MAX_ADDRESS_LENGTH) return NOT_AN_ADDRESS;
      const v4 = parseIPv4(ip);
      if (v4 >= 0) return this.#lookup4(v4);
      const w = this.#words;
      if (!parseIPv6(ip, w)) return NOT_AN_ADDRESS;
      // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
      if ((w[0] === 0 || w[0] === 0x64ff9b) && w[1] === 0 && w[2] === (w[0] === 0 ? 0xffff : 0))
        return this.#lookup4(w[3]!);
      return this.#lookup6(w);
    } catch {
      return NOT_AN_ADDRESS;
    }
  }

  #lookup4(n: number): NetworkOwner {
    const t = this.#t;
    const admin = match4(this.#adminRules, n);
    const h = n >>> 16;
    const first = this.#v4Index[h]!;
    let lo = first === 0 ? 0 : first - 1;
    let hi = this.#v4Index[h + 1]! - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (t.v4Start[mid]! <= n) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const as = found >= 0 && t.v4End[found]! >= n ? t.v4As[found]! : -1;
    if (admin) return this.#ruleOwner(admin, as);
    const reserved = match4(this.#reserved, n);
    if (reserved) return reserved.owners.get(-1)!;
    return this.#resolve(as, match4(this.#tableRules, n));
  }

  #lookup6(w: Uint32Array): NetworkOwner {
    const t = this.#t;
    const admin = match6(this.#adminRules, w);
    let lo = 0;
    let hi = t.v6As.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWords(t.v6Start, 4 * mid, w, 0) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const as = found >= 0 && compareWords(t.v6End, 4 * found, w, 0) >= 0 ? t.v6As[found]! : -1;
    if (admin) return this.#ruleOwner(admin, as);
    const reserved = match6(this.#reserved, w);
    if (reserved) return reserved.owners.get(-1)!;
    if (w[0]! >>> 29 !== 1) return this.#notGlobal; // outside 2000::/3
    return this.#resolve(as, match6(this.#tableRules, w));
  }

  /** An admin's AS entry wins over the table's networks; those win over the table's AS numbers. */
  #resolve(as: number, tableRule: Rule | undefined): NetworkOwner {
    if (as >= 0) {
      const byAs = this.#owners[as] ?? this.#makeAsOwner(as);
      if (byAs.roleSource === 'admin' || !tableRule) return byAs;
    }
    return tableRule ? this.#ruleOwner(tableRule, as) : UNLISTED;
  }

  #organisation(as: number): string | null {
    const t = this.#t;
    const name = this.#decoder.decode(t.names.subarray(t.nameStart[as], t.nameStart[as + 1]));
    return name === '' ? null : name;
  }

  #makeAsOwner(as: number): NetworkOwner {
    const asn = this.#t.asNumber[as]!;
    const entry = this.#adminAs.get(asn) ?? this.#tableAs.get(asn);
    const made = entry
      ? owner(asn, this.#organisation(as), entry.role, entry.source, entry.label, entry.imageProxy ?? null)
      : owner(asn, this.#organisation(as), 'access', 'default', null);
    this.#owners[as] = made;
    return made;
  }

  #ruleOwner(rule: Rule, as: number): NetworkOwner {
    let made = rule.owners.get(as);
    if (!made) {
      made =
        as >= 0
          ? owner(this.#t.asNumber[as]!, this.#organisation(as), rule.role, rule.source, rule.label)
          : owner(null, null, rule.role, rule.source, rule.label);
      rule.owners.set(as, made);
    }
    return made;
  }

  /** Another table over the same arrays (no copy) with its own admins' networks: to preview a change. */
  withOverrides(overrides: readonly NetworkOverride[]): NetworkTable {
    const table = new NetworkTable(this.#t, this.#roles);
    table.applyOverrides(overrides);
    return table;
  }

  /**
   * Replaces the admins' networks (from Settings). Cheap to call with the same text again:
   * nothing is rebuilt unless it changed.
   */
  applyOverrides(overrides: readonly NetworkOverride[], text?: string): void {
    if (text !== undefined && text === this.#overridesText) return;
    const adminAs = new Map<number, RoleEntry>();
    const rules: Rule[] = [];
    for (const o of overrides) {
      if (o.kind === 'asn') adminAs.set(o.asn, { role: o.role, label: o.note, source: 'admin' });
      else rules.push(toRule(o.text, o.role, o.note, 'admin') as Rule);
    }
    this.#adminAs = adminAs;
    this.#adminRules = ruleSet(rules);
    this.#owners = new Array<NetworkOwner | undefined>(this.#t.asNumber.length);
    this.#overridesText = text;
  }
}

export interface LoadNetworkOptions {
  /** Folder holding asn-ipv4-num.csv and asn-ipv6-num.csv (default: the @ip-location-db/asn package). */
  sourceDir?: string;
  /** Where the compiled tables are cached (default: node_modules/.cache/footfall-networks). */
  cacheDir?: string;
  /** Another role table file (default: the reviewed as-roles.json). */
  roleTableFile?: string;
}

export interface LoadedNetworkLookup {
  networks: NetworkTable;
  load: Omit<LoadedAsnTables, 'tables'>;
}

/** Loads the data set (compiling and caching it on first use) and the role table; throws a NetworkDataError naming the file. */
export function loadNetworkLookup(options: LoadNetworkOptions = {}): LoadedNetworkLookup {
  const roles = options.roleTableFile ? readRoleTable(options.roleTableFile) : checkRoleTable(reviewedRoles);
  const { tables, ...load } = loadAsnTables({
    sourceDir: options.sourceDir ?? defaultAsnSourceDir(),
    cacheDir: options.cacheDir ?? defaultCacheDir(),
  });
  return { networks: new NetworkTable(tables, roles), load };
}
