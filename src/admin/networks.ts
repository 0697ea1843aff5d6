import { ROLE_NAMES, type NetworkOwner } from '../lib/network/network.ts';

/** The settings page's answer to "who owns this address?", in words. */
export interface OwnerView {
  owner: string;
  role: string;
  why: string;
}

const WHY: Record<NetworkOwner['roleSource'], string> = {
  admin: 'your networks, above',
  table: 'Footfall’s reviewed table of networks',
  default: 'no table names this network, so it counts as an access network',
  reserved: 'a reserved range: no one’s public network',
};

export function describeOwner(found: NetworkOwner): OwnerView {
  const as = found.asn === null ? null : `AS${found.asn}${found.organisation ? ` ${found.organisation}` : ''}`;
  // Reserved ranges and "not an IP address" have a label in place of an owner.
  const named = found.roleSource === 'reserved' || found.roleSource === 'default';
  const owner = (named ? found.label : null) ?? as ?? 'not in the data set';
  const note = !named && found.label ? ` (${found.label})` : '';
  return { owner, role: `${ROLE_NAMES[found.role]}${note}`, why: WHY[found.roleSource] };
}
