import { describe, expect, it } from 'vitest';
import { agentFacts, classifyClick, classifyOpen, ClickBursts, isAppleAddress } from '../../../src/lib/tracking/classify.ts';
import { trackingThresholdDefaults } from '../../../src/lib/settings/settings.ts';

const t = { ...trackingThresholdDefaults };
const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const sentAt = 1_000_000;

describe('open and click classification', () => {
  it('labels each pattern with its reason', () => {
    const open = (ua: string, ip: string, after: number, scanned = false) => classifyOpen({ agent: agentFacts(ua), appleAddress: isAppleAddress(ip), at: sentAt + after, sentAt, scannedDelivery: scanned }, t);
    expect(open('Mozilla/5.0', '17.58.101.4', 3_600_000)).toEqual({ class: 'apple_mpp', reason: 'Apple proxy address and agent' });
    expect(open('Mozilla/5.0', '203.0.113.9', 40_000)).toEqual({ class: 'apple_mpp', reason: 'Apple prefetch agent, 40 s after delivery' });
    expect(open('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', '66.249.84.1', 600_000)).toEqual({ class: 'proxy', reason: 'Gmail image proxy' });
    expect(open('YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html', '98.136.0.1', 600_000)).toEqual({ class: 'proxy', reason: 'Yahoo image proxy' });
    expect(open('Mozilla/5.0 (compatible; Mimecast)', '198.51.100.1', 5_000).class).toBe('scanner');
    expect(open(chrome, '198.51.100.1', 20_000, true)).toEqual({ class: 'scanner', reason: 'opened 20 s after delivery by a link scanner' });
    expect(open(chrome, '198.51.100.1', 20_000)).toEqual({ class: 'human', reason: 'reader' });
    expect(isAppleAddress('170.1.1.1')).toBe(false);

    const click = (ua: string, after: number, burstLinks = 1, honeypot = false) => classifyClick({ agent: agentFacts(ua), honeypot, at: sentAt + after, sentAt, burstLinks }, t);
    expect(click(chrome, 600_000, 1, true)).toEqual({ class: 'bot', reason: 'hidden honeypot link' });
    expect(click('curl/8.5.0', 600_000)).toEqual({ class: 'bot', reason: 'known bot agent' });
    expect(click(chrome, 4_000)).toEqual({ class: 'bot', reason: 'clicked 4 s after delivery' });
    expect(click(chrome, 600_000, 3)).toEqual({ class: 'bot', reason: '3 links within 2 s' });
    expect(click(chrome, 600_000, 2)).toEqual({ class: 'human', reason: 'reader' });
  });
});

describe('ClickBursts', () => {
  it('counts the distinct links of one delivery within the window, across its generations', () => {
    const bursts = new ClickBursts();
    const window = 2000;
    expect(bursts.record(1, 10, 0, window)).toEqual({ links: 1, since: 0 });
    expect(bursts.record(1, 10, 300, window)).toEqual({ links: 1, since: 0 });
    expect(bursts.record(2, 10, 900, window)).toEqual({ links: 1, since: 900 }); // another delivery
    expect(bursts.record(1, 11, 1500, window)).toEqual({ links: 2, since: 0 });
    // A new generation starts here; the delivery's clicks still within the window come along.
    expect(bursts.record(1, 12, 2100, window)).toEqual({ links: 3, since: 300 }); // the click at 0 has left the window
    expect(bursts.record(2, 13, 2600, window)).toEqual({ links: 2, since: 900 });
    // Two generations later nothing of the first is left, and a lone click starts afresh.
    expect(bursts.record(1, 10, 6200, window)).toEqual({ links: 1, since: 6200 });
    expect(bursts.record(3, 10, 6300, window)).toEqual({ links: 1, since: 6300 });
  });

  it('keeps up with many deliveries without losing a burst in progress', () => {
    const bursts = new ClickBursts();
    for (let i = 0; i < 200_000; i++) bursts.record(i, 1, i / 20, 2000); // 20 clicks a millisecond
    expect(bursts.record(199_990, 2, 10_000, 2000)).toEqual({ links: 2, since: 199_990 / 20 });
    expect(bursts.record(100, 2, 10_000, 2000)).toEqual({ links: 1, since: 10_000 });
  });
});
