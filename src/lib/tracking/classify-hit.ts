import type { ClickClass, OpenClass } from '../db/schema.ts';
import { isMachineKind, isMobile } from './classify-agent.ts';
import { continuesReader, isAccessNetwork, isMachineNetwork, isMachinesHit, ownerName, ownerWithRole, sourceFacts, type HitSource, type StoredSource } from './hit-source.ts';

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

/** The class of one pixel load, with its reason. */
export function classifyOpen(source: HitSource, at: number, d: DeliveryHistory, t: TrackingThresholds): Judgement<OpenClass> {
  const { owner, agent } = source;
  const age = at - d.sentAt;
  const role = owner.role;
  if (agent.kind === 'image_proxy') return { class: 'proxy', reason: `${agent.name} (${ownerName(owner)}): fetched as the reader opened it` };
  if (role === 'apple') return { class: 'apple_mpp', reason: `Apple Mail Privacy Protection: ${ownerName(owner)} fetched it ${after(age)}` };
  if ((agent.kind === 'apple_fetcher' || agent.kind === 'apple_mail') && !isAccessNetwork(role) && role !== 'security_gateway') {
    return { class: 'apple_mpp', reason: `Apple Mail Privacy Protection through iCloud Private Relay (${ownerName(owner)}): ${agent.name} ${after(age)}` };
  }
  if (agent.kind === 'prefetch' && role === 'mail_proxy') return { class: 'scanner', reason: `Gmail’s delivery-time prefetch (${ownerName(owner)}, ${agent.name}) ${after(age)}` };
  if (isMachineNetwork(role)) return { class: 'scanner', reason: `${ownerWithRole(owner)}, loaded the pixel ${after(age)}` };
  if (agent.kind === 'apple_fetcher' && age <= t.prefetchSeconds * 1000) return { class: 'apple_mpp', reason: `Apple Mail Privacy Protection’s agent (${agent.name}) ${after(age)}, from ${ownerName(owner)}` };
  if (isMachineKind(agent.kind)) return { class: 'scanner', reason: `${agent.name} from ${ownerName(owner)}, ${after(age)}` };
  const facts = sourceFacts(source);
  if (d.machine && isMachinesHit(facts.stored, d.machine)) return { class: 'scanner', reason: `the machine already caught on this message (${d.machine.reason})` };
  return { class: 'human', reason: facts.readerReason };
}

export interface ClickFacts {
  at: number;
  /** Which link: its id, or "unsubscribe". */
  link: string;
  honeypot: boolean;
}

/**
 * Gateways scan a message as it arrives: of 836 measured scanner bursts, 99 % started within
 * five minutes of the send (craft-campaign #546). Two different links within two seconds then,
 * before any sign of the reader, is a machine's pace.
 */
export const FAST_SWEEP = { links: 2, withinMs: 2000, afterDeliveryMs: 5 * 60_000 };

/**
 * A sweep: different links of one delivery from one network that is not an access network —
 * clickBurstLinks of them within clickBurstSeconds (paced or fast), or, in the minutes after
 * delivery before any reader sign, two within two seconds. How many and over how long; undefined
 * when not a sweep.
 */
export function sweepOf(source: StoredSource, click: ClickFacts, d: DeliveryHistory, t: TrackingThresholds): { links: number; spanMs: number } | undefined {
  if (isAccessNetwork(source.role)) return undefined;
  const window = Math.max(t.clickBurstSeconds * 1000, FAST_SWEEP.withinMs);
  const links = new Map<string, number>([[click.link, click.at]]);
  for (const h of d.recentLinks) {
    if (h.at < click.at - window || h.at > click.at || h.asn !== source.asn || h.role !== source.role) continue;
    if (!links.has(h.link) || links.get(h.link)! > h.at) links.set(h.link, h.at);
  }
  const times = [...links.values()];
  if (times.length >= t.clickBurstLinks && click.at - Math.min(...times) <= t.clickBurstSeconds * 1000) return { links: times.length, spanMs: click.at - Math.min(...times) };
  const fast = times.filter((at) => click.at - at <= FAST_SWEEP.withinMs);
  const start = Math.min(...fast);
  // A reader sign before the burst began (the burst's own first link may have looked like one).
  const early = click.at - d.sentAt <= FAST_SWEEP.afterDeliveryMs && (d.humanSince === null || d.humanSince >= start);
  if (early && fast.length >= FAST_SWEEP.links) return { links: fast.length, spanMs: click.at - start };
  return undefined;
}

/** The class of one click redirect (a GET: HEAD requests are never clicks), with its reason. */
export function classifyClick(source: HitSource, click: ClickFacts, d: DeliveryHistory, t: TrackingThresholds): Judgement<ClickClass> {
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
  if (agent.kind === 'office') {
    // Office asks for a link before it opens the reader's browser: the browser's click follows.
    const reason = `Microsoft Office checked the link from ${ownerName(owner)} before opening it`;
    return isMachineNetwork(role) && beforeReader ? { class: 'bot', reason, verdict: reason } : { class: 'bot', reason };
  }
  if (isMachineNetwork(role)) {
    const reason = `${ownerWithRole(owner)}, followed a link ${after(age)}`;
    return beforeReader ? { class: 'bot', reason, verdict: reason } : { class: 'bot', reason };
  }
  if (d.machine && isMachinesHit(stored, d.machine)) return { class: 'bot', reason: `the machine already caught on this message (${d.machine.reason})` };
  // Seconds after delivery only a phone's notification tap, or a reader already seen there, clicks.
  if (age <= t.botClickSeconds * 1000 && !continuesReader(stored, d.reader) && !isMobile(agent.platform)) {
    const reason = isAccessNetwork(role) ? `clicked ${after(age)} (${agent.name}, ${ownerName(owner)}) with no earlier open from there` : `clicked ${after(age)} through ${ownerWithRole(owner)}`;
    return { class: 'bot', reason, verdict: reason };
  }
  return { class: 'human', reason: facts.readerReason };
}

/** Likely-human opens: counted as such in reports (an image proxy fetches when the reader opens). */
export function isLikelyHumanOpen(c: OpenClass): boolean {
  return c === 'human' || c === 'proxy';
}
