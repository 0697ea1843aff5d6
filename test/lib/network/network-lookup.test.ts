import { beforeAll, describe, expect, it } from 'vitest';
import { parseNetworkOverrides } from '#lib/network/admin-networks.ts';
import { checkRoleTable, loadNetworkLookup, type NetworkTable } from '#lib/network/network-lookup.ts';
import type { NetworkOwner } from '#lib/network/network.ts';
import reviewed from '#lib/network/as-roles.json' with { type: 'json' };

// The real data set (@ip-location-db/asn, pinned in package-lock.json) and the reviewed table.
let networks: NetworkTable;
beforeAll(() => {
  networks = loadNetworkLookup().networks;
});

const pick = (o: NetworkOwner) => ({ asn: o.asn, role: o.role, roleSource: o.roleSource, label: o.label });

function overrides(text: string) {
  const parsed = parseNetworkOverrides(text);
  if (!parsed.ok) throw new Error(parsed.errors.join(' '));
  networks.applyOverrides(parsed.overrides, parsed.text);
}

describe('addresses resolve as their owners publish them', () => {
  it('mail security gateways', () => {
    // Microsoft 365 URLs and IP address ranges, Exchange Online ID 10 (*.mail.protection.outlook.com): 40.107.0.0/16,
    // 2a01:111:f403::/48; 40.107.218.12 is the Safe Links fetch logged in github.com/gophish/gophish/issues/973.
    expect(pick(networks.lookup('40.107.218.12'))).toEqual({
      asn: 8075,
      role: 'security_gateway',
      roleSource: 'table',
      label: 'Microsoft Exchange Online Protection',
    });
    expect(networks.lookup('2a01:111:f403:2c00::1')).toMatchObject({
      asn: 8075,
      role: 'security_gateway',
      label: 'Microsoft Exchange Online Protection',
    });
    // Proofpoint support (PPSup_SupportInfo): 67.231.144.0/20 and 208.84.64.0/22.
    expect(networks.lookup('67.231.144.1')).toMatchObject({
      asn: 26211,
      organisation: 'Proofpoint, Inc.',
      role: 'security_gateway',
      label: 'Proofpoint',
    });
    expect(networks.lookup('208.84.65.1')).toMatchObject({ asn: 26211, role: 'security_gateway' });
    // Mimecast "Data Centers and URLs", United States: 207.211.30.0/24, 205.139.110.0/24; United Kingdom: 91.220.42.0/24.
    expect(networks.lookup('207.211.30.5')).toMatchObject({
      asn: 30031,
      organisation: 'Mimecast North America Inc',
      role: 'security_gateway',
      label: 'Mimecast',
    });
    expect(networks.lookup('205.139.110.1')).toMatchObject({ asn: 30031, role: 'security_gateway' });
    expect(networks.lookup('91.220.42.10')).toMatchObject({ asn: 42427, role: 'security_gateway' });
    // Barracuda Campus, "Barracuda Email Security Service IP Ranges" (US): 64.235.144.0/20, 209.222.80.0/21.
    expect(networks.lookup('209.222.80.1')).toMatchObject({
      asn: 15324,
      organisation: 'Barracuda Networks, Inc.',
      role: 'security_gateway',
    });
    // Cisco Secure Email (IronPort) and Trend Micro, by the data set's organisation names.
    expect(networks.lookup('68.232.128.1')).toMatchObject({
      organisation: 'Cisco Systems Ironport Division',
      role: 'security_gateway',
    });
    expect(networks.lookup('150.70.0.1')).toMatchObject({
      organisation: 'TREND MICRO INCORPORATED',
      role: 'security_gateway',
    });
  });

  it('Microsoft outside its published mail protection ranges is its cloud (Azure, Defender detonation), which also carries Outlook’s image proxy', () => {
    // 40.94.0.0/16: Microsoft traffic "not listed" per github.com/MicrosoftDocs/OfficeDocs-Enterprise/issues/544.
    expect(networks.lookup('40.94.0.1')).toMatchObject({
      asn: 8075,
      role: 'cloud',
      roleSource: 'table',
      label: expect.stringMatching(/^Microsoft/),
      imageProxy: 'Outlook.com / Outlook on the web image proxy',
    });
    // Exchange Online Protection's published ranges are the gateway, not the image proxy.
    expect(networks.lookup('40.107.218.12')).toMatchObject({ role: 'security_gateway', imageProxy: null });
    expect(networks.lookup('66.249.84.1').imageProxy).toBeNull();
  });

  it('the audit of mail and URL security vendors: Symantec Email Security.cloud, FortiSandbox SaaS, McAfee, WithSecure', () => {
    // Symantec's published Email Security.cloud ranges: its own AS21345 ("CA Technology R&D Limited", Broadcom) and
    // ranges inside AWS and Google Cloud (named, so reasons say Symantec) and one in no AS at all.
    expect(networks.lookup('85.158.136.60')).toMatchObject({
      asn: 21345,
      role: 'security_gateway',
      label: 'Symantec Email Security.cloud (Broadcom)',
    });
    expect(networks.lookup('193.109.254.10')).toMatchObject({ asn: 21345, role: 'security_gateway' });
    expect(networks.lookup('67.219.240.1')).toMatchObject({
      asn: 14618,
      role: 'security_gateway',
      label: 'Symantec Email Security.cloud (Broadcom)',
    });
    expect(networks.lookup('216.82.242.1')).toMatchObject({
      asn: null,
      role: 'security_gateway',
      label: 'Symantec Email Security.cloud (Broadcom)',
    });
    // FortiSandbox SaaS Japan, 210.7.96.0/24, which the data set places in AT&T's AS2687.
    expect(networks.lookup('210.7.96.20')).toMatchObject({
      asn: 2687,
      role: 'security_gateway',
      label: 'FortiSandbox SaaS (Fortinet)',
    });
    expect(networks.lookup('210.7.97.20')).toMatchObject({ asn: 2687, role: 'access' });
    // Symantec Web Security Service egress sits in Google Cloud: its employees' browsing is a web proxy's, not a cloud's.
    expect(networks.lookup('148.64.14.164')).toMatchObject({
      asn: 396982,
      role: 'web_proxy',
      label: 'Symantec Web Security Service (Broadcom)',
    });
    expect(networks.lookup('148.64.14.165')).toMatchObject({ asn: 396982, role: 'cloud' });
  });

  it('mailbox image proxies, Apple and Private Relay', () => {
    // Gmail's GoogleImageProxy fetches from Google's network, e.g. 66.249.84.0/24 (AS15169).
    expect(networks.lookup('66.249.84.1')).toMatchObject({ asn: 15169, role: 'mail_proxy', roleSource: 'table' });
    // Yahoo Mail's proxy (YahooMailProxy): 98.137.64.0/18.
    expect(networks.lookup('98.137.64.1')).toMatchObject({ asn: 36647, role: 'mail_proxy' });
    // Apple: 17.0.0.0/8 (AS714).
    expect(networks.lookup('17.58.101.1')).toMatchObject({ asn: 714, organisation: 'Apple Inc.', role: 'apple' });
    expect(networks.lookup('2620:149:af0::10')).toMatchObject({ asn: 714, role: 'apple' });
    // iCloud Private Relay egress (Apple's egress-ip-ranges.csv): Akamai's AS36183, and Cloudflare's 104.28.0.0/16.
    expect(networks.lookup('172.225.7.7')).toMatchObject({
      asn: 36183,
      role: 'apple',
      label: 'iCloud Private Relay (Akamai egress)',
    });
    expect(networks.lookup('104.28.4.1')).toMatchObject({
      asn: 13335,
      role: 'apple',
      label: 'iCloud Private Relay (Cloudflare egress)',
    });
    // The rest of Cloudflare carries WARP and Gateway users as well as Workers: a web proxy, not Apple.
    expect(networks.lookup('1.1.1.1')).toMatchObject({ asn: 13335, role: 'web_proxy' });
  });

  it('secure web gateways and clouds', () => {
    // Zscaler's Global ZEN 185.46.212.88 (help.zscaler.com/zia/global-zscaler-enforcement-nodes-zens).
    expect(networks.lookup('185.46.212.88')).toMatchObject({ asn: 62044, role: 'web_proxy', label: 'Zscaler' });
    // Cisco Umbrella / OpenDNS resolver 208.67.222.222; Netskope 163.116.128.0/17.
    expect(networks.lookup('208.67.222.222')).toMatchObject({ asn: 36692, role: 'web_proxy' });
    expect(networks.lookup('163.116.128.1')).toMatchObject({ asn: 55256, role: 'web_proxy' });
    // AWS (ip-ranges.json: 3.5.140.0/22), Google Cloud, DigitalOcean, OVH, Hetzner (IPv6).
    expect(networks.lookup('3.5.140.2')).toMatchObject({ asn: 16509, role: 'cloud', label: 'Amazon Web Services' });
    expect(networks.lookup('35.190.247.1')).toMatchObject({ asn: 396982, role: 'cloud' });
    expect(networks.lookup('134.209.0.1')).toMatchObject({ asn: 14061, role: 'cloud' });
    expect(networks.lookup('213.32.0.1')).toMatchObject({ asn: 16276, role: 'cloud' });
    expect(networks.lookup('2a01:4f8::1')).toMatchObject({ asn: 24940, role: 'cloud', label: 'Hetzner' });
  });

  it('an AS no table names is an access network, with the data set owner', () => {
    // 64.235.148.0/23 is A1 Telekom Austria (AS8447) in the data set.
    expect(networks.lookup('64.235.148.1')).toEqual({
      asn: 8447,
      organisation: 'A1 Telekom Austria AG',
      role: 'access',
      roleSource: 'default',
      label: null,
      imageProxy: null,
    });
  });
});

describe('edges of a range', () => {
  it('IPv4: first, last, one past (64.235.144.0–64.235.147.255 is Barracuda in the data set)', () => {
    expect(networks.lookup('64.235.144.0')).toMatchObject({ asn: 15324 });
    expect(networks.lookup('64.235.147.255')).toMatchObject({ asn: 15324 });
    expect(networks.lookup('64.235.148.0')).toMatchObject({ asn: 8447 });
    // 64.235.143.255 lies in no range: no owner.
    expect(networks.lookup('64.235.143.255')).toEqual({
      asn: null,
      organisation: null,
      role: 'access',
      roleSource: 'default',
      label: null,
      imageProxy: null,
    });
  });

  it('IPv6: first, last, one before and one past (2a02:26f7:b018::/47 is AS36183 between AS20940 ranges)', () => {
    expect(networks.lookup('2a02:26f7:b017:ffff:ffff:ffff:ffff:ffff')).toMatchObject({ asn: 20940 });
    expect(networks.lookup('2a02:26f7:b018::')).toMatchObject({ asn: 36183, role: 'apple' });
    expect(networks.lookup('2a02:26f7:b019:ffff:ffff:ffff:ffff:ffff')).toMatchObject({ asn: 36183 });
    expect(networks.lookup('2a02:26f7:b01a::')).toMatchObject({ asn: 20940, role: 'web_proxy' });
  });

  it('the ends of the address space', () => {
    expect(networks.lookup('0.0.0.0')).toMatchObject({ role: 'private', roleSource: 'reserved' });
    expect(networks.lookup('255.255.255.255')).toMatchObject({ role: 'private', roleSource: 'reserved' });
    expect(networks.lookup('::')).toMatchObject({ role: 'private', label: 'unspecified address (RFC 4291)' });
    expect(networks.lookup('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toMatchObject({
      role: 'private',
      label: 'multicast (RFC 4291)',
    });
  });
});

describe('forms of an address', () => {
  it('IPv4-mapped and NAT64 IPv6 addresses are looked up as the IPv4 address they carry', () => {
    expect(networks.lookup('::ffff:66.249.84.1')).toBe(networks.lookup('66.249.84.1'));
    expect(networks.lookup('::FFFF:4231:5401')).toBe(networks.lookup('66.49.84.1'));
    expect(networks.lookup('64:ff9b::42f9:5401')).toBe(networks.lookup('66.249.84.1'));
    expect(networks.lookup('::ffff:10.0.0.1')).toMatchObject({ role: 'private', label: 'private network (RFC 1918)' });
  });

  it('private, reserved, loopback, link-local, CGNAT and documentation ranges: private, with the reason', () => {
    const cases: [string, string][] = [
      ['10.1.2.3', 'private network (RFC 1918)'],
      ['172.31.255.255', 'private network (RFC 1918)'],
      ['192.168.0.1', 'private network (RFC 1918)'],
      ['100.64.0.1', 'carrier-grade NAT, shared address space (RFC 6598)'],
      ['127.0.0.1', 'loopback (RFC 1122)'],
      ['169.254.169.254', 'link-local (RFC 3927)'],
      ['192.0.2.1', 'documentation, TEST-NET-1 (RFC 5737)'],
      ['198.51.100.7', 'documentation, TEST-NET-2 (RFC 5737)'],
      ['203.0.113.9', 'documentation, TEST-NET-3 (RFC 5737)'],
      ['224.0.0.251', 'multicast (RFC 5771)'],
      ['::1', 'loopback (RFC 4291)'],
      ['fe80::1%eth0', 'link-local (RFC 4291)'],
      ['fd12:3456::1', 'unique local, private network (RFC 4193)'],
      ['2001:db8::1', 'documentation (RFC 3849)'],
      ['4000::1', 'not a global unicast address (outside 2000::/3, RFC 4291)'],
    ];
    for (const [ip, reason] of cases)
      expect(networks.lookup(ip), ip).toEqual({
        asn: null,
        organisation: null,
        role: 'private',
        roleSource: 'reserved',
        label: reason,
        imageProxy: null,
      });
    // Just outside: 172.32.0.0 and 100.128.0.0 are public addresses.
    expect(networks.lookup('172.32.0.1').roleSource).not.toBe('reserved');
    expect(networks.lookup('100.128.0.1').roleSource).not.toBe('reserved');
  });

  it('empty, garbage and huge strings are "not an IP address", never an error', () => {
    const garbage = [
      '',
      ' ',
      'unknown',
      '1.2.3.4.5',
      '999.1.1.1',
      '1.2.3.4, 5.6.7.8',
      '::g',
      '[::1',
      'x'.repeat(10_240),
      '1.2.3.4'.repeat(2000),
      '\u0000',
      '🙂',
    ];
    for (const ip of garbage)
      expect(networks.lookup(ip), ip.slice(0, 20)).toEqual({
        asn: null,
        organisation: null,
        role: 'access',
        roleSource: 'default',
        label: 'not an IP address',
        imageProxy: null,
      });
    for (const ip of [undefined, null, 42, {}] as unknown as string[])
      expect(networks.lookup(ip).label).toBe('not an IP address');
  });

  it('answers shared, frozen objects', () => {
    const first = networks.lookup('67.231.144.1');
    expect(networks.lookup('67.231.150.9')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(networks.lookup('10.0.0.1')).toBe(networks.lookup('10.9.9.9'));
  });
});

describe("admins' networks", () => {
  it('win over the table and the reserved ranges; the longest prefix wins; an AS entry covers the AS', () => {
    overrides(
      [
        '# ours',
        '198.51.100.0/24 security_gateway Our test gateway',
        '8.8.0.0/16 access Wide',
        '8.8.8.0/24 cloud Narrow',
        'AS26211 access Proofpoint is our own relay',
        '2001:db8:1::/48 web_proxy Lab proxy',
      ].join('\n'),
    );
    expect(networks.lookup('198.51.100.7')).toEqual({
      asn: null,
      organisation: null,
      role: 'security_gateway',
      roleSource: 'admin',
      label: 'Our test gateway',
      imageProxy: null,
    });
    expect(networks.lookup('8.8.8.8')).toMatchObject({
      asn: 15169,
      organisation: 'Google LLC',
      role: 'cloud',
      roleSource: 'admin',
      label: 'Narrow',
    });
    expect(networks.lookup('8.8.4.4')).toMatchObject({
      asn: 15169,
      role: 'access',
      roleSource: 'admin',
      label: 'Wide',
    });
    expect(networks.lookup('67.231.144.1')).toMatchObject({
      asn: 26211,
      role: 'access',
      roleSource: 'admin',
      label: 'Proofpoint is our own relay',
    });
    expect(networks.lookup('2001:db8:1:2::3')).toMatchObject({ role: 'web_proxy', roleSource: 'admin' });
    expect(networks.lookup('2001:db8:2::3')).toMatchObject({ role: 'private', roleSource: 'reserved' });
    // Addresses outside them are untouched.
    expect(networks.lookup('66.249.84.1')).toMatchObject({ role: 'mail_proxy', roleSource: 'table' });
    expect(networks.lookup('52.100.0.1')).toMatchObject({ role: 'security_gateway', roleSource: 'table' });

    // An admin AS entry also wins over the table's networks inside that AS.
    overrides('AS8075 cloud All of Microsoft');
    expect(networks.lookup('40.107.218.12')).toMatchObject({
      role: 'cloud',
      roleSource: 'admin',
      label: 'All of Microsoft',
    });
    // Emptied: the table again.
    overrides('');
    expect(networks.lookup('40.107.218.12')).toMatchObject({ role: 'security_gateway', roleSource: 'table' });
    expect(networks.lookup('8.8.8.8')).toMatchObject({ role: 'mail_proxy', roleSource: 'table' });
  });
});

describe('the reviewed table', () => {
  it('names a source for every row, and a bad row stops the load naming the row', () => {
    expect(() => checkRoleTable(reviewed)).not.toThrow();
    for (const row of [...reviewed.asns, ...reviewed.networks])
      expect(row.source.length, JSON.stringify(row)).toBeGreaterThan(20);
    expect(() =>
      checkRoleTable({ asns: [{ asn: 1, role: 'gateway', label: 'x', source: 'y' }], networks: [] }, 'roles.json'),
    ).toThrow(/roles\.json asns\[0\] \(AS1\) needs a role/);
    expect(() =>
      checkRoleTable(
        { asns: [], networks: [{ cidr: '10.0.0.0/40', role: 'cloud', label: 'x', source: 'y' }] },
        'roles.json',
      ),
    ).toThrow(/networks\[0\] has no valid CIDR/);
    expect(() =>
      checkRoleTable(
        {
          asns: [
            { asn: 5, role: 'cloud', label: 'a', source: 'b' },
            { asn: 5, role: 'cloud', label: 'a', source: 'b' },
          ],
          networks: [],
        },
        'roles.json',
      ),
    ).toThrow(/lists AS5 twice/);
  });
});
