import { describe, expect, it } from 'vitest';
import { agentFacts } from '#lib/tracking/classify-agent.ts';

/**
 * The mail program and device an agent names (issue 17, item 20), with real agents. Sources:
 * - corpus: test/fixtures/truth/corpus.json, whose cases cite where each agent was recorded
 *   (Apple Mail on iPhone and Mac, Outlook for iOS, Outlook for Windows, Thunderbird, Gmail's and
 *   Yahoo's image proxies, Apple's bare prefetch agent, Samsung Internet and Chrome on Android).
 * - Chrome for Android's agents, phone and tablet: https://developer.chrome.com/multidevice/user-agent
 *   ("Chrome/<rev> Mobile Safari" on a phone, no "Mobile" on a tablet); Android's web-app guide
 *   says the same of every Android browser (android.googlesource.com, docs/html/guide/webapps/best-practices.jd).
 * - The iPad's own token: the iPad Safari agent quoted on the page above and the release agent in
 *   http://www.jeffdepascale.com/index.php/general/why-the-ipads-user-agent-string-presents-a-problem/.
 */
const labels = (agent: string) => {
  const f = agentFacts(agent);
  return [f.client, f.device];
};

describe('an agent’s mail program and device', () => {
  it('names Apple Mail on an iPhone and a Mac (Apple’s mail web view: WebKit without Safari’s tokens)', () => {
    expect(
      labels(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      ),
    ).toEqual(['apple_mail', 'phone']); // corpus
    expect(labels('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)')).toEqual([
      'apple_mail',
      'desktop',
    ]); // corpus
  });

  it('names Gmail and Yahoo by their image proxies, which hide the device', () => {
    expect(labels('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)')).toEqual(
      ['gmail', 'unknown'],
    ); // corpus: not a Windows XP desktop
    expect(labels('YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html')).toEqual([
      'yahoo',
      'unknown',
    ]); // corpus
  });

  it('names Outlook on Windows and on an iPhone, and Thunderbird', () => {
    expect(labels('Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.6326; Pro)')).toEqual([
      'outlook',
      'desktop',
    ]); // corpus
    expect(labels('Outlook-iOS/711.2304115.prod.iphone (3.26.0)')).toEqual(['outlook', 'phone']); // corpus: "iphone" in lower case
    expect(labels('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0')).toEqual([
      'thunderbird',
      'desktop',
    ]); // corpus
    expect(labels('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0')).toEqual([
      'thunderbird',
      'desktop',
    ]); // corpus
  });

  it('tells an Android phone from an Android tablet by the “Mobile” token, as Chrome documents', () => {
    expect(
      labels(
        'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Mobile Safari/537.36',
      ),
    ).toEqual(['browser', 'phone']); // corpus
    expect(
      labels(
        'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36',
      ),
    ).toEqual(['browser', 'phone']); // corpus
    expect(
      labels(
        'Mozilla/5.0 (Linux; Android 4.0.4; Galaxy Nexus Build/IMM76B) AppleWebKit/535.19 (KHTML, like Gecko) Chrome/18.0.1025.133 Mobile Safari/535.19',
      ),
    ).toEqual(['browser', 'phone']); // Chrome's page, phone
    expect(
      labels(
        'Mozilla/5.0 (Linux; Android 4.0.4; GT-P7510 Build/IMM76D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.141 Safari/537.36',
      ),
    ).toEqual(['browser', 'tablet']); // a Galaxy Tab's Chrome (django-mobile #39)
  });

  it('counts browsers on iPhones, iPads and computers by their device; a click seldom names the mail program', () => {
    expect(
      labels(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1',
      ),
    ).toEqual(['browser', 'phone']); // corpus
    expect(
      labels(
        'Mozilla/5.0 (iPad; U; CPU OS 3_2 like Mac OS X; en-us) AppleWebKit/531.21.10 (KHTML, like Gecko) Version/4.0.4 Mobile/7B334b Safari/531.21.10',
      ),
    ).toEqual(['browser', 'tablet']); // Chrome's page, iPad Safari
    expect(
      labels(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36 Edg/146.0.0.0',
      ),
    ).toEqual(['browser', 'desktop']); // corpus
    expect(
      labels(
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15',
      ),
    ).toEqual(['browser', 'desktop']); // corpus (an iPad asking for desktop sites sends this too)
  });

  it('gives machines no mail program and no device: Apple’s prefetch, scanners, bots, no agent', () => {
    for (const agent of [
      'Mozilla/5.0',
      'CiscoSecureEmail',
      'TMES',
      'python-requests/2.31.0',
      '',
      'Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
    ])
      expect(labels(agent), agent).toEqual(['unknown', 'unknown']); // corpus
  });
});
