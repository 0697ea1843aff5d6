import type { DayHours } from './opening-hours.ts';
import { weekdayAndMinute } from './opening-hours.ts';
import { addressFor, AGENTS } from './people.ts';
import type { Random } from './random.ts';
import { DAY_MS, footfallAt, HOUR_MS, MINUTE_MS, siteTrafficAt } from './rhythms.ts';
import type { DemoHistory } from './history.ts';

// The everyday life around the newsletter: visitors finding the site, signups, calls and walk-ins.

/** A send, as far as the days after it are concerned: when, and how much it stirred. */
export interface SendEffect {
  sendAt: number;
  script: { appeal: number; footfall: number; trackedPhone: string };
}

const CALLS_PER_OPEN_HOUR = 1;
const WALK_INS_PER_OPEN_HOUR = 2.4;
/** Staff tap within this long before opening or after closing (arriving early, locking up). */
const EDGE_MINUTES = 30;

/**
 * Everyday visitors over the whole history: by hour and weekday (site time), a little more in
 * the days after each send (readers who come by themselves). Anonymous: one lane and address each.
 */
export function planSiteTraffic(h: DemoHistory, sends: readonly SendEffect[]): void {
  const random = h.random('site');
  let visitors = 0;
  const sessionsPerHour = Math.max(15, h.scale.subscribers * 0.018) / 24;
  for (let hour = Math.floor(h.start / HOUR_MS) * HOUR_MS; hour < h.end; hour += HOUR_MS) {
    let spill = 0;
    for (const s of sends)
      if (hour >= s.sendAt && hour - s.sendAt < 4 * DAY_MS)
        spill += 0.35 * s.script.appeal * Math.exp(-(hour - s.sendAt) / (30 * HOUR_MS));
    const sessions = random.poisson(sessionsPerHour * siteTrafficAt(hour + 30 * MINUTE_MS, h.timeZone) * (1 + spill));
    for (let i = 0; i < sessions; i++) planVisitor(h, hour + random.next() * HOUR_MS, ++visitors, random);
  }
}

/** The n-th anonymous visitor: a crawler now and then, else a person from a search engine, a link or nowhere, reading a page or a few. */
function planVisitor(h: DemoHistory, at: number, n: number, random: Random): void {
  const lane = `v:${n}`;
  const ip = addressFor('visitor', n);
  if (random.chance(0.06)) {
    h.pageView(lane, at, { url: h.sitePath(random), userAgent: random.pick([AGENTS.googlebot, AGENTS.bingbot]), ip });
    return;
  }
  const userAgent = random.weighted([
    [AGENTS.iphone, 30],
    [AGENTS.android, 22],
    [AGENTS.chromeWindows, 22],
    [AGENTS.safariMac, 10],
    [AGENTS.edgeWindows, 8],
    [AGENTS.firefoxLinux, 4],
    [AGENTS.ipad, 4],
  ]);
  const source = random.weighted([
    ['google', 44],
    ['direct', 28],
    ['duckduckgo', 5],
    ['bing', 5],
    ['facebook', 6],
    ['flathead', 6],
    ['reddit', 3],
    ['workshop-ad', 3],
  ] as const);
  const referrer = {
    google: 'https://www.google.com/',
    direct: undefined,
    duckduckgo: 'https://duckduckgo.com/',
    bing: 'https://www.bing.com/',
    facebook: 'https://l.facebook.com/',
    flathead: 'https://flathead-society.example/forum/widgets',
    reddit: 'https://www.reddit.com/r/widgets/',
    'workshop-ad': 'https://l.facebook.com/',
  }[source];
  const landing =
    source === 'workshop-ad'
      ? '/articles/repair-counter-and-new-opening-hours/?utm_source=facebook&utm_medium=paid-social&utm_campaign=workshop-evening'
      : h.sitePath(random);
  h.pageView(lane, at, { url: landing, referrer, userAgent, ip });
  h.browse(lane, at, Math.min(5, random.poisson(1.1)), { userAgent, ip }, random);
}

/** People who find the site and sign up, spread like the site's traffic. */
export function planOrganicSignups(h: DemoHistory, count: number): void {
  const random = h.random('signups');
  for (let i = 0; i < count; i++) {
    let at = random.between(h.start, h.end);
    while (!random.chance(siteTrafficAt(at, h.timeZone) / 2.2)) at = random.between(h.start, h.end);
    const lane = `s:${i}`;
    const ip = addressFor('visitor', 1_000_000 + i);
    const userAgent = random.pick([AGENTS.iphone, AGENTS.android, AGENTS.chromeWindows, AGENTS.safariMac]);
    const form = random.weighted([
      ['article', 60],
      ['home', 25],
      ['subscribe-page', 15],
    ] as const);
    const path = form === 'article' ? random.pick(h.articlePaths) : form === 'home' ? '/' : '/subscribe/';
    h.pageView(lane, at, {
      url: path,
      referrer: random.chance(0.6) ? 'https://www.google.com/' : undefined,
      userAgent,
      ip,
    });
    h.planSignup(
      lane,
      at + random.between(40_000, 5 * MINUTE_MS),
      { source: form === 'article' ? `article:${path}` : form, campaign: null, cookie: () => undefined },
      random,
    );
  }
}

/**
 * Calls and walk-ins, tapped at the counter: in opening hours by hour and weekday, a few
 * just before opening or after closing, more in the days after a send (an issue about the
 * repair counter brings more than one about batteries), some saying the newsletter sent them
 * and some calls made to the tracked number.
 */
export function planFootfall(h: DemoHistory, sends: readonly SendEffect[]): void {
  const random = h.random('footfall');
  for (let hour = Math.floor(h.start / HOUR_MS) * HOUR_MS; hour < h.end; hour += HOUR_MS) {
    const { weekday, minute } = weekdayAndMinute(hour, h.timeZone);
    const hours = h.week[weekday];
    if (!hours) continue;
    const openFrom = Math.max(minute, hours.opens);
    const openTo = Math.min(minute + 60, hours.closes);
    const openMinutes = Math.max(0, openTo - openFrom);
    const edgeMinutes =
      Math.max(0, Math.min(minute + 60, hours.opens) - Math.max(minute, hours.opens - EDGE_MINUTES)) +
      Math.max(0, Math.min(minute + 60, hours.closes + EDGE_MINUTES) - Math.max(minute, hours.closes));
    if (openMinutes === 0 && edgeMinutes === 0) continue;
    let lift = 0;
    let stirring: SendEffect | undefined;
    for (const s of sends) {
      if (hour < s.sendAt || hour - s.sendAt >= 4 * DAY_MS) continue;
      lift += s.script.footfall * Math.exp(-(hour - s.sendAt) / (30 * HOUR_MS));
      stirring = s;
    }
    for (const kind of ['call', 'walk_in'] as const) {
      const base = footfallAt(
        kind,
        hour + 30 * MINUTE_MS,
        h.timeZone,
        kind === 'call' ? CALLS_PER_OPEN_HOUR : WALK_INS_PER_OPEN_HOUR,
      );
      const bump = lift * (kind === 'call' ? 0.75 : 0.55);
      const inHours = random.poisson((base * (1 + bump) * openMinutes) / 60);
      const atEdge = random.poisson((0.12 * edgeMinutes) / 60);
      for (let i = 0; i < inHours + atEdge; i++) {
        const offset =
          i < inHours ? openFrom - minute + random.next() * openMinutes : edgeOffset(minute, hours, random);
        // Half the extra calls dial the number printed in the latest issue: the call-tracking provider reports those.
        if (kind === 'call' && i < inHours && stirring && random.chance((0.5 * bump) / (1 + bump))) {
          h.trackedCall(hour + offset * MINUTE_MS, stirring.script.trackedPhone, random);
          continue;
        }
        const mentionedShare = 0.04 + (0.6 * bump) / (1 + bump);
        const mentioned = random.chance(mentionedShare) ? true : random.chance(0.3) ? false : null;
        const note = random.chance(0.08)
          ? random.pick(
              kind === 'call'
                ? ['asked about the spring check', 'repair status', 'opening hours', 'battery sizes']
                : ['repair drop-off', 'bought batteries', 'spring check', 'browsing'],
            )
          : null;
        h.tap(hour + offset * MINUTE_MS, kind, mentioned, random, note);
      }
    }
  }
}

/** A minute (from the start of the hour) in the half hours around opening and closing. */
function edgeOffset(minute: number, hours: NonNullable<DayHours>, random: Random): number {
  const windows = [
    [hours.opens - EDGE_MINUTES, hours.opens],
    [hours.closes, hours.closes + EDGE_MINUTES],
  ]
    .map(([from, to]) => [Math.max(from!, minute), Math.min(to!, minute + 60)] as const)
    .filter(([from, to]) => to > from);
  const [from, to] = random.pick(windows);
  return from - minute + random.next() * (to - from);
}
