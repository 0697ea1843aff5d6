import { describe, expect, it } from 'vitest';
import { agentFacts, currentBrowserMajor, isOutdatedBrowser } from '#lib/tracking/classify-agent.ts';
import { classifyClick, classifyOpen, duration, type DeliveryHistory } from '#lib/tracking/classify-hit.ts';
import { storedSource, type HitSource, type NetworkOwner } from '#lib/tracking/hit-source.ts';
import { trackingThresholdDefaults } from '#lib/settings/settings.ts';
import { OWNERS } from '../../helpers/networks.ts';

const t = { ...trackingThresholdDefaults };
const AGENTS = {
  chrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  android:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  iphoneMail:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  iphoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  macMail: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  bare: 'Mozilla/5.0',
  outlook: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)',
  msOffice: 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
  gmailProxy: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
  gmailPrefetch:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246',
  cisco: 'CiscoSecureEmail',
  tmes: 'TMES',
  curl: 'curl/8.5.0',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36 Edg/146.0.0.0',
  chrome79:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.136 Safari/537.36',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15',
  edgeHtml18:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041',
};
const sentAt = 1_800_000_000_000;
const S = 1000;
const H = 3_600_000;
const none: DeliveryHistory = { sentAt, machine: null, reader: null, humanSince: null, recentLinks: [] };
const from = (owner: NetworkOwner, agent: string): HitSource => ({ owner, agent: agentFacts(agent) });
const open = (owner: NetworkOwner, agent: string, after: number, d: DeliveryHistory = none) =>
  classifyOpen(from(owner, agent), sentAt + after, d, t);
const click = (
  owner: NetworkOwner,
  agent: string,
  after: number,
  d: DeliveryHistory = none,
  link = '1',
  honeypot = false,
) => classifyClick(from(owner, agent), { at: sentAt + after, link, honeypot }, d, t);

describe('agent families', () => {
  it('names what sent the hit, and keeps only a short family', () => {
    const f = (ua: string) => [agentFacts(ua).kind, agentFacts(ua).family];
    expect(f(AGENTS.chrome)).toEqual(['browser', 'browser:windows']);
    expect(f(AGENTS.android)).toEqual(['browser', 'browser:android']);
    expect(f(AGENTS.iphoneMail)).toEqual(['apple_mail', 'apple_mail:ios']);
    expect(f(AGENTS.iphoneSafari)).toEqual(['browser', 'browser:ios']);
    expect(f(AGENTS.macMail)).toEqual(['apple_mail', 'apple_mail:mac']);
    expect(f(AGENTS.bare)).toEqual(['apple_fetcher', 'apple_fetcher:other']);
    expect(f(AGENTS.outlook)).toEqual(['mail', 'mail:windows']);
    expect(f(AGENTS.msOffice)).toEqual(['office', 'office:other']);
    expect(f(AGENTS.gmailProxy)).toEqual(['image_proxy', 'image_proxy:windows']);
    expect(f(AGENTS.gmailPrefetch)).toEqual(['prefetch', 'prefetch:windows']);
    expect(f(AGENTS.cisco)).toEqual(['scanner', 'scanner:other']);
    expect(f(AGENTS.tmes)).toEqual(['scanner', 'scanner:other']);
    expect(agentFacts('Mozilla/5.0 (compatible; Barracuda Sentinel)').name).toBe('Barracuda');
    expect(f(AGENTS.curl)).toEqual(['bot', 'bot:other']);
    expect(f('')).toEqual(['none', 'none:other']);
    // A 10 KB agent is judged by its start, and not kept.
    const huge = `${AGENTS.chrome} ${'x'.repeat(10_000)}`;
    expect(f(huge)).toEqual(['browser', 'browser:windows']);
    expect(agentFacts('\u0000\u202e\ud800 odd')).toMatchObject({ kind: 'other' });
  });

  it('a browser years out of date is no reader’s: EdgeHTML Edge (retired 2021) and Chrome or Firefox three years behind the hit’s time', () => {
    expect(agentFacts(AGENTS.edgeHtml18)).toMatchObject({ kind: 'prefetch', name: 'an outdated Edge 18 agent' });
    // Internet Explorer (retired 2022) likewise; Outlook's own agent carries MSIE and Trident too but names Outlook.
    expect(agentFacts('Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)')).toMatchObject({
      kind: 'prefetch',
      family: 'prefetch:windows',
      name: 'a retired Internet Explorer 8 agent',
    });
    expect(agentFacts('Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko')).toMatchObject({
      kind: 'prefetch',
      name: 'a retired Internet Explorer 11 agent',
    });
    expect(
      agentFacts(
        'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; Microsoft Outlook 16.0.5257; ms-office; MSOffice 16)',
      ).kind,
    ).toBe('mail');
    expect(agentFacts(AGENTS.gmailPrefetch).name).toBe('an outdated Edge 12 agent');
    expect(agentFacts(AGENTS.edge).browserMajor).toBe(146);
    const march2026 = Date.UTC(2026, 2, 15);
    expect(currentBrowserMajor(march2026)).toBeGreaterThanOrEqual(144); // Chrome 146 shipped in March 2026
    expect(currentBrowserMajor(march2026)).toBeLessThanOrEqual(150);
    expect(isOutdatedBrowser(agentFacts(AGENTS.chrome79), march2026)).toBe(true);
    expect(isOutdatedBrowser(agentFacts(AGENTS.edge), march2026)).toBe(false);
    expect(
      isOutdatedBrowser(
        agentFacts('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'),
        march2026,
      ),
    ).toBe(false); // an ESR
    expect(isOutdatedBrowser(agentFacts(AGENTS.outlook), march2026)).toBe(false); // not a browser: no version weighed
  });
});

describe('opens', () => {
  it('a security gateway or cloud sandbox loading the pixel is a scanner at any time, named with its owner', () => {
    expect(open(OWNERS.proofpoint, AGENTS.chrome, 95 * S)).toEqual({
      class: 'scanner',
      reason: 'Proofpoint, Inc. (AS26211), a mail security gateway, loaded the pixel 95 s after delivery',
    });
    expect(open(OWNERS.amazon, AGENTS.chrome, 3 * H).class).toBe('scanner');
    expect(open(OWNERS.microsoft, AGENTS.outlook, 10 * S).reason).toBe(
      'Microsoft mail protection (AS8075), a mail security gateway, loaded the pixel 10 s after delivery',
    );
  });

  it('named scanners, bots and no agent are scanners from any network', () => {
    for (const ua of [AGENTS.cisco, AGENTS.tmes, AGENTS.curl, ''])
      expect(open(OWNERS.comcast, ua, 20 * S).class).toBe('scanner');
  });

  it('image proxies are the reader opening; Gmail’s delivery-time prefetch is not', () => {
    expect(open(OWNERS.google, AGENTS.gmailProxy, 2 * H)).toEqual({
      class: 'proxy',
      reason: 'Gmail image proxy (Google LLC (AS15169)): fetched as the reader opened it',
    });
    expect(open(OWNERS.google, AGENTS.gmailPrefetch, 4 * S)).toEqual({
      class: 'scanner',
      reason: 'Gmail’s delivery-time prefetch (Google LLC (AS15169), an outdated Edge 12 agent) 4 s after delivery',
    });
  });

  it('Apple: its network and Private Relay egress are Mail Privacy Protection; Apple Mail from a home network is the reader', () => {
    expect(open(OWNERS.apple, AGENTS.bare, 40 * S).class).toBe('apple_mpp');
    expect(open(OWNERS.relay, AGENTS.macMail, 5 * H).class).toBe('apple_mpp');
    expect(open(OWNERS.cloudflare, AGENTS.bare, 7 * H).class).toBe('apple_mpp');
    expect(open(OWNERS.comcast, AGENTS.macMail, 3 * 60 * S)).toEqual({
      class: 'human',
      reason: 'reader: Apple Mail on Mac, Comcast Cable Communications, LLC (AS7922)',
    });
    expect(open(OWNERS.comcast, AGENTS.bare, 60 * S).class).toBe('apple_mpp');
    expect(open(OWNERS.comcast, AGENTS.bare, 5 * H).class).toBe('scanner');
  });

  it('a web security proxy carries scanners too: a browser loading the pixel there needs a human sign', () => {
    // Forcepoint's AS carries its web proxy and its mail security: a render-only pixel 20 s in, in a browser, is a scanner's.
    expect(open(OWNERS.zscaler, AGENTS.chrome, 20 * S)).toEqual({
      class: 'scanner',
      reason:
        'ZSCALER, INC. (AS22616), a web security proxy: Chrome on Windows loaded the pixel 20 s after delivery, in the delivery-time scan, before any sign of the reader there',
    });
    expect(open(OWNERS.zscaler, AGENTS.chrome, 4 * 60 * S).class).toBe('scanner');
    // Later, or from a mail program (Outlook fetching as its reader reads), or after the reader's sign from there: the reader.
    expect(open(OWNERS.zscaler, AGENTS.chrome, 6 * 60 * S).class).toBe('human');
    expect(open(OWNERS.zscaler, AGENTS.outlook, 20 * S).class).toBe('human');
    const reader = storedSource(from(OWNERS.zscaler, AGENTS.outlook));
    expect(open(OWNERS.zscaler, AGENTS.chrome, 40 * S, { ...none, reader, humanSince: sentAt + 20 * S }).class).toBe(
      'human',
    );
    // A browser years out of date is a machine's fixed agent, at any time.
    expect(open(OWNERS.zscaler, AGENTS.chrome79, 3 * H).reason).toContain('a years-old Chrome on Windows');
  });

  it('the machine caught on a web security proxy keeps its scan; the person behind the same proxy later is the reader', () => {
    const machine = {
      ...storedSource(from(OWNERS.zscaler, AGENTS.chrome)),
      at: sentAt + 40 * S,
      reason: 'ZSCALER (AS22616): 4 links in 14 s',
    };
    expect(open(OWNERS.zscaler, AGENTS.chrome, 50 * S, { ...none, machine }).class).toBe('scanner');
    expect(open(OWNERS.zscaler, AGENTS.chrome, 3 * H, { ...none, machine }).class).toBe('human');
    expect(open(OWNERS.zscaler, AGENTS.chrome79, 3 * H, { ...none, machine }).class).toBe('scanner');
    expect(open(OWNERS.comcast, AGENTS.chrome, 50 * S, { ...none, machine }).class).toBe('human');
  });

  it('Outlook.com’s image proxy in Microsoft’s network: the reader opening after the delivery-time scan; Defender at delivery or in an old agent', () => {
    expect(open(OWNERS.outlook, AGENTS.edge, 2 * H)).toEqual({
      class: 'proxy',
      reason:
        'Outlook.com / Outlook on the web image proxy (Microsoft (AS8075)): fetched as the reader opened it, 2 h after delivery',
    });
    expect(open(OWNERS.outlook, AGENTS.edge, 9 * S).class).toBe('scanner'); // Defender's delivery-time fetch
    expect(open(OWNERS.outlook, AGENTS.chrome79, 7 * H).class).toBe('scanner'); // a re-crawl in a years-old Chrome
    expect(open(OWNERS.outlook, AGENTS.bare, 2 * H).class).toBe('scanner');
    expect(open(OWNERS.outlook, AGENTS.msOffice, 2 * H).class).toBe('scanner');
    // Exchange Online Protection's ranges and other clouds are not an image proxy: a check in a gateway's stale agent is a scanner.
    expect(open(OWNERS.microsoft, AGENTS.chrome, 2 * H).class).toBe('scanner');
    expect(open(OWNERS.amazon, AGENTS.chrome, 2 * H).class).toBe('scanner');
    // Clicks never come through the image proxy: a Safe Links check from Microsoft's network in a stale agent stays a machine's.
    expect(click(OWNERS.outlook, AGENTS.chrome, 2 * H).class).toBe('bot');
  });

  it('a person behind a vendor’s or a cloud’s network: after the delivery-time scan, in a current browser or a mail program’s own agent (virtual desktops, isolation)', () => {
    // Azure Virtual Desktop: desktop Outlook from Microsoft's cloud is the program itself, not the image proxy.
    expect(open(OWNERS.outlook, AGENTS.outlook, 2 * H)).toMatchObject({
      class: 'human',
      reason: expect.stringMatching(
        /^reader: Outlook on Windows through Microsoft \(AS8075\), a cloud host, 2 h after delivery \(a virtual desktop or an isolation browser\)$/,
      ),
    });
    expect(open(OWNERS.amazon, AGENTS.edge, 2 * H).class).toBe('human');
    expect(open(OWNERS.microsoft, AGENTS.edge, 2 * H).class).toBe('human');
    expect(click(OWNERS.proofpoint, AGENTS.edge, 2 * H)).toMatchObject({
      class: 'human',
      reason: expect.stringContaining('one link 2 h after delivery'),
    });
    // In the delivery-time scan, in a stale or outdated agent, or a mail program clicking: the machine's.
    expect(open(OWNERS.amazon, AGENTS.outlook, 4 * 60 * S).class).toBe('scanner');
    expect(click(OWNERS.proofpoint, AGENTS.edge, 4 * 60 * S).class).toBe('bot');
    expect(click(OWNERS.proofpoint, AGENTS.chrome79, 2 * H).class).toBe('bot');
    expect(click(OWNERS.amazon, AGENTS.outlook, 2 * H).class).toBe('bot');
    // Mailbox providers' networks carry their proxies, not people.
    expect(click(OWNERS.google, AGENTS.edge, 2 * H).class).toBe('bot');
  });
});

describe('clicks', () => {
  it('a gateway’s single early click, and one hours later (a re-check), are a machine’s; the first gives the delivery its verdict', () => {
    const early = click(OWNERS.proofpoint, AGENTS.chrome, 20 * S);
    expect(early).toEqual({
      class: 'bot',
      reason: 'Proofpoint, Inc. (AS26211), a mail security gateway, followed a link 20 s after delivery',
      verdict: early.reason,
    });
    const recheck = click(OWNERS.microsoft, AGENTS.msOffice, 5 * H, { ...none, humanSince: sentAt + H });
    expect(recheck.class).toBe('bot');
    expect(recheck.verdict).toBeUndefined(); // after the reader's open: no verdict over the reader's hits
    expect(click(OWNERS.microsoft, AGENTS.chrome, 26 * H, { ...none, humanSince: sentAt + H }).class).toBe('bot');
  });

  it('a paced sweep from a web security proxy in the delivery-time scan: the third link within the window is a sweep', () => {
    const zscaler = storedSource(from(OWNERS.zscaler, AGENTS.chrome));
    const recentLinks = [
      { ...zscaler, at: sentAt + 240 * S, link: '1' },
      { ...zscaler, at: sentAt + 247 * S, link: 'unsubscribe' },
    ];
    expect(click(OWNERS.zscaler, AGENTS.chrome, 254 * S, { ...none, recentLinks }, '2')).toMatchObject({
      class: 'bot',
      reason: 'ZSCALER, INC. (AS22616), a web security proxy: 3 links in 14 s',
    });
    expect(
      click(OWNERS.zscaler, AGENTS.chrome, 254 * S, { ...none, recentLinks: recentLinks.slice(0, 1) }, '2').class,
    ).toBe('human');
    // A single click in the first minute from there, before any reader sign: a scanner's timing, with no verdict
    // over the people behind the same proxy.
    const early = click(OWNERS.zscaler, AGENTS.chrome, 20 * S);
    expect(early).toMatchObject({
      class: 'bot',
      reason:
        'clicked 20 s after delivery through ZSCALER, INC. (AS22616), a web security proxy, before any sign of the reader there',
    });
    expect(early.verdict).toBeUndefined();
    expect(click(OWNERS.zscaler, AGENTS.android, 20 * S).class).toBe('human'); // a phone's tap through the proxy
  });

  it('several tabs opened at once through a web security proxy hours after delivery are a reader’s; from a gateway or a cloud they are a re-crawl', () => {
    const links = (owner: NetworkOwner, agent: string, after: number) => [
      { ...storedSource(from(owner, agent)), at: sentAt + after, link: '1' },
      { ...storedSource(from(owner, agent)), at: sentAt + after + 700, link: '2' },
    ];
    // A Zscaler employee opens three articles within 2 s, 3 h after delivery.
    expect(
      click(
        OWNERS.zscaler,
        AGENTS.chrome,
        3 * H + 1500,
        { ...none, recentLinks: links(OWNERS.zscaler, AGENTS.chrome, 3 * H) },
        '3',
      ).class,
    ).toBe('human');
    // The same through Private Relay (Safari on a Mac).
    expect(
      click(
        OWNERS.relay,
        AGENTS.safariMac,
        3 * H + 1500,
        { ...none, recentLinks: links(OWNERS.relay, AGENTS.safariMac, 3 * H) },
        '3',
      ).class,
    ).toBe('human');
    // After the reader's open from the same proxy, even minutes after delivery.
    const reader = storedSource(from(OWNERS.zscaler, AGENTS.outlook));
    expect(
      click(
        OWNERS.zscaler,
        AGENTS.chrome,
        3 * 60 * S + 1500,
        {
          ...none,
          reader,
          humanSince: sentAt + 2 * 60 * S,
          recentLinks: links(OWNERS.zscaler, AGENTS.chrome, 3 * 60 * S),
        },
        '3',
      ).class,
    ).toBe('human');
    // In the delivery-time scan with no reader: a sweep, which gives the verdict.
    expect(
      click(
        OWNERS.zscaler,
        AGENTS.chrome,
        90 * S + 1500,
        { ...none, recentLinks: links(OWNERS.zscaler, AGENTS.chrome, 90 * S) },
        '3',
      ).verdict,
    ).toBe('ZSCALER, INC. (AS22616), a web security proxy: 3 links in 2 s');
    // Microsoft's Defender re-crawling hours later, and a cloud sandbox: machines at any time, and a sweep's verdict.
    expect(
      click(
        OWNERS.outlook,
        AGENTS.chrome79,
        3 * H + 1500,
        { ...none, recentLinks: links(OWNERS.outlook, AGENTS.chrome79, 3 * H) },
        '3',
      ).verdict,
    ).toContain('3 links in 2 s');
    expect(
      click(
        OWNERS.amazon,
        AGENTS.chrome,
        3 * H + 1500,
        { ...none, recentLinks: links(OWNERS.amazon, AGENTS.chrome, 3 * H) },
        '3',
      ).verdict,
    ).toContain('3 links in 2 s');
  });

  it('readers keep their clicks: a phone tap seconds after delivery, tabs opened together after their open, a click after a Safe Links check', () => {
    expect(click(OWNERS.tmobile, AGENTS.android, 9 * S).class).toBe('human');
    expect(click(OWNERS.relay, AGENTS.iphoneSafari, 9 * S).class).toBe('human'); // a tap in Safari with Private Relay on
    expect(click(OWNERS.zscaler, AGENTS.chrome, 9 * S).class).toBe('bot');
    expect(click(OWNERS.comcast, AGENTS.chrome, 4 * S)).toMatchObject({ class: 'bot' }); // a desktop click 4 s in, never seen there before
    const reader = storedSource(from(OWNERS.comcast, AGENTS.outlook));
    expect(click(OWNERS.comcast, AGENTS.chrome, 4 * S, { ...none, reader, humanSince: sentAt + 2 * S }).class).toBe(
      'human',
    );
    // Three tabs within two seconds from the reader's network: still the reader.
    const recentLinks = [
      { ...storedSource(from(OWNERS.comcast, AGENTS.chrome)), at: sentAt + 600 * S, link: '1' },
      { ...storedSource(from(OWNERS.comcast, AGENTS.chrome)), at: sentAt + 601 * S, link: '2' },
    ];
    expect(
      click(OWNERS.comcast, AGENTS.chrome, 602 * S, { ...none, reader, humanSince: sentAt + 500 * S, recentLinks }, '3')
        .class,
    ).toBe('human');
    // Safe Links checks the link from Microsoft's network, then the person's own browser follows.
    const check = click(OWNERS.microsoft, AGENTS.chrome, 2 * H);
    expect(check.class).toBe('bot');
    const machine = {
      ...storedSource(from(OWNERS.microsoft, AGENTS.chrome)),
      at: sentAt + 2 * H,
      reason: check.reason,
    };
    expect(click(OWNERS.bt, AGENTS.chrome, 2 * H + 1500, { ...none, machine }).class).toBe('human');
  });

  it('the honeypot, named scanners and bare agents are machines from anywhere, and give the verdict', () => {
    expect(click(OWNERS.comcast, AGENTS.chrome, H, none, '9', true)).toMatchObject({
      class: 'bot',
      verdict:
        'followed the hidden link no reader sees (Chrome on Windows, Comcast Cable Communications, LLC (AS7922)) 1 h after delivery',
    });
    expect(click(OWNERS.comcast, AGENTS.cisco, H).verdict).toContain('Cisco Secure Email');
    expect(click(OWNERS.comcast, AGENTS.bare, H).class).toBe('bot');
  });

  it('bad addresses are owned by someone: a private address is judged like a home network', () => {
    expect(click(OWNERS.private, AGENTS.chrome, H)).toEqual({
      class: 'human',
      reason: 'reader: Chrome on Windows, private network (RFC 1918)',
    });
  });
});

describe('durations in reasons', () => {
  it('reads naturally', () => {
    expect([duration(95_000), duration(12 * 60_000), duration(3 * H), duration(50 * H)]).toEqual([
      '95 s',
      '12 min',
      '3 h',
      '2 days',
    ]);
  });
});
