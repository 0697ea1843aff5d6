import { describe, expect, it } from 'vitest';
import { agentFacts } from '../../../src/lib/tracking/classify-agent.ts';
import { classifyClick, classifyOpen, duration, type DeliveryHistory } from '../../../src/lib/tracking/classify-hit.ts';
import { storedSource, type HitSource, type NetworkOwner } from '../../../src/lib/tracking/hit-source.ts';
import { trackingThresholdDefaults } from '../../../src/lib/settings/settings.ts';
import { OWNERS } from '../../helpers/networks.ts';

const t = { ...trackingThresholdDefaults };
const AGENTS = {
  chrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  iphoneMail: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  iphoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  macMail: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  bare: 'Mozilla/5.0',
  outlook: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)',
  msOffice: 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
  gmailProxy: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
  gmailPrefetch: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246',
  cisco: 'CiscoSecureEmail',
  tmes: 'TMES',
  curl: 'curl/8.5.0',
};
const sentAt = 1_800_000_000_000;
const S = 1000;
const H = 3_600_000;
const none: DeliveryHistory = { sentAt, machine: null, reader: null, humanSince: null, recentLinks: [] };
const from = (owner: NetworkOwner, agent: string): HitSource => ({ owner, agent: agentFacts(agent) });
const open = (owner: NetworkOwner, agent: string, after: number, d: DeliveryHistory = none) => classifyOpen(from(owner, agent), sentAt + after, d, t);
const click = (owner: NetworkOwner, agent: string, after: number, d: DeliveryHistory = none, link = '1', honeypot = false) => classifyClick(from(owner, agent), { at: sentAt + after, link, honeypot }, d, t);

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
});

describe('opens', () => {
  it('a security gateway or cloud sandbox loading the pixel is a scanner at any time, named with its owner', () => {
    expect(open(OWNERS.proofpoint, AGENTS.chrome, 95 * S)).toEqual({ class: 'scanner', reason: 'Proofpoint, Inc. (AS26211), a mail security gateway, loaded the pixel 95 s after delivery' });
    expect(open(OWNERS.amazon, AGENTS.chrome, 3 * H).class).toBe('scanner');
    expect(open(OWNERS.microsoft, AGENTS.outlook, 10 * S).reason).toBe('Microsoft mail protection (AS8075), a mail security gateway, loaded the pixel 10 s after delivery');
  });

  it('named scanners, bots and no agent are scanners from any network', () => {
    for (const ua of [AGENTS.cisco, AGENTS.tmes, AGENTS.curl, '']) expect(open(OWNERS.comcast, ua, 20 * S).class).toBe('scanner');
  });

  it('image proxies are the reader opening; Gmail’s delivery-time prefetch is not', () => {
    expect(open(OWNERS.google, AGENTS.gmailProxy, 2 * H)).toEqual({ class: 'proxy', reason: 'Gmail image proxy (Google LLC (AS15169)): fetched as the reader opened it' });
    expect(open(OWNERS.google, AGENTS.gmailPrefetch, 4 * S)).toEqual({ class: 'scanner', reason: 'Gmail’s delivery-time prefetch (Google LLC (AS15169), an outdated Edge 12 agent) 4 s after delivery' });
  });

  it('Apple: its network and Private Relay egress are Mail Privacy Protection; Apple Mail from a home network is the reader', () => {
    expect(open(OWNERS.apple, AGENTS.bare, 40 * S).class).toBe('apple_mpp');
    expect(open(OWNERS.relay, AGENTS.macMail, 5 * H).class).toBe('apple_mpp');
    expect(open(OWNERS.cloudflare, AGENTS.bare, 7 * H).class).toBe('apple_mpp');
    expect(open(OWNERS.comcast, AGENTS.macMail, 3 * 60 * S)).toEqual({ class: 'human', reason: 'reader: Apple Mail on Mac, Comcast Cable Communications, LLC (AS7922)' });
    expect(open(OWNERS.comcast, AGENTS.bare, 60 * S).class).toBe('apple_mpp');
    expect(open(OWNERS.comcast, AGENTS.bare, 5 * H).class).toBe('scanner');
  });

  it('a reader through a web security proxy is a reader, unless the delivery caught that machine', () => {
    expect(open(OWNERS.zscaler, AGENTS.chrome, 30 * S).class).toBe('human');
    const machine = { ...storedSource(from(OWNERS.zscaler, AGENTS.chrome)), at: sentAt + 40 * S, reason: 'ZSCALER (AS22616): 4 links in 14 s' };
    expect(open(OWNERS.zscaler, AGENTS.chrome, 50 * S, { ...none, machine }).class).toBe('scanner');
    expect(open(OWNERS.comcast, AGENTS.chrome, 50 * S, { ...none, machine }).class).toBe('human');
  });
});

describe('clicks', () => {
  it('a gateway’s single early click, and one hours later (a re-check), are a machine’s; the first gives the delivery its verdict', () => {
    const early = click(OWNERS.proofpoint, AGENTS.chrome, 20 * S);
    expect(early).toEqual({ class: 'bot', reason: 'Proofpoint, Inc. (AS26211), a mail security gateway, followed a link 20 s after delivery', verdict: early.reason });
    const recheck = click(OWNERS.microsoft, AGENTS.msOffice, 5 * H, { ...none, humanSince: sentAt + H });
    expect(recheck.class).toBe('bot');
    expect(recheck.verdict).toBeUndefined(); // after the reader's open: no verdict over the reader's hits
    expect(click(OWNERS.microsoft, AGENTS.chrome, 26 * H, { ...none, humanSince: sentAt + H }).class).toBe('bot');
  });

  it('a paced sweep from a web security proxy: the third link within the window is a sweep', () => {
    const recentLinks = [
      { ...storedSource(from(OWNERS.zscaler, AGENTS.chrome)), at: sentAt + 40 * S, link: '1' },
      { ...storedSource(from(OWNERS.zscaler, AGENTS.chrome)), at: sentAt + 47 * S, link: 'unsubscribe' },
    ];
    expect(click(OWNERS.zscaler, AGENTS.chrome, 54 * S, { ...none, recentLinks }, '2')).toMatchObject({ class: 'bot', reason: 'ZSCALER, INC. (AS22616), a web security proxy: 3 links in 14 s' });
    expect(click(OWNERS.zscaler, AGENTS.chrome, 54 * S, { ...none, recentLinks: recentLinks.slice(0, 1) }, '2').class).toBe('human');
  });

  it('readers keep their clicks: a phone tap seconds after delivery, tabs opened together after their open, a click after a Safe Links check', () => {
    expect(click(OWNERS.tmobile, AGENTS.android, 9 * S).class).toBe('human');
    expect(click(OWNERS.relay, AGENTS.iphoneSafari, 9 * S).class).toBe('human'); // a tap in Safari with Private Relay on
    expect(click(OWNERS.zscaler, AGENTS.chrome, 9 * S).class).toBe('bot');
    expect(click(OWNERS.comcast, AGENTS.chrome, 4 * S)).toMatchObject({ class: 'bot' }); // a desktop click 4 s in, never seen there before
    const reader = storedSource(from(OWNERS.comcast, AGENTS.outlook));
    expect(click(OWNERS.comcast, AGENTS.chrome, 4 * S, { ...none, reader, humanSince: sentAt + 2 * S }).class).toBe('human');
    // Three tabs within two seconds from the reader's network: still the reader.
    const recentLinks = [
      { ...storedSource(from(OWNERS.comcast, AGENTS.chrome)), at: sentAt + 600 * S, link: '1' },
      { ...storedSource(from(OWNERS.comcast, AGENTS.chrome)), at: sentAt + 601 * S, link: '2' },
    ];
    expect(click(OWNERS.comcast, AGENTS.chrome, 602 * S, { ...none, reader, humanSince: sentAt + 500 * S, recentLinks }, '3').class).toBe('human');
    // Safe Links checks the link from Microsoft's network, then the person's own browser follows.
    const check = click(OWNERS.microsoft, AGENTS.chrome, 2 * H);
    expect(check.class).toBe('bot');
    const machine = { ...storedSource(from(OWNERS.microsoft, AGENTS.chrome)), at: sentAt + 2 * H, reason: check.reason };
    expect(click(OWNERS.bt, AGENTS.chrome, 2 * H + 1500, { ...none, machine }).class).toBe('human');
  });

  it('the honeypot, named scanners and bare agents are machines from anywhere, and give the verdict', () => {
    expect(click(OWNERS.comcast, AGENTS.chrome, H, none, '9', true)).toMatchObject({ class: 'bot', verdict: 'followed the hidden link no reader sees (Chrome on Windows, Comcast Cable Communications, LLC (AS7922)) 1 h after delivery' });
    expect(click(OWNERS.comcast, AGENTS.cisco, H).verdict).toContain('Cisco Secure Email');
    expect(click(OWNERS.comcast, AGENTS.bare, H).class).toBe('bot');
  });

  it('bad addresses are owned by someone: a private address is judged like a home network', () => {
    expect(click(OWNERS.private, AGENTS.chrome, H)).toEqual({ class: 'human', reason: 'reader: Chrome on Windows, private network (RFC 1918)' });
  });
});

describe('durations in reasons', () => {
  it('reads naturally', () => {
    expect([duration(95_000), duration(12 * 60_000), duration(3 * H), duration(50 * H)]).toEqual(['95 s', '12 min', '3 h', '2 days']);
  });
});
