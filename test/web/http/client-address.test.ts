import { describe, expect, it } from 'vitest';
import { clientAddress } from '../../../src/web/http/client-address.ts';
import { loadConfig } from '#lib/config.ts';

const none = { kind: 'none' } as const;

describe('clientAddress', () => {
  it('uses the socket peer unless a proxy is trusted', () => {
    expect(clientAddress('::ffff:198.51.100.7', '1.2.3.4', none)).toBe('198.51.100.7');
  });

  it('with one trusted hop, takes the address the proxy saw, not what the client claimed', () => {
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.5', { kind: 'hops', hops: 1 })).toBe('203.0.113.5');
    expect(clientAddress('127.0.0.1', '203.0.113.5', { kind: 'hops', hops: 1 })).toBe('203.0.113.5');
    expect(clientAddress('127.0.0.1', 'garbage', { kind: 'hops', hops: 1 })).toBe('127.0.0.1');
  });

  it('with a list of proxies, skips exactly those from the right', () => {
    const trust = { kind: 'addresses', addresses: ['10.0.0.1', '10.0.0.2'] } as const;
    expect(clientAddress('10.0.0.1', '6.6.6.6, 203.0.113.5, 10.0.0.2', trust)).toBe('203.0.113.5');
    expect(clientAddress('198.51.100.1', '203.0.113.5', trust)).toBe('198.51.100.1');
  });

  it('is configured by TRUST_PROXY, and a bad value fails naming the variable', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toEqual({ kind: 'hops', hops: 1 });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, ::1' }).trustProxy).toEqual({
      kind: 'addresses',
      addresses: ['10.0.0.1', '::1'],
    });
    expect(() => loadConfig({ TRUST_PROXY: 'yes please' })).toThrow(/TRUST_PROXY/);
  });
});
