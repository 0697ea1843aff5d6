import { isbot } from 'isbot';

/**
 * What a user agent is — the agent half of "who sent this hit" (the network half is
 * src/lib/network). Worked out once per agent string and kept as a short family name on the
 * stored hit (never the agent string itself): `<kind>:<platform>`, e.g. "browser:ios".
 */
export type AgentKind =
  /** A web browser (or an app's web view) as people use them. */
  | 'browser'
  /** A mail program fetching images as its reader opens a message: Outlook, Thunderbird, … */
  | 'mail'
  /** Apple Mail's own web view (Mac, iPhone, iPad): Apple's WebKit without a Safari token. */
  | 'apple_mail'
  /** Microsoft Office checking a link before it opens the browser (`ms-office`, "Existence Discovery"). */
  | 'office'
  /** A bare "Mozilla/5.0": Apple Mail Privacy Protection's fetcher. */
  | 'apple_fetcher'
  /** Gmail's or Yahoo's image proxy, fetching as the reader opens. */
  | 'image_proxy'
  /**
   * A retired browser engine no reader still browses with: the EdgeHTML Edge (`Edge/12`–`Edge/18`,
   * retired by Microsoft in 2021; Gmail's delivery-time prefetch sends `Edge/12.246`) and Internet
   * Explorer (`MSIE`, `Trident/`, retired in June 2022 and since redirected to Edge by Windows) —
   * what mail systems and on-premises gateways fetch with. Outlook's own agent, which carries
   * `MSIE 7.0` and `Trident/` too, names itself and is a mail program.
   */
  | 'prefetch'
  /** A security scanner that names itself. */
  | 'scanner'
  /** Any other agent a bot list knows (isbot): crawlers, HTTP libraries, monitors. */
  | 'bot'
  /** No user agent at all. */
  | 'none'
  /** Something else that is no known bot (an app's HTTP client): taken for a reader's program. */
  | 'other';

export type AgentPlatform = 'ios' | 'android' | 'mac' | 'windows' | 'linux' | 'other';

/**
 * The mail program a hit reveals, as the report groups opens and clicks (issue 17, item 20).
 * A click comes from the browser the link opened in, which rarely names the mail program.
 */
export type MailClientFamily =
  'apple_mail' | 'gmail' | 'outlook' | 'yahoo' | 'thunderbird' | 'other_mail' | 'browser' | 'unknown';

/** The kind of device a hit came from, where its agent says so. */
export type DeviceClass = 'desktop' | 'phone' | 'tablet' | 'unknown';

export interface AgentFacts {
  kind: AgentKind;
  platform: AgentPlatform;
  /** The mail program's family: a small label the open and click rows keep for the report. */
  client: MailClientFamily;
  /** Desktop, phone, tablet or unknown: kept on the row beside `client`. */
  device: DeviceClass;
  /** `<kind>:<platform>`: what the hit row keeps, and what "the same agent" means for continuity. */
  family: string;
  /** The name a reason uses: "Gmail image proxy", "Mimecast", "Chrome on Android", … */
  name: string;
  /** A Chromium or Firefox browser's major version (both release every four weeks), else null: what `isOutdatedBrowser` weighs. */
  browserMajor: number | null;
}

/** Agents longer than this are judged by their start (browsers' are ~150 characters; a 10 KB one is junk or an attack). */
const MAX_AGENT = 512;

const IMAGE_PROXIES: [RegExp, string][] = [
  [/GoogleImageProxy/, 'Gmail image proxy'],
  [/YahooMailProxy/, 'Yahoo image proxy'],
];

/**
 * Security scanners that name themselves in their agent, as their vendors document (isbot misses
 * some, and a named scanner is a scanner whatever network it comes from).
 */
const SCANNERS: [RegExp, string][] = [
  [/Barracuda/i, 'Barracuda'],
  [/Mimecast/i, 'Mimecast'],
  [/Proofpoint|urldefense/i, 'Proofpoint'],
  [/Symantec|MessageLabs/i, 'Symantec'],
  [/\bTMES\b|Trend ?Micro/i, 'Trend Micro'],
  [/Sophos/i, 'Sophos'],
  [/FireEye|Trellix/i, 'Trellix'],
  [/Forcepoint|Websense/i, 'Forcepoint'],
  [/CiscoSecureEmail|Cisco.?IronPort|IronPort/i, 'Cisco Secure Email'],
  [/Zscaler/i, 'Zscaler'],
  [/SafeLinks|Microsoft Defender|Office 365 ATP/i, 'Microsoft Defender'],
  [/Bitdefender/i, 'Bitdefender'],
  [/FortiMail|FortiGuard|Fortinet/i, 'Fortinet'],
  [/Hornetsecurity/i, 'Hornetsecurity'],
  [/Libraesva/i, 'Libraesva'],
  [/VadeSecure|Vade Secure/i, 'Vade'],
  [/SpamTitan/i, 'SpamTitan'],
  [/Cloudmark/i, 'Cloudmark'],
  [/Check ?Point|Avanan/i, 'Check Point'],
  [/Abnormal ?Security/i, 'Abnormal Security'],
  [/IRONSCALES/i, 'IRONSCALES'],
  [/Perception ?Point/i, 'Perception Point'],
  [/Area ?1 ?Security/i, 'Area 1'],
  [/SonicWall/i, 'SonicWall'],
  [/Retarus/i, 'Retarus'],
];

/** Mail programs that fetch images as their reader reads (their own agents, not a browser's). */
const MAIL_CLIENTS: [RegExp, string][] = [
  [/Microsoft Outlook|Outlook-(iOS|Android)|Microsoft-(Outlook|MacOutlook)/, 'Outlook'],
  [/Thunderbird/, 'Thunderbird'],
  [/eM ?Client/, 'eM Client'],
  [
    /Airmail|Spark\/|Superhuman|Postbox|Mailbird|Windows-Live-Mail|Windows Mail|Evolution\/|KMail|Mailspring|Canary Mail/,
    'mail program',
  ],
];

const OFFICE_PROBE =
  /ms-office|MSOffice|Microsoft Office (Existence|Protocol) Discovery|Microsoft Office (Word|Excel|PowerPoint)|\bMSOIA\b|non-browser; .*Microsoft/i;
const BARE = /^Mozilla\/5\.0$/;
const APPLE_WEBKIT = /AppleWebKit\/[\d.]+ \(KHTML, like Gecko\)/;
/** Safari and other browsers built on Apple's WebKit name themselves; Apple Mail's web view does not. */
const NAMED_WEBKIT_BROWSER = /Safari\/|Version\/|CriOS|FxiOS|EdgiOS|OPiOS|GSA\/|FBAN|Instagram|Line\//;
const BROWSER = /^Mozilla\/5\.0 \(.+\)( AppleWebKit\/| Gecko\/)|^Opera\//;
/** EdgeHTML Edge names itself `Edge/<12–18>`; the Chromium Edge says `Edg/`. */
const EDGE_HTML = /\bEdge\/(1[2-8])\./;
/**
 * Internet Explorer (`MSIE 8.0`, or IE 11's `Trident/7.0; rv:11.0`): retired by Microsoft on
 * 2022-06-15 and redirected to Edge by Windows since; gateways still sweep links with it
 * (gophish #1555: "IE 8.0" clicks one to three seconds after the send). Checked after the mail
 * programs and Office, whose agents carry the same tokens.
 */
const INTERNET_EXPLORER = /\bMSIE (\d+)\.|\bTrident\/(\d+)\./;
const CHROMIUM_MAJOR = /(?:Chrome|CriOS)\/(\d{2,3})\./;
const FIREFOX_MAJOR = /(?:Firefox|FxiOS)\/(\d{2,3})\./;

function platformOf(agent: string): AgentPlatform {
  if (/iPhone|iPad|iPod/.test(agent)) return 'ios';
  if (agent.includes('Android')) return 'android';
  if (/Macintosh|Mac OS X/.test(agent)) return 'mac';
  if (agent.includes('Windows')) return 'windows';
  if (/Linux|X11|CrOS/.test(agent)) return 'linux';
  return 'other';
}

const PLATFORM_NAMES: Record<AgentPlatform, string> = {
  ios: 'iPhone or iPad',
  android: 'Android',
  mac: 'Mac',
  windows: 'Windows',
  linux: 'Linux',
  other: '',
};

function browserName(agent: string): string {
  if (/Edg(e|A|iOS)?\//.test(agent)) return 'Edge';
  if (/OPR\/|Opera/.test(agent)) return 'Opera';
  if (agent.includes('SamsungBrowser')) return 'Samsung Internet';
  if (/Firefox\/|FxiOS/.test(agent)) return 'Firefox';
  if (/Chrome\/|CriOS/.test(agent)) return 'Chrome';
  if (agent.includes('Safari/')) return 'Safari';
  return 'a browser';
}

function describe(agent: string): { kind: AgentKind; name: string } {
  if (agent === '') return { kind: 'none', name: 'no user agent' };
  for (const [pattern, name] of IMAGE_PROXIES) if (pattern.test(agent)) return { kind: 'image_proxy', name };
  const edgeHtml = EDGE_HTML.exec(agent);
  if (edgeHtml) return { kind: 'prefetch', name: `an outdated Edge ${edgeHtml[1]} agent` };
  for (const [pattern, name] of SCANNERS) if (pattern.test(agent)) return { kind: 'scanner', name };
  for (const [pattern, name] of MAIL_CLIENTS) if (pattern.test(agent)) return { kind: 'mail', name };
  if (OFFICE_PROBE.test(agent)) return { kind: 'office', name: 'Microsoft Office' };
  const ie = INTERNET_EXPLORER.exec(agent);
  if (ie) return { kind: 'prefetch', name: `a retired Internet Explorer ${ie[1] ?? '11'} agent` };
  if (BARE.test(agent)) return { kind: 'apple_fetcher', name: 'a bare “Mozilla/5.0”' };
  if (APPLE_WEBKIT.test(agent) && /Macintosh|iPhone|iPad|iPod/.test(agent) && !NAMED_WEBKIT_BROWSER.test(agent))
    return { kind: 'apple_mail', name: 'Apple Mail' };
  if (isbot(agent)) return { kind: 'bot', name: 'a bot agent' };
  if (BROWSER.test(agent)) return { kind: 'browser', name: browserName(agent) };
  return { kind: 'other', name: 'an app' };
}

/** The mail program behind an agent of a given kind (`name` is what `describe` called it). */
function clientOf(agent: string, kind: AgentKind, name: string): MailClientFamily {
  if (kind === 'image_proxy') return agent.includes('GoogleImageProxy') ? 'gmail' : 'yahoo';
  if (kind === 'apple_mail') return 'apple_mail';
  if (kind === 'mail') return name === 'Outlook' ? 'outlook' : name === 'Thunderbird' ? 'thunderbird' : 'other_mail';
  if (kind === 'browser') return 'browser';
  return 'unknown';
}

/**
 * The device class an agent names. Apple names the iPad and the iPhone/iPod; Android browsers on
 * phones carry "Mobile" and on tablets leave it out (Chrome for Android's documented agents); a
 * desktop system is a desktop. An image proxy or a machine's fetcher hides the reader's device,
 * and an Android app that is no browser does not say which it is. iPadOS Safari asks for desktop
 * sites with a Mac agent, so an iPad in Safari counts as a desktop: the agent cannot tell.
 */
function deviceOf(agent: string, kind: AgentKind, platform: AgentPlatform): DeviceClass {
  if (!isReaderKind(kind)) return 'unknown';
  if (/iPad/i.test(agent)) return 'tablet';
  if (/iPhone|iPod/i.test(agent)) return 'phone';
  if (platform === 'android') {
    if (/Android.*Tablet|Tablet.*Android/.test(agent)) return 'tablet';
    if (/^Mozilla\/5\.0 \(Linux; (U; )?Android/.test(agent)) return / Mobile\b/.test(agent) ? 'phone' : 'tablet';
    return agent.includes('Mobile') ? 'phone' : 'unknown';
  }
  if (platform === 'ios') return 'unknown';
  if (platform === 'mac' || platform === 'windows' || platform === 'linux')
    return agent.includes('Windows Phone') ? 'phone' : 'desktop';
  return 'unknown';
}

const cache = new Map<string, AgentFacts>();
// The last agent asked about: an agent read from a request is a new string, which a Map lookup
// must hash in full; comparing with the last one is a memcmp (docs/performance.md).
// Consecutive hits very often share an agent (Apple's and Gmail's proxies, one browser's clicks).
let last: { agent: string; facts: AgentFacts } | undefined;

/** The facts of a user agent (as sent; '' for none). */
export function agentFacts(userAgent: string): AgentFacts {
  if (last?.agent === userAgent) return last.facts;
  let facts = cache.get(userAgent);
  if (!facts) {
    const agent = (userAgent.length > MAX_AGENT ? userAgent.slice(0, MAX_AGENT) : userAgent).trim();
    const { kind, name } = describe(agent);
    const platform = platformOf(agent);
    const on = PLATFORM_NAMES[platform];
    const readable = (kind === 'browser' || kind === 'apple_mail' || kind === 'mail') && on ? `${name} on ${on}` : name;
    const major = kind === 'browser' ? (CHROMIUM_MAJOR.exec(agent) ?? FIREFOX_MAJOR.exec(agent)) : null;
    facts = {
      kind,
      platform,
      client: clientOf(agent, kind, name),
      device: deviceOf(agent, kind, platform),
      family: `${kind}:${platform}`,
      name: readable,
      browserMajor: major ? Number(major[1]) : null,
    };
    if (cache.size >= 2000) cache.clear();
    if (userAgent.length <= MAX_AGENT) cache.set(userAgent, facts);
  }
  last = { agent: userAgent, facts };
  return facts;
}

/** Agents that people read and click with. */
export const isReaderKind = (kind: AgentKind): boolean =>
  kind === 'browser' || kind === 'mail' || kind === 'apple_mail' || kind === 'other';

/** Agents that no person reads with: whatever they do is a machine's. */
export const isMachineKind = (kind: AgentKind): boolean =>
  kind === 'scanner' || kind === 'bot' || kind === 'none' || kind === 'apple_fetcher' || kind === 'prefetch';

export const isMobile = (platform: AgentPlatform): boolean => platform === 'ios' || platform === 'android';

/**
 * Chrome and Firefox both shipped version 100 in spring 2022 (Chrome 100 on 2022-03-29) and a
 * new major version every four weeks since — about twelve a year, counting the skipped
 * December releases (Chrome 131 in November 2024, 146 in March 2026). Browsers update
 * themselves, so a reader runs one at most a few versions old; scanners are known to send
 * agents years out of date (Chrome 57, 79, 80 and 96 from Microsoft's detonation; "false clicks
 * carry outdated Chrome versions", gophish #2357).
 */
const VERSION_100_AT = Date.UTC(2022, 2, 29);
const RELEASES_A_YEAR = 12;
/**
 * Three years behind (~36 versions) is outdated: beyond the extended-support releases companies
 * pin (Chrome's and Firefox's ESR/LTS lines last about a year) and Chrome 109, the last for
 * Windows 7 (January 2023), until 2026 — the oldest a person still plausibly browses with.
 */
const OUTDATED_YEARS = 3;

/** The major version a self-updating Chromium or Firefox browser has at `at` (epoch ms), roughly. */
export function currentBrowserMajor(at: number): number {
  return 100 + Math.floor(((at - VERSION_100_AT) / (365.25 * 86_400_000)) * RELEASES_A_YEAR);
}

/**
 * Two years behind (~24 versions): not what a person's browser runs when it reaches us through a
 * vendor's network — an isolation browser forwards the person's own self-updating agent, and a
 * virtual desktop's browser updates itself like any other — but what gateways' click-time checks
 * and re-crawls send (Chrome 109–121 in the sources, 2023–24 releases, and older).
 */
const CURRENT_YEARS = 2;

/** A Chromium or Firefox browser at most two years behind what browsers run at `at`: a person's, when it comes through a vendor's network. */
export function isCurrentBrowser(agent: AgentFacts, at: number): boolean {
  return agent.browserMajor !== null && agent.browserMajor >= currentBrowserMajor(at) - CURRENT_YEARS * RELEASES_A_YEAR;
}

/** A Chromium or Firefox browser whose version is years behind what browsers run at `at`: a machine's fixed agent. */
export function isOutdatedBrowser(agent: AgentFacts, at: number): boolean {
  return agent.browserMajor !== null && agent.browserMajor < currentBrowserMajor(at) - OUTDATED_YEARS * RELEASES_A_YEAR;
}
