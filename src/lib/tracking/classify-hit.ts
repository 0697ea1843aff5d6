import type { ClickClass, OpenClass } from '../db/schema.ts';
import { isCurrentBrowser, isMachineKind, isMobile, isOutdatedBrowser, type AgentFacts } from './classify-agent.ts';
import {
  carriesPeopleAndScanners,
  continuesReader,
  isAccessNetwork,
  isMachineNetwork,
  isMachinesHit,
  ownerName,
  ownerWithRole,
  platformOf,
  sourceFacts,
  type HitSource,
  type StoredSource,
} from './hit-source.ts';

/**
 * Who loaded a pixel or followed a link — a reader, a mail provider's image proxy, Apple's
 * prefetcher or a security scanner — judged from who sent the hit (the network that owns the
 * address and the agent), how long after delivery, and what the delivery saw before (its
 * verdict, its reader's network and device, its recent link hits). Pure functions: the writer
 * reads the delivery's history inside its transaction and hands it in. Every judgement carries
 * a reason a marketer can read, naming the owner. DESIGN.md "What the numbers mean" in code.
 */
export interface TrackingThresholds {
  /** A click this many seconds after delivery or sooner, from a desktop reader not seen before on that network: a machine (0 = off). */
  botClickSeconds: number;
  /** clickBurstLinks different links of one delivery within clickBurstSeconds, from a network that is not an access network: a sweep. */
  clickBurstLinks: number;
  clickBurstSeconds: number;
  /** A bare "Mozilla/5.0" pixel fetch this soon after delivery from a network not known as Apple's: still Apple's prefetch. */
  prefetchSeconds: number;
}

/** What a delivery saw before this hit, as the writer read it in its transaction. */
export interface DeliveryHistory {
  sentAt: number;
  /** The delivery's machine verdict: when, why, and the source it names. */
  machine: (StoredSource & { at: number; reason: string }) | null;
  /** The source of its first reader sign (a human open or click). */
  reader: StoredSource | null;
  /** When its first reader sign came (a likely-human open or a human click), or null. */
  humanSince: number | null;
  /** Its link hits (clicks, HEAD checks, the unsubscribe page) within the sweep window before this hit, oldest first. */
  recentLinks: readonly RecentLinkHit[];
}

export interface RecentLinkHit extends StoredSource {
  at: number;
  /** Which link: a link id, or "unsubscribe". */
  link: string;
}

export interface Judgement<C> {
  class: C;
  reason: string;
  /** This hit gives the delivery its machine verdict (with this reason): its machine's other hits follow. */
  verdict?: string;
}

/** "95 s", "12 min", "3 h", "2 days". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

const after = (age: number) => `${duration(age)} after delivery`;

/**
 * The delivery-time scan: gateways scan a message as it arrives. Of 836 measured scanner bursts
 * (craft-campaign #546) 99 % started within five minutes of the send (0.5 % in the first 10 s,
 * 66 % at 20–60 s, 28 % at 1–5 min); the pixel came a median 9 s after the send. Sweeps, and the
 * hits of networks that carry people as well as scanners, are weighed by whether they fall in it.
 */
export const SCAN_WINDOW_MS = 5 * 60_000;

/**
 * A click from a web security proxy this soon after delivery, from a desktop, before any reader
 * sign from there, has a scanner's timing: the same measurements put a scanner's first click a
 * median ~42 s after the send (the pixel at 9 s, the burst 33 s later), while a reader at a
 * desktop first notices the message, opens it and reads it. Later single clicks there are the
 * people the proxy carries (a sweep or another machine sign still counts).
 */
export const WEB_PROXY_FIRST_CLICK_MS = 60_000;

/** Agents a person reads or browses with (not a mail program's own fetcher, not a named machine). */
const browsesWith = (agent: AgentFacts) => agent.kind === 'browser' || agent.kind === 'other';

/**
 * A person behind a vendor's or a cloud's network: people do reach us from there — a remote
 * browser isolation service or a gateway's time-of-click proxy opening the person's click for
 * them (Hornetsecurity's ATP filter "acts as a web proxy"; VIPRE's link isolation "simulates a
 * session using the same browser and client type as the requestor"; Cloudflare's and Broadcom's
 * email isolation), and readers working in virtual desktops (Azure Virtual Desktop, Windows 365,
 * AWS WorkSpaces: a cloud's outbound addresses). Their hits come after the delivery-time scan,
 * in the person's own current browser or mail program. The scanners there act in the scan, in
 * their own fixed agents (outdated, or two years behind in their click-time checks), or sweep.
 * Mailbox providers' networks (Google's, Yahoo's) carry their proxies, not people.
 */
function personBehindVendor(source: HitSource, age: number, at: number, opening: boolean): boolean {
  const { owner, agent } = source;
  if (owner.role === 'mail_proxy' || age <= SCAN_WINDOW_MS) return false;
  return (agent.kind === 'browser' && isCurrentBrowser(agent, at)) || (opening && agent.kind === 'mail');
}

/**
 * The machine this delivery was caught on sent this hit too — unless the network also carries
 * people (a web security proxy, Private Relay egress) and the hit comes after the delivery-time
 * scan in a current browser: that is the person behind the same proxy.
 */
function caughtMachine(source: HitSource, stored: StoredSource, age: number, at: number, d: DeliveryHistory): boolean {
  if (!d.machine || !isMachinesHit(stored, d.machine)) return false;
  if (!carriesPeopleAndScanners(source.owner.role)) return true;
  return age <= SCAN_WINDOW_MS || !browsesWith(source.agent) || isOutdatedBrowser(source.agent, at);
}

/** The class of one pixel load, with its reason. */
export function classifyOpen(
  source: HitSource,
  at: number,
  d: DeliveryHistory,
  t: TrackingThresholds,
): Judgement<OpenClass> {
  const { owner, agent } = source;
  const age = at - d.sentAt;
  const role = owner.role;
  if (agent.kind === 'image_proxy')
    return { class: 'proxy', reason: `${agent.name} (${ownerName(owner)}): fetched as the reader opened it` };
  if (role === 'apple')
    return {
      class: 'apple_mpp',
      reason: `Apple Mail Privacy Protection: ${ownerName(owner)} fetched it ${after(age)}`,
    };
  // Private Relay egress outside the table's snapshot is run by Akamai, Cloudflare and Fastly: web proxies, not clouds.
  if ((agent.kind === 'apple_fetcher' || agent.kind === 'apple_mail') && role === 'web_proxy') {
    return {
      class: 'apple_mpp',
      reason: `Apple Mail Privacy Protection through iCloud Private Relay (${ownerName(owner)}): ${agent.name} ${after(age)}`,
    };
  }
  if (agent.kind === 'prefetch' && role === 'mail_proxy')
    return {
      class: 'scanner',
      reason: `Gmail’s delivery-time prefetch (${ownerName(owner)}, ${agent.name}) ${after(age)}`,
    };
  // A mailbox provider's image proxy inside a cloud network (Outlook.com's, in Microsoft's AS8075):
  // after the delivery-time scan, in a reader's agent, it fetches as the reader opens.
  // (A mail program's own agent there is the program itself, in a virtual desktop: see personBehindVendor.)
  if (owner.imageProxy && browsesWith(agent) && age > SCAN_WINDOW_MS && !isOutdatedBrowser(agent, at)) {
    return {
      class: 'proxy',
      reason: `${owner.imageProxy} (${ownerName(owner)}): fetched as the reader opened it, ${after(age)}`,
    };
  }
  if (isMachineNetwork(role)) {
    if (personBehindVendor(source, age, at, true))
      return {
        class: 'human',
        reason: `reader: ${agent.name} through ${ownerWithRole(owner)}, ${after(age)} (a virtual desktop or an isolation browser)`,
      };
    return { class: 'scanner', reason: `${ownerWithRole(owner)}, loaded the pixel ${after(age)}` };
  }
  if (agent.kind === 'apple_fetcher' && age <= t.prefetchSeconds * 1000)
    return {
      class: 'apple_mpp',
      reason: `Apple Mail Privacy Protection’s agent (${agent.name}) ${after(age)}, from ${ownerName(owner)}`,
    };
  if (isMachineKind(agent.kind))
    return { class: 'scanner', reason: `${agent.name} from ${ownerName(owner)}, ${after(age)}` };
  const facts = sourceFacts(source);
  if (role === 'web_proxy' && browsesWith(agent)) {
    // A web security proxy carries scanners too: a browser loading the pixel needs a human sign.
    if (isOutdatedBrowser(agent, at))
      return {
        class: 'scanner',
        reason: `${ownerWithRole(owner)}: a years-old ${agent.name} loaded the pixel ${after(age)}`,
      };
    if (age <= SCAN_WINDOW_MS && !continuesReader(facts.stored, d.reader)) {
      return {
        class: 'scanner',
        reason: `${ownerWithRole(owner)}: ${agent.name} loaded the pixel ${after(age)}, in the delivery-time scan, before any sign of the reader there`,
      };
    }
  }
  if (caughtMachine(source, facts.stored, age, at, d))
    return { class: 'scanner', reason: `the machine already caught on this message (${d.machine!.reason})` };
  return { class: 'human', reason: facts.readerReason };
}

export interface ClickFacts {
  at: number;
  /** Which link: its id, or "unsubscribe". */
  link: string;
  honeypot: boolean;
}

/**
 * A fast sweep: two different links within two seconds — the measured sweeps follow ~9–10 links
 * in under a second (craft-campaign #546) — in the delivery-time scan, before any sign of the reader.
 */
export const FAST_SWEEP = { links: 2, withinMs: 2000 };

/**
 * A sweep: different links of one delivery from one network that is not an access network —
 * clickBurstLinks of them within clickBurstSeconds (paced or fast), or, in the delivery-time scan
 * before any reader sign, two within two seconds. On networks that carry people as well as
 * scanners (web security proxies, Private Relay egress) only a sweep that begins in the
 * delivery-time scan, before any reader sign from there, counts: several tabs opened at once
 * later, or by the reader seen there, are a person's. How many and over how long; undefined
 * when not a sweep.
 */
export function sweepOf(
  source: StoredSource,
  click: ClickFacts,
  d: DeliveryHistory,
  t: TrackingThresholds,
): { links: number; spanMs: number } | undefined {
  if (isAccessNetwork(source.role)) return undefined;
  const window = Math.max(t.clickBurstSeconds * 1000, FAST_SWEEP.withinMs);
  const links = new Map<string, number>([[click.link, click.at]]);
  for (const h of d.recentLinks) {
    if (h.at < click.at - window || h.at > click.at || h.asn !== source.asn || h.role !== source.role) continue;
    if (!links.has(h.link) || links.get(h.link)! > h.at) links.set(h.link, h.at);
  }
  const times = [...links.values()];
  const first = Math.min(...times);
  // A reader sign before the burst began (the burst's own first link may have looked like one).
  const readerBefore = (start: number) => d.humanSince !== null && d.humanSince < start;
  if (carriesPeopleAndScanners(source.role)) {
    const inScan = first - d.sentAt <= SCAN_WINDOW_MS && !(readerBefore(first) && continuesReader(source, d.reader));
    if (!inScan) return undefined;
  }
  if (times.length >= t.clickBurstLinks && click.at - first <= t.clickBurstSeconds * 1000)
    return { links: times.length, spanMs: click.at - first };
  const fast = times.filter((at) => click.at - at <= FAST_SWEEP.withinMs);
  const start = Math.min(...fast);
  if (fast.length >= FAST_SWEEP.links && start - d.sentAt <= SCAN_WINDOW_MS && !readerBefore(start))
    return { links: fast.length, spanMs: click.at - start };
  return undefined;
}

/**
 * A link the reader has just followed, fetched again within the sweep window from another
 * network (a vendor's, or another access network as another device): a scanner re-checking what
 * the person opened — an ISP's or a security suite's (resend-node #901: the person's click from a
 * home on a Mac, the same link 12 s later from another network as Windows). The person's own next
 * click comes from where they are.
 */
function refetchesReadersClick(hit: StoredSource, click: ClickFacts, d: DeliveryHistory): boolean {
  const reader = d.reader;
  if (reader === null || hit.asn === reader.asn) return false;
  // From another access network only another device says it is not the person (a phone off the Wi-Fi is the same device).
  if (isAccessNetwork(hit.role) && platformOf(hit.family) === platformOf(reader.family)) return false;
  for (const h of d.recentLinks)
    if (h.link === click.link && h.at < click.at && h.asn === reader.asn && h.role === reader.role) return true;
  return false;
}

/** The class of one click redirect (a GET: HEAD requests are never clicks), with its reason. */
export function classifyClick(
  source: HitSource,
  click: ClickFacts,
  d: DeliveryHistory,
  t: TrackingThresholds,
): Judgement<ClickClass> {
  const { owner, agent } = source;
  const age = click.at - d.sentAt;
  const role = owner.role;
  const facts = sourceFacts(source);
  const stored = facts.stored;
  const beforeReader = d.humanSince === null || d.humanSince > click.at;
  if (click.honeypot) {
    const reason = `followed the hidden link no reader sees (${agent.name}, ${ownerName(owner)}) ${after(age)}`;
    return { class: 'bot', reason, verdict: reason };
  }
  if (isMachineKind(agent.kind)) {
    const reason = `${agent.name} from ${ownerName(owner)} followed a link ${after(age)}`;
    return { class: 'bot', reason, verdict: reason };
  }
  const sweep = sweepOf(stored, click, d, t);
  if (sweep) {
    const reason = `${ownerWithRole(owner)}: ${sweep.links} links in ${duration(sweep.spanMs)}`;
    return { class: 'bot', reason, verdict: reason };
  }
  if (refetchesReadersClick(stored, click, d)) {
    return {
      class: 'bot',
      reason: `fetched the link the reader had just followed again, from another network (${agent.name}, ${ownerWithRole(owner)})`,
    };
  }
  if (agent.kind === 'office') {
    // Office asks for a link before it opens the reader's browser: the browser's click follows.
    const reason = `Microsoft Office checked the link from ${ownerName(owner)} before opening it`;
    return isMachineNetwork(role) && beforeReader
      ? { class: 'bot', reason, verdict: reason }
      : { class: 'bot', reason };
  }
  if (isMachineNetwork(role)) {
    if (personBehindVendor(source, age, click.at, false))
      return {
        class: 'human',
        reason: `reader: ${agent.name} through ${ownerWithRole(owner)}, one link ${after(age)} (isolation, a time-of-click proxy or a virtual desktop)`,
      };
    const reason = `${ownerWithRole(owner)}, followed a link ${after(age)}`;
    return beforeReader ? { class: 'bot', reason, verdict: reason } : { class: 'bot', reason };
  }
  if (caughtMachine(source, stored, age, click.at, d))
    return { class: 'bot', reason: `the machine already caught on this message (${d.machine!.reason})` };
  const readerThere = continuesReader(stored, d.reader);
  if (role === 'web_proxy' && browsesWith(agent)) {
    // A web security proxy carries scanners too: its single clicks need another machine sign.
    if (isOutdatedBrowser(agent, click.at))
      return {
        class: 'bot',
        reason: `${ownerWithRole(owner)}: a years-old ${agent.name} followed a link ${after(age)}`,
      };
    if (
      age <= Math.max(WEB_PROXY_FIRST_CLICK_MS, t.botClickSeconds * 1000) &&
      !readerThere &&
      !isMobile(agent.platform)
    ) {
      return {
        class: 'bot',
        reason: `clicked ${after(age)} through ${ownerWithRole(owner)}, before any sign of the reader there`,
      };
    }
    return { class: 'human', reason: facts.readerReason };
  }
  // Seconds after delivery only a phone's notification tap, or a reader already seen there, clicks.
  if (age <= t.botClickSeconds * 1000 && !readerThere && !isMobile(agent.platform)) {
    const reason = isAccessNetwork(role)
      ? `clicked ${after(age)} (${agent.name}, ${ownerName(owner)}) with no earlier open from there`
      : `clicked ${after(age)} through ${ownerWithRole(owner)}`;
    return { class: 'bot', reason, verdict: reason };
  }
  return { class: 'human', reason: facts.readerReason };
}

/** Likely-human opens: counted as such in reports (an image proxy fetches when the reader opens). */
export function isLikelyHumanOpen(c: OpenClass): boolean {
  return c === 'human' || c === 'proxy';
}
