import { isIP } from 'node:net';
import type { TrustProxy } from '../../lib/config.ts';

/** "::ffff:10.0.0.1" → "10.0.0.1", so an IPv4 peer reads the same on dual-stack sockets. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  const unbracketed = trimmed.startsWith('[') ? trimmed.slice(1, trimmed.indexOf(']')) : trimmed;
  return unbracketed.toLowerCase().startsWith('::ffff:') && isIP(unbracketed.slice(7)) === 4
    ? unbracketed.slice(7)
    : unbracketed;
}

/**
 * The address of the person making the request. The socket's peer, unless TRUST_PROXY says
 * which peers are proxies: then X-Forwarded-For is read from the right, skipping exactly the
 * trusted hops, so a client cannot choose its own address by sending the header itself.
 * Visitor hashing, rate limits and traffic classification all use this one function.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: TrustProxy,
): string {
  const peer = normalizeAddress(socketAddress ?? '');
  if (trust.kind === 'none' || !forwardedFor) return peer;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const chain = [
    ...header
      .split(',')
      .map(normalizeAddress)
      .filter((a) => a !== ''),
    peer,
  ];
  if (trust.kind === 'hops') {
    const candidate = chain[chain.length - 1 - trust.hops] ?? chain[0]!;
    return isIP(candidate) ? candidate : peer;
  }
  const trusted = new Set(trust.addresses.map(normalizeAddress));
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!;
    if (!trusted.has(hop)) return isIP(hop) ? hop : peer;
  }
  return chain[0]!;
}
