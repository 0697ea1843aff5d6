/**
 * Networks an admin names in Settings, one a line: a network (CIDR, IPv4 or IPv6, or a single
 * address) or an AS number, a role, and an optional note:
 *
 *   203.0.113.0/24   security_gateway  Our mail filter
 *   AS64500          web_proxy         Head office proxy
 *   # comments and blank lines are ignored
 */
import { formatIPv4, formatIPv6, parseNetwork, type ParsedNetwork } from './ip-address.ts';
import { isNetworkRole, NETWORK_ROLES, type NetworkRole } from './network.ts';

export type NetworkOverride =
  | { kind: 'network'; network: ParsedNetwork; text: string; role: NetworkRole; note: string | null }
  | { kind: 'asn'; asn: number; text: string; role: NetworkRole; note: string | null };

export const MAX_OVERRIDE_LINES = 1000;
const MAX_NOTE = 200;

export type ParsedOverrides =
  { ok: true; overrides: NetworkOverride[]; text: string } | { ok: false; errors: string[] };

function describeNetwork(network: ParsedNetwork): string {
  return network.version === 4
    ? `${formatIPv4(network.first)}/${network.prefix}`
    : `${formatIPv6(network.first)}/${network.prefix}`;
}

/** Checks every line; on success answers the entries and the text as typed (comments kept, line ends normalised). */
export function parseNetworkOverrides(input: string): ParsedOverrides {
  const lines = input.replace(/\r\n?/g, '\n').split('\n');
  const errors: string[] = [];
  const overrides: NetworkOverride[] = [];
  const seen = new Map<string, number>();
  let entries = 0;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const n = index + 1;
    if (line === '' || line.startsWith('#')) return;
    if (++entries > MAX_OVERRIDE_LINES) {
      if (entries === MAX_OVERRIDE_LINES + 1)
        errors.push(`Line ${n}: at most ${MAX_OVERRIDE_LINES} networks can be listed.`);
      return;
    }
    if (!line.isWellFormed() || /[\p{Cc}\u2028\u2029]/u.test(line)) {
      errors.push(`Line ${n}: remove the control characters.`);
      return;
    }
    const [what = '', role = '', ...rest] = line.split(/[\s,]+/);
    const note = rest.join(' ').trim() || null;
    const example = '“203.0.113.0/24 security_gateway Our mail filter” or “AS64500 web_proxy Head office proxy”';
    if (role === '') {
      errors.push(`Line ${n}: give a role after “${what.slice(0, 60)}”, e.g. ${example}.`);
      return;
    }
    if (!isNetworkRole(role)) {
      errors.push(`Line ${n}: “${role.slice(0, 60)}” is not a role; use one of ${NETWORK_ROLES.join(', ')}.`);
      return;
    }
    if (note && note.length > MAX_NOTE) {
      errors.push(`Line ${n}: keep the note under ${MAX_NOTE} characters.`);
      return;
    }
    let entry: NetworkOverride;
    const asMatch = /^(?:AS)?(\d+)$/i.exec(what);
    if (asMatch) {
      const asn = Number(asMatch[1]);
      if (!/^[1-9]\d{0,9}$/.test(asMatch[1]!) || asn > 4_294_967_295) {
        errors.push(`Line ${n}: “${what.slice(0, 60)}” is not an AS number (1 to 4294967295).`);
        return;
      }
      entry = { kind: 'asn', asn, text: `AS${asn}`, role, note };
    } else {
      const network = parseNetwork(what);
      if ('error' in network) {
        errors.push(`Line ${n}: “${what.slice(0, 60)}” ${network.error}.`);
        return;
      }
      entry = { kind: 'network', network, text: describeNetwork(network), role, note };
    }
    const earlier = seen.get(entry.text);
    if (earlier !== undefined) {
      errors.push(`Line ${n}: ${entry.text} is already on line ${earlier}.`);
      return;
    }
    seen.set(entry.text, n);
    overrides.push(entry);
  });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    overrides,
    text: lines
      .map((line) => line.trimEnd())
      .join('\n')
      .trim(),
  };
}
