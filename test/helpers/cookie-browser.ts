/** A desktop Chrome's user agent, the default reader in the tracking tests. */
export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A browser in service-level tracking tests: its address and agent, and the cookies the redirects gave it. */
export class Browser {
  cookies = new Map<string, string>();
  readonly ip: string;
  readonly userAgent: string;
  constructor(ip: string, userAgent = CHROME_UA) {
    this.ip = ip;
    this.userAgent = userAgent;
  }
  take(setCookie: string[] | undefined): void {
    for (const c of setCookie ?? []) {
      const pair = c.split(';', 1)[0]!;
      this.cookies.set(pair.split('=', 1)[0]!, pair);
    }
  }
  get header(): string {
    return [...this.cookies.values()].join('; ');
  }
}
