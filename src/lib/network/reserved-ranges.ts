/**
 * Addresses that belong to no one on the public internet: IANA's special-purpose address
 * registries (RFC 6890 and its updates). A hit from one of them means the server sits behind
 * a proxy that TRUST_PROXY does not name, a test, or a spoofed header: it is judged with the
 * reason, never as an owner's network.
 */

export interface ReservedRange {
  cidr: string;
  /** Shown in reasons, e.g. "private network (RFC 1918)". */
  reason: string;
}

export const RESERVED_IPV4: readonly ReservedRange[] = [
  { cidr: '0.0.0.0/8', reason: '"this network" (RFC 791)' },
  { cidr: '10.0.0.0/8', reason: 'private network (RFC 1918)' },
  { cidr: '100.64.0.0/10', reason: 'carrier-grade NAT, shared address space (RFC 6598)' },
  { cidr: '127.0.0.0/8', reason: 'loopback (RFC 1122)' },
  { cidr: '169.254.0.0/16', reason: 'link-local (RFC 3927)' },
  { cidr: '172.16.0.0/12', reason: 'private network (RFC 1918)' },
  { cidr: '192.0.0.0/24', reason: 'IETF protocol assignments (RFC 6890)' },
  { cidr: '192.0.2.0/24', reason: 'documentation, TEST-NET-1 (RFC 5737)' },
  { cidr: '192.88.99.0/24', reason: '6to4 relay anycast, deprecated (RFC 7526)' },
  { cidr: '192.168.0.0/16', reason: 'private network (RFC 1918)' },
  { cidr: '198.18.0.0/15', reason: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', reason: 'documentation, TEST-NET-2 (RFC 5737)' },
  { cidr: '203.0.113.0/24', reason: 'documentation, TEST-NET-3 (RFC 5737)' },
  { cidr: '224.0.0.0/4', reason: 'multicast (RFC 5771)' },
  { cidr: '240.0.0.0/4', reason: 'reserved for future use, and broadcast (RFC 1112, RFC 919)' },
];

/**
 * IPv6 ranges inside or beside 2000::/3; everything outside 2000::/3 that is not listed here
 * is "not a global unicast address". IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96)
 * addresses are looked up as the IPv4 address they carry, so they are not listed.
 */
export const RESERVED_IPV6: readonly ReservedRange[] = [
  { cidr: '::/128', reason: 'unspecified address (RFC 4291)' },
  { cidr: '::1/128', reason: 'loopback (RFC 4291)' },
  { cidr: '64:ff9b:1::/48', reason: 'local-use NAT64 (RFC 8215)' },
  { cidr: '100::/64', reason: 'discard-only (RFC 6666)' },
  { cidr: '2001:2::/48', reason: 'benchmarking (RFC 5180)' },
  { cidr: '2001:db8::/32', reason: 'documentation (RFC 3849)' },
  { cidr: '3fff::/20', reason: 'documentation (RFC 9637)' },
  { cidr: 'fc00::/7', reason: 'unique local, private network (RFC 4193)' },
  { cidr: 'fe80::/10', reason: 'link-local (RFC 4291)' },
  { cidr: 'fec0::/10', reason: 'site-local, deprecated (RFC 3879)' },
  { cidr: 'ff00::/8', reason: 'multicast (RFC 4291)' },
];

export const NOT_GLOBAL_UNICAST = 'not a global unicast address (outside 2000::/3, RFC 4291)';
