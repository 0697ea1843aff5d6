import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, parseNetwork } from '#lib/network/ip-address.ts';

const v6 = (text: string) => {
  const out = new Uint32Array(4);
  return parseIPv6(text, out) ? [...out].map((w) => w.toString(16).padStart(8, '0')).join(' ') : null;
};

describe('parseIPv4', () => {
  it('reads dotted quads, first and last included', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(4294967295);
    expect(parseIPv4('192.0.2.1')).toBe(3221225985);
    expect(parseIPv4('40.107.22.5')).toBe(40 * 2 ** 24 + 107 * 2 ** 16 + 22 * 256 + 5);
  });

  it('refuses everything else, as node:net does', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.-4',
      '01.2.3.4',
      '1.2.3.04',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4/24',
      'a.b.c.d',
      '1234.1.1.1',
      '١.٢.٣.٤',
      '1.2.3.4\n',
    ]) {
      expect(parseIPv4(bad), JSON.stringify(bad)).toBe(-1);
      expect(isIP(bad), JSON.stringify(bad)).not.toBe(4);
    }
  });

  it('agrees with node:net on a sweep of generated addresses', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const n = next() * 2 + (next() % 2);
      expect(parseIPv4(formatIPv4(n))).toBe(n);
    }
  });
});

describe('parseIPv6', () => {
  it('reads the full, compressed, mixed, bracketed and zoned forms', () => {
    expect(v6('2001:db8:0:0:0:0:0:1')).toBe('20010db8 00000000 00000000 00000001');
    expect(v6('2001:DB8::1')).toBe('20010db8 00000000 00000000 00000001');
    expect(v6('::')).toBe('00000000 00000000 00000000 00000000');
    expect(v6('::1')).toBe('00000000 00000000 00000000 00000001');
    expect(v6('1::')).toBe('00010000 00000000 00000000 00000000');
    expect(v6('::ffff:192.0.2.1')).toBe('00000000 00000000 0000ffff c0000201');
    expect(v6('64:ff9b::192.0.2.1')).toBe('0064ff9b 00000000 00000000 c0000201');
    expect(v6('[2a01:111:f403:2c00::1]')).toBe('2a010111 f4032c00 00000000 00000001');
    expect(v6('fe80::1%eth0')).toBe('fe800000 00000000 00000000 00000001');
    expect(v6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('ffffffff ffffffff ffffffff ffffffff');
    expect(v6('1:2:3:4:5:6:7::')).toBe('00010002 00030004 00050006 00070000');
    expect(v6('::2:3:4:5:6:7:8')).toBe('00000002 00030004 00050006 00070008');
  });

  it('refuses what is not one address', () => {
    for (const bad of [
      '',
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      'g::1',
      '::ffff:1.2.3',
      '::ffff:256.1.1.1',
      '1.2.3.4::',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:',
      ':1',
      '[::1',
      '::1]',
      'fe80::1%',
      '1:2:3:4:5:6:7:8::',
      '::1.2.3.4:5',
    ]) {
      expect(v6(bad), JSON.stringify(bad)).toBeNull();
    }
    expect(v6('1:2:3:4:5:6:7:' + '8'.repeat(60))).toBeNull();
  });

  it('round-trips through the canonical form for what node:net accepts', () => {
    for (const text of [
      '2001:4860:4860::8888',
      '2a02:26f7:b3c0:4000::',
      '2620:149:af0::10',
      '::ffff:0:1',
      '1:0:0:1::',
      'fe80::1:2',
    ]) {
      expect(isIP(text)).toBe(6);
      const out = new Uint32Array(4);
      expect(parseIPv6(text, out)).toBe(true);
      expect(formatIPv6(out)).toBe(text);
    }
  });
});

describe('parseNetwork', () => {
  it('reads IPv4 and IPv6 networks and single addresses', () => {
    expect(parseNetwork('203.0.113.0/24')).toMatchObject({
      version: 4,
      first: parseIPv4('203.0.113.0'),
      last: parseIPv4('203.0.113.255'),
      prefix: 24,
    });
    expect(parseNetwork('0.0.0.0/0')).toMatchObject({ first: 0, last: 4294967295, prefix: 0 });
    expect(parseNetwork('192.0.2.7')).toMatchObject({
      first: parseIPv4('192.0.2.7'),
      last: parseIPv4('192.0.2.7'),
      prefix: 32,
    });
    const net = parseNetwork('2001:db8:1::/48');
    expect(net).toMatchObject({ version: 6, prefix: 48 });
    if ('version' in net && net.version === 6) {
      expect(formatIPv6(net.first)).toBe('2001:db8:1::');
      expect(formatIPv6(net.last)).toBe('2001:db8:1:ffff:ffff:ffff:ffff:ffff');
    }
  });

  it('says what is wrong with a bad one', () => {
    expect(parseNetwork('10.0.0.0/33')).toEqual({
      error: 'has a prefix length over 32, the most an IPv4 network can have',
    });
    expect(parseNetwork('2001:db8::/129')).toEqual({
      error: 'has a prefix length over 128, the most an IPv6 network can have',
    });
    expect(parseNetwork('203.0.113.7/24')).toEqual({
      error: 'has bits set after the first 24 (the network is 203.0.113.0/24)',
    });
    expect(parseNetwork('2001:db8::1/32')).toEqual({
      error: 'has bits set after the first 32 (the network is 2001:db8::/32)',
    });
    expect(parseNetwork('10.0.0.0/8a')).toMatchObject({ error: expect.stringMatching(/not a whole number/) });
    expect(parseNetwork('10.0.0.0/')).toMatchObject({ error: expect.stringMatching(/not a whole number/) });
    expect(parseNetwork('example.com/24')).toMatchObject({
      error: expect.stringMatching(/is not an IPv4 or IPv6 address/),
    });
    expect(parseNetwork('fe80::/10%eth0')).toMatchObject({ error: expect.stringMatching(/not a whole number/) });
  });
});
