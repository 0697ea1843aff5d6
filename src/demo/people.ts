import type { TopicId } from '../lib/subscribers/topics.ts';
import { Random } from './random.ts';

/**
 * The people of the demo: subscribers with a mail client, a device, a home address and a
 * habit of reading (or not). Rare kinds (a mailbox behind a link scanner) come from fixed
 * shares of the list rather than chance, so even a small demo has a few of each.
 */
export type MailClient =
  /**
   * Apple Mail: with Privacy Protection (most) Apple's proxy fetches the pixel within minutes,
   * read or not; without it (see `hasApplePrivacy`) Apple Mail loads it itself as its reader opens.
   */
  | 'apple'
  /** Gmail or Yahoo webmail: their image proxy fetches the pixel when the reader opens. */
  | 'gmail'
  | 'yahoo'
  /** A desktop client loading images itself (Outlook, Thunderbird). */
  | 'desktop'
  /** Images off: no opens ever, clicks still come. */
  | 'blocked'
  /** A company mailbox whose security scanner fetches the pixel and follows every link on arrival. */
  | 'scanned';

export interface Person {
  /** Order of joining the list: the order every draw about people follows. */
  index: number;
  email: string;
  name: string | null;
  topics: TopicId[];
  client: MailClient;
  /** The scanner in front of a company mailbox: one that says its name, or one posing as a browser. */
  scanner: 'named' | 'posing' | null;
  /** How likely this person reads an ordinary issue. */
  readiness: number;
  /** How likely a reader clicks, relative to the average. */
  clickiness: number;
  mobile: boolean;
  homeIp: string;
  browser: string;
  /** The mail client's own agent (desktop clients), for pixel loads. */
  mailAgent: string;
  /** The address no longer exists: the first message to it bounces. */
  dead: boolean;
  /** Set once the subscriber row exists. */
  subscriberId?: number;
  /** The attribution cookie this person's browser holds (Cookie header form), set by their clicks. */
  cookie?: string;
}

const FIRST = [
  'Ada',
  'Amara',
  'Ben',
  'Bruno',
  'Chiara',
  'Clara',
  'Dev',
  'Dmitri',
  'Elif',
  'Esme',
  'Farid',
  'Finn',
  'Greta',
  'Gwen',
  'Hamid',
  'Hugo',
  'Ines',
  'Ivy',
  'Jamal',
  'Jonah',
  'Kenji',
  'Kira',
  'Lars',
  'Lena',
  'Mateo',
  'Maya',
  'Nils',
  'Nora',
  'Olu',
  'Oscar',
  'Petra',
  'Priya',
  'Quinn',
  'Rafael',
  'Rosa',
  'Sami',
  'Sofia',
  'Theo',
  'Tova',
  'Uma',
  'Umar',
  'Vera',
  'Vik',
  'Wes',
  'Willa',
  'Xia',
  'Yara',
  'Yusuf',
  'Zain',
  'Zoe',
];
const LAST = [
  'Ahmed',
  'Antharia',
  'Baker',
  'Berg',
  'Blorb',
  'Borphee',
  'Carter',
  'Costa',
  'Diaz',
  'Dubois',
  'Eriksen',
  'Evans',
  'Ferreira',
  'Fischer',
  'Frotz',
  'Garcia',
  'Grant',
  'Hughes',
  'Ito',
  'Jensen',
  'Kovalli',
  'Kowalski',
  'Lopez',
  'Mithicus',
  'Moreau',
  'Novak',
  'Okafor',
  'Patel',
  'Peltre',
  'Quendor',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Umeh',
  'Varga',
  'Weber',
  'Yomin',
  'Young',
  'Zhang',
  'Zorkmid',
];

/** Reserved .example domains only: nothing here can reach a real mailbox. */
const DOMAINS: Record<MailClient, readonly string[]> = {
  apple: ['icloud.example', 'me.example'],
  gmail: ['gmail.example'],
  yahoo: ['yahoo.example'],
  desktop: ['portfoozle-net.example', 'outlook.example', 'quendor-mail.example'],
  blocked: ['outlook.example', 'posteo.example'],
  scanned: ['flathead-works.example', 'quendor-insurance.example'],
};

/** Shares of the list in percent, by mail client. */
const CLIENT_SHARES: readonly (readonly [MailClient, number])[] = [
  ['apple', 42],
  ['gmail', 27],
  ['yahoo', 5],
  ['desktop', 18],
  ['blocked', 7],
  ['scanned', 1],
];

export const AGENTS = {
  applePrefetch: 'Mozilla/5.0',
  /** Apple Mail's own web view: WebKit without Safari's tokens (the corpus's iPhone and Mac agents). */
  appleMailIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  appleMailIpad: 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  appleMailMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  gmailProxy: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
  yahooProxy: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html',
  outlook: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)',
  thunderbird: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
  namedScanner: 'Mozilla/5.0 (compatible; Mimecast URL Protect/1.0)',
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  android:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  bingbot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
} as const;

/**
 * Whether an Apple Mail reader has Privacy Protection on: most do (it is offered on first start),
 * about one in six here does not. Fixed by the person's place in the list, so no draw moves.
 */
export const hasApplePrivacy = (person: Pick<Person, 'index' | 'client'>): boolean =>
  person.client === 'apple' && (person.index * 53) % 6 !== 0;

/** Apple Mail's own agent on the reader's device (their browser says which). */
export function appleMailAgent(person: Pick<Person, 'browser'>): string {
  if (person.browser === AGENTS.ipad) return AGENTS.appleMailIpad;
  if (person.browser === AGENTS.iphone) return AGENTS.appleMailIphone;
  return AGENTS.appleMailMac;
}

/** A unique public-looking IPv4 address for number `n` of a kind (never 17.x: that is Apple's). */
export function addressFor(kind: 'home' | 'visitor' | 'forward' | 'scanner', n: number): string {
  const first = { home: 81, visitor: 92, forward: 86, scanner: 52 }[kind];
  return `${first}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The mail client for the n-th person: fixed shares, spread over the list. */
function clientOf(index: number): { client: MailClient; scanner: Person['scanner'] } {
  const slot = (index * 37) % 100;
  let from = 0;
  for (const [client, share] of CLIENT_SHARES) {
    // The two scanners take turns, a hundred people each.
    if (slot < from + share)
      return {
        client,
        scanner: client === 'scanned' ? (Math.floor(index / 100) % 2 === 0 ? 'named' : 'posing') : null,
      };
    from += share;
  }
  return { client: 'desktop', scanner: null };
}

function topicsOf(random: Random): TopicId[] {
  return random.weighted<TopicId[]>([
    [['guides', 'offers', 'store-news'], 55],
    [['guides', 'offers'], 20],
    [['guides'], 10],
    [['offers', 'store-news'], 8],
    [['store-news'], 7],
  ]);
}

function browserOf(client: MailClient, mobile: boolean, random: Random): string {
  if (client === 'apple') return mobile ? (random.chance(0.85) ? AGENTS.iphone : AGENTS.ipad) : AGENTS.safariMac;
  if (mobile) return random.chance(0.7) ? AGENTS.android : AGENTS.iphone;
  return random.weighted([
    [AGENTS.chromeWindows, 50],
    [AGENTS.edgeWindows, 25],
    [AGENTS.firefoxLinux, 10],
    [AGENTS.safariMac, 15],
  ]);
}

/** Makes the people in joining order; `dead` addresses only among those imported from the old list. */
export class Cast {
  readonly people: Person[] = [];
  readonly #random: Random;
  readonly #emails = new Set<string>();

  constructor(seed: number) {
    this.#random = new Random(seed, 'people');
  }

  add(options: { imported: boolean }): Person {
    const r = this.#random;
    const index = this.people.length;
    const { client, scanner } = clientOf(index);
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    const domain = r.pick(DOMAINS[client]);
    const local = r
      .weighted([
        [`${first}.${last}`, 50],
        [`${first[0]}${last}`, 25],
        [`${first}${r.int(1, 99)}`, 15],
        [`${last}.${first}`, 10],
      ])
      .toLowerCase();
    let email = `${local}@${domain}`;
    for (let n = 2; this.#emails.has(email); n++) email = `${local}${n}@${domain}`;
    this.#emails.add(email);
    const mobile = r.chance(client === 'desktop' || client === 'scanned' ? 0.2 : 0.62);
    const tier = r.weighted([
      [0.78, 22],
      [0.42, 45],
      [0.08, 33],
    ]);
    const person: Person = {
      index,
      email,
      name: r.chance(0.6) ? `${first} ${last}` : null,
      topics: topicsOf(r),
      client,
      scanner,
      readiness: Math.min(0.95, tier * r.between(0.8, 1.2)),
      clickiness: r.logNormal(1, 0.45),
      mobile,
      homeIp: addressFor('home', index + 1),
      browser: browserOf(client, mobile, r),
      mailAgent: r.chance(0.75) ? AGENTS.outlook : AGENTS.thunderbird,
      dead: options.imported && r.chance(0.009),
    };
    this.people.push(person);
    return person;
  }
}
