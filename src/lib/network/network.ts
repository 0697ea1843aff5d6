/** Who owns an address: the vocabulary shared by the lookup, the role table, Settings and the classifier. */

export const NETWORK_ROLES = [
  'security_gateway',
  'cloud',
  'mail_proxy',
  'apple',
  'web_proxy',
  'access',
  'private',
] as const;

/**
 * security_gateway: mail security services that fetch links and images to scan them.
 * cloud: hosting and cloud providers (machines, and the odd virtual desktop).
 * mail_proxy: mailbox providers' image proxies (Gmail, Yahoo): they fetch when a reader opens.
 * apple: Apple's own networks and iCloud Private Relay egress (Mail Privacy Protection).
 * web_proxy: corporate secure web gateways and privacy relays that carry real people's browsing
 *   as well as scanners: a hit there needs another machine sign to be a machine.
 * access: homes, offices, mobile networks — and any network the table does not name.
 * private: private, reserved, loopback, link-local, CGNAT and documentation ranges.
 */
export type NetworkRole = (typeof NETWORK_ROLES)[number];

export interface NetworkOwner {
  /** The AS announcing the address in the data set; null for reserved, unknown or unlisted addresses. */
  readonly asn: number | null;
  /** The AS's organisation as the data set names it, e.g. "Proofpoint, Inc.". */
  readonly organisation: string | null;
  readonly role: NetworkRole;
  /** Where the role came from: the reviewed table, an admin's entry in Settings, no entry (access), or a reserved range. */
  readonly roleSource: 'table' | 'admin' | 'default' | 'reserved';
  /**
   * A short name for reasons a marketer reads: the table's name for the network ("Microsoft
   * Exchange Online Protection"), the admin's note, or the reserved range ("private network
   * (RFC 1918)"); null when only the data set's organisation is known.
   */
  readonly label: string | null;
  /**
   * The mailbox provider's image proxy this network also carries, by the table (Microsoft's
   * AS8075: "Outlook.com / Outlook on the web image proxy"): a pixel load from it after the
   * delivery-time scans, in a reader's agent, is the reader opening. Null elsewhere, and inside
   * the table's more specific networks (Exchange Online Protection's ranges are not the proxy).
   */
  readonly imageProxy: string | null;
}

export interface NetworkLookup {
  /** Never throws; answers shared frozen objects (no allocation beyond parsing the address). */
  lookup(ip: string): NetworkOwner;
}

export function isNetworkRole(value: string): value is NetworkRole {
  return (NETWORK_ROLES as readonly string[]).includes(value);
}

/** Role names in words, for the admin. */
export const ROLE_NAMES: Record<NetworkRole, string> = {
  security_gateway: 'mail security gateway',
  cloud: 'cloud or hosting',
  mail_proxy: 'mailbox image proxy',
  apple: 'Apple (incl. iCloud Private Relay)',
  web_proxy: 'web security gateway or relay',
  access: 'access network (homes, offices, mobile)',
  private: 'private or reserved',
};
