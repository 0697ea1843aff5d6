import type { DeviceClass, MailClientFamily } from '../tracking/classify-agent.ts';

/**
 * Likely-human opens and human clicks of an issue by mail program family and by device class
 * (issue 17, item 20), from the maintained counts `agent.open` and `agent.click` (dim
 * "<class>|<client>|<device>", written when a hit is judged and moved when a verdict re-labels
 * it). Apple Mail Privacy Protection's prefetch is a row of its own: a machine, never a person's
 * mail program or device.
 */
export const CLIENT_NAMES: Record<MailClientFamily, string> = {
  apple_mail: 'Apple Mail',
  gmail: 'Gmail',
  outlook: 'Outlook',
  yahoo: 'Yahoo Mail',
  thunderbird: 'Thunderbird',
  other_mail: 'Other mail programs',
  browser: 'A web browser',
  unknown: 'Unknown',
};

export const DEVICE_NAMES: Record<DeviceClass, string> = {
  desktop: 'Desktop',
  phone: 'Phone',
  tablet: 'Tablet',
  unknown: 'Unknown',
};

export const APPLE_PREFETCH_ROW = 'Apple Mail Privacy Protection (not a person’s open)';

export interface AgentRow<K extends string> {
  key: K | 'apple_mpp';
  name: string;
  /** Likely-human opens: pixel loads classed human or image proxy (events, not people). */
  opens: number;
  /** Human clicks (events, not people). */
  clicks: number;
  /** Apple Mail Privacy Protection's prefetches: only on its own row, never a person's. */
  prefetches: number;
}

export interface MailClientFigures {
  clients: AgentRow<MailClientFamily>[];
  devices: AgentRow<DeviceClass>[];
}

const LIKELY_HUMAN_OPEN = new Set(['human', 'proxy']);

function parseDim(dim: string): { cls: string; client: string; device: string } {
  const [cls = '', client = 'unknown', device = 'unknown'] = dim.split('|');
  return { cls, client, device };
}

/** Every family and every device class in a fixed order (zeros included, so issues compare row by row), then Apple's prefetch. */
export function mailClientFigures(
  openCounts: readonly { dim: string; n: number }[],
  clickCounts: readonly { dim: string; n: number }[],
): MailClientFigures {
  const clients = new Map(
    (Object.keys(CLIENT_NAMES) as MailClientFamily[]).map((key) => [
      key,
      { key, name: CLIENT_NAMES[key], opens: 0, clicks: 0, prefetches: 0 },
    ]),
  );
  const devices = new Map(
    (Object.keys(DEVICE_NAMES) as DeviceClass[]).map((key) => [
      key,
      { key, name: DEVICE_NAMES[key], opens: 0, clicks: 0, prefetches: 0 },
    ]),
  );
  let prefetch = 0;
  // A label this version does not know (none today) is counted as unknown rather than dropped.
  const clientRow = (client: string) => clients.get(client as MailClientFamily) ?? clients.get('unknown')!;
  const deviceRow = (device: string) => devices.get(device as DeviceClass) ?? devices.get('unknown')!;
  for (const { dim, n } of openCounts) {
    const { cls, client, device } = parseDim(dim);
    if (cls === 'apple_mpp') prefetch += n;
    else if (LIKELY_HUMAN_OPEN.has(cls)) {
      clientRow(client).opens += n;
      deviceRow(device).opens += n;
    }
  }
  for (const { dim, n } of clickCounts) {
    const { cls, client, device } = parseDim(dim);
    if (cls !== 'human') continue;
    clientRow(client).clicks += n;
    deviceRow(device).clicks += n;
  }
  const apple = { key: 'apple_mpp' as const, name: APPLE_PREFETCH_ROW, opens: 0, clicks: 0, prefetches: prefetch };
  return { clients: [...clients.values(), apple], devices: [...devices.values(), apple] };
}
