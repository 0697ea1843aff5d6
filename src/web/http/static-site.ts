import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { lookup as mimeType } from 'mrmime';
import { FALLBACK_PAGE_CSP } from './security-headers.ts';
import { fillSiteSlots, splitAtSlots, type SiteDetails, type SlottedText } from '../../lib/site/site-details.ts';

export interface StaticFile {
  body: Buffer;
  headers: Record<string, string>;
  etag: string;
  isPage: boolean;
  /** Set when the file carries site-detail slots (src/lib/site/site-details.ts): serve `filled(file, details)` instead. */
  slotted?: SlottedText;
}

const etagOf = (body: Buffer) => `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;

/**
 * The built site's prerendered pages and assets, held in memory: a few hundred kilobytes
 * for a site like this, and the fastest way to answer the article pages that a send
 * brings in bursts. Pages revalidate (so each view reaches the server and is counted);
 * fingerprinted assets under /_astro/ are cached for a year. Each page carries the
 * Content-Security-Policy Astro wrote for it into `headersFile` (its _headers.json).
 * Pages and feeds that show the site's details (name, address, phone, hours) are filled from
 * the current details when served: each once per change of the details, then kept.
 */
export class StaticSite {
  readonly #files = new Map<string, StaticFile>();
  readonly #policies = new Map<string, string>();
  readonly #filled = new WeakMap<StaticFile, { key: string; file: StaticFile }>();

  constructor(root: string, headersFile?: string) {
    if (headersFile) this.#readPolicies(headersFile);
    this.#load(root, root);
  }

  #readPolicies(file: string): void {
    let entries: { pathname: string; headers: { key: string; value: string }[] }[];
    try {
      entries = JSON.parse(readFileSync(file, 'utf8')) as typeof entries;
    } catch {
      return; // no such file: every page gets the fallback policy
    }
    for (const { pathname, headers } of entries) {
      const policy = headers.find((h) => h.key.toLowerCase() === 'content-security-policy')?.value;
      if (policy) this.#policies.set(pathname.replace(/\/$/, '') || '/', policy);
    }
  }

  get size(): number {
    return this.#files.size;
  }

  #load(root: string, dir: string): void {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = path.join(dir, name);
      const stat = statSync(full);
      if (stat.isDirectory()) {
        this.#load(root, full);
        continue;
      }
      const urlPath = '/' + path.relative(root, full).split(path.sep).join('/');
      const body = readFileSync(full);
      const type = mimeType(name) ?? (name.endsWith('.ico') ? 'image/x-icon' : 'application/octet-stream');
      const isPage = name.endsWith('.html');
      const etag = etagOf(body);
      const slotted = isPage || name.endsWith('.xml') ? splitAtSlots(body.toString('utf8')) : undefined;
      const immutable = urlPath.startsWith('/_astro/');
      const pagePath = urlPath.replace(/(\/index)?\.html$/, '') || '/';
      this.#files.set(urlPath, {
        body,
        etag,
        isPage,
        ...(slotted ? { slotted } : {}),
        headers: {
          'content-type': /^(text\/|application\/(json|xml|javascript|rss))/.test(type)
            ? `${type}; charset=utf-8`
            : type,
          'content-length': String(body.length),
          etag,
          'cache-control': immutable
            ? 'public, max-age=31536000, immutable'
            : isPage
              ? 'no-cache'
              : 'public, max-age=3600',
          'x-content-type-options': 'nosniff',
          ...(isPage ? { 'content-security-policy': this.#policies.get(pagePath) ?? FALLBACK_PAGE_CSP } : {}),
        },
      });
    }
  }

  /** The file as served with these details: its slots filled, with its own length and ETag (kept until the details change). */
  filled(file: StaticFile, details: SiteDetails): StaticFile {
    if (!file.slotted) return file;
    const kept = this.#filled.get(file);
    if (kept?.key === details.key) return kept.file;
    const body = Buffer.from(fillSiteSlots(file.slotted, details), 'utf8');
    const etag = etagOf(body);
    const filled: StaticFile = {
      body,
      etag,
      isPage: file.isPage,
      headers: { ...file.headers, 'content-length': String(body.length), etag },
    };
    this.#filled.set(file, { key: details.key, file: filled });
    return filled;
  }

  /** "/articles/x", "/articles/x/" and "/articles/x/index.html" name the same page. */
  find(pathname: string): StaticFile | undefined {
    if (pathname.includes('..')) return undefined;
    const exact = this.#files.get(pathname);
    if (exact) return exact;
    const dir = pathname.endsWith('/') ? pathname : pathname + '/';
    return this.#files.get(dir + 'index.html');
  }
}
