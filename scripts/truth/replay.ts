import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { trackingTokens } from '../../src/lib/tracking/tokens.ts';
import { labelEvents, trueFigures, type Corpus, type CorpusEvent, type LinkName, type TrueFigures } from './corpus.ts';
import { compareFigures, scoreCorpus, type CaseHits, type FigureComparison, type TruthScore } from './score.ts';
import { phaseLog, SEND_POLL_MS, startInstance, type Instance, type InstanceOptions } from './instance.ts';

/**
 * The truth replay: a fresh instance, one issue sent through the real send worker to one
 * subscriber per case, every case's hits replayed against the real HTTP server in time order
 * (the server's clock moved to each hit's time, nothing waited), each from its address (by
 * X-Forwarded-For) with its agent, following redirects like a browser (cookies kept per case, the
 * landing page fetched); then the classes stored against the labels, and the figures as the
 * admin's report API shows them against the truth from the labels.
 */
export interface TruthResult {
  score: TruthScore;
  /** What was stored for each case (by name), in order. */
  hits: Map<string, CaseHits>;
  shown: TrueFigures;
  truth: TrueFigures;
  figures: FigureComparison[];
  cases: number;
  events: number;
  database: 'sqlite' | 'postgres';
  /** Requests each server answered (two behind the proxy), and restarts. */
  stats: Instance['stats'];
}

/** Three article links landing on real pages of the site, and a phone link; the layout adds the honeypot and the unsubscribe footer. */
export const ARTICLE_PATHS: Record<'article' | 'article2' | 'article3', string> = {
  article: '/articles/widget-batteries-explained/',
  article2: '/articles/choosing-your-first-widget/',
  article3: '/articles/getting-your-widget-ready-for-winter/',
};
const ISSUE_BODY = `Three new things from the workshop this month:

- [Widget batteries, explained](${ARTICLE_PATHS.article})
- [Choosing your first widget](${ARTICLE_PATHS.article2})
- [Getting your widget ready for winter](${ARTICLE_PATHS.article3})

Questions? Call the repair counter on [(555) 0142](tel:5550142).`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function api(instance: Instance, method: string, pathname: string, body?: unknown): Promise<any> {
  const answer = await request(`${instance.url}${pathname}`, {
    method,
    headers: {
      authorization: `Bearer ${instance.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (answer.status >= 300)
    throw new Error(`${method} ${pathname} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
  return answer.body ? JSON.parse(answer.body) : undefined;
}

/** A case's browser: its cookies, expiring by the replay's clock. */
class CookieJar {
  readonly #cookies = new Map<string, { pair: string; until: number }>();

  take(setCookie: string[] | undefined, now: number): void {
    for (const line of setCookie ?? []) {
      const [pair, ...attributes] = line.split(';').map((p) => p.trim());
      const name = pair!.split('=', 1)[0]!;
      const maxAge = attributes.find((a) => /^max-age=/i.test(a));
      const until = maxAge ? now + Number(maxAge.split('=')[1]) * 1000 : Infinity;
      if (until <= now) this.#cookies.delete(name);
      else this.#cookies.set(name, { pair: pair!, until });
    }
  }

  header(now: number): string | undefined {
    const live = [...this.#cookies.values()].filter((c) => c.until > now).map((c) => c.pair);
    return live.length > 0 ? live.join('; ') : undefined;
  }
}

interface CaseMail {
  deliveryId: number;
  pixel: string;
  links: Partial<Record<LinkName, string>>;
}

/** Every recipient's message from the outbox: its pixel, its tracked links by name and its unsubscribe link. */
function readMail(
  instance: Instance,
  emails: string[],
  linkNames: Map<number, LinkName>,
): Promise<Map<string, CaseMail>> {
  const tokens = trackingTokens(instance.secret);
  const outbox = path.join(instance.dataDir, 'outbox');
  const files = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
  const wanted = new Set(emails);
  return Promise.all(files.map((f) => simpleParser(readFileSync(path.join(outbox, f))))).then((messages) => {
    const byEmail = new Map<string, CaseMail>();
    for (const m of messages) {
      const to = (Array.isArray(m.to) ? m.to[0] : m.to)?.value[0]?.address?.toLowerCase() ?? '';
      if (!wanted.has(to)) continue;
      const html = typeof m.html === 'string' ? m.html : '';
      const urls = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((x) => x[1]!.replace(/&amp;/g, '&'));
      const pixel = urls.find((u) => u.includes('/t/o/'));
      if (!pixel) throw new Error(`the message to ${to} has no open pixel`);
      const mail: CaseMail = { deliveryId: tokens.readOpen(pixel.split('/t/o/')[1])!.deliveryId, pixel, links: {} };
      for (const u of urls.filter((x) => x.includes('/t/c/'))) {
        const token = tokens.readClick(u.split('/t/c/')[1]);
        const name = token && linkNames.get(token.linkId);
        if (name && !mail.links[name]) mail.links[name] = u;
      }
      const unsubscribe = urls.find((u) => u.includes('/unsubscribe/'));
      if (unsubscribe) mail.links.unsubscribe = unsubscribe;
      byEmail.set(to, mail);
    }
    return byEmail;
  });
}

/** One hit as a browser (or a scanner) makes it: a GET follows same-site redirects and fetches the page it lands on. */
async function hit(instance: Instance, url: string, e: CorpusEvent, jar: CookieJar, now: number): Promise<void> {
  let target = url;
  for (let hop = 0; hop < 5; hop++) {
    const headers: Record<string, string> = { accept: e.kind === 'open' ? 'image/*' : 'text/html,*/*' };
    if (e.ua !== '') headers['user-agent'] = e.ua;
    if (e.ip !== '') headers['x-forwarded-for'] = e.ip;
    const cookie = jar.header(now);
    if (cookie) headers.cookie = cookie;
    const answer = await request(target, { method: e.method, headers });
    jar.take(answer.headers['set-cookie'], now);
    if (answer.status >= 500)
      throw new Error(`${e.method} ${target} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    if (e.method !== 'GET' || answer.status < 300 || answer.status >= 400 || !answer.headers.location) return;
    const next = new URL(answer.headers.location, target);
    if (next.origin !== instance.url) return; // tel:, mailto: or another site: not ours to fetch
    target = next.href;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A point in the second half of the replay between two clicks of one case less than 30 s apart: the middle of a sweep. */
function midSweep(timeline: { at: number; ci: number; e: CorpusEvent }[]): number {
  for (let i = Math.floor(timeline.length / 2); i < timeline.length; i++) {
    const before = timeline.slice(0, i).findLast((t) => t.ci === timeline[i]!.ci);
    if (before?.e.kind === 'click' && timeline[i]!.e.kind === 'click' && timeline[i]!.at - before.at < 30_000) return i;
  }
  return Math.floor(timeline.length / 2);
}

async function storedHits(db: DB, deliveryId: number): Promise<CaseHits> {
  const [opens, clicks] = await Promise.all([
    db
      .selectFrom('opens')
      .select(['class', 'reason'])
      .where('delivery_id', '=', deliveryId)
      .orderBy('at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('clicks')
      .select(['class', 'reason'])
      .where('delivery_id', '=', deliveryId)
      .orderBy('at')
      .orderBy('id')
      .execute(),
  ]);
  return { opens, clicks };
}

export interface RunTruthOptions extends InstanceOptions {
  /** Keep the instance's data folder and database afterwards (to look at them). */
  keep?: boolean;
  /** Kill the (first) server in the middle of a sweep and start it again on the same database. */
  restartMidSweep?: boolean;
  /** Run this before the instance is closed (tests read more from it). */
  inspect?: (instance: Instance, issueId: number) => Promise<void>;
}

export async function runTruth(corpus: Corpus, options: RunTruthOptions = {}): Promise<TruthResult> {
  const log = options.log ?? (() => {});
  const mark = phaseLog(log);
  const instance = await startInstance(options);
  mark('instance started');
  const db = createDatabase(instance.databaseUrl, { poolSize: 2 });
  try {
    // The clock stands still from here to the last hit (moved only by the replay).
    let clock = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await instance.setClock(clock);
    const emails = corpus.cases.map((_, i) => `case-${i + 1}@truth.example`);
    for (let i = 0; i < emails.length; i += 10_000) {
      const results = await api(
        instance,
        'POST',
        '/api/subscribers',
        emails.slice(i, i + 10_000).map((email) => ({ email, status: 'active', consent_note: 'truth replay' })),
      );
      const refused = results.results.filter((r: { ok: boolean }) => !r.ok);
      if (refused.length > 0) throw new Error(`subscribers refused: ${JSON.stringify(refused.slice(0, 3))}`);
    }
    mark('subscribers imported');
    const issue = await api(instance, 'POST', '/api/issues', {
      subject: 'Truth replay: three things from the workshop',
      preheader: 'Batteries, first widgets and winter',
      body_markdown: ISSUE_BODY,
      featured_articles: [],
    });
    const checked = await api(instance, 'GET', `/api/issues/${issue.id}`);
    if (!checked.ready) throw new Error(`the replay's issue fails its checks: ${JSON.stringify(checked.checks)}`);
    await api(instance, 'POST', `/api/issues/${issue.id}/send`, { audience: {} });
    mark('send requested');
    // The worker looks for due sends once its clock has moved a poll period (SEND_POLL_MS, set by
    // the instance) past its last look: one step forward starts the send, and every message then
    // goes out at that same instant (another step only if it stalls).
    let probes = 0;
    await waitFor('the send to finish', async () => {
      const p = await api(instance, 'GET', `/api/issues/${issue.id}/progress`);
      if (p.counts.sent >= emails.length) return true;
      if (probes++ % 20 === 0) await instance.setClock((clock += SEND_POLL_MS));
      return undefined;
    });
    log(`sent ${emails.length} messages`);
    mark(`send finished (${probes} probes, clock at ${clock})`);

    const links = await db
      .selectFrom('issue_links')
      .select(['id', 'kind', 'url'])
      .where('issue_id', '=', issue.id)
      .execute();
    const linkNames = new Map<number, LinkName>();
    for (const l of links) {
      const pathname = l.kind === 'site' ? new URL(l.url).pathname : '';
      const name =
        l.kind === 'honeypot'
          ? 'honeypot'
          : l.kind === 'tel'
            ? 'tel'
            : (Object.entries(ARTICLE_PATHS).find(([, p]) => p === pathname)?.[0] as LinkName | undefined);
      if (name && ![...linkNames.values()].includes(name)) linkNames.set(Number(l.id), name);
    }
    const mail = await waitFor('every message in the outbox', async () => {
      const found = await readMail(instance, emails, linkNames);
      return found.size >= emails.length ? found : undefined;
    });

    mark('outbox read');
    // Every case's hits after its own message's send time, merged in time order (one clock, only moving forward).
    const sentAt = new Map(
      (await db.selectFrom('deliveries').select(['id', 'sent_at']).where('issue_id', '=', issue.id).execute()).map(
        (d) => [Number(d.id), Number(d.sent_at)],
      ),
    );
    const jars = corpus.cases.map(() => new CookieJar());
    const timeline = corpus.cases.flatMap((c, ci) =>
      c.events.map((e, ei) => ({
        at: sentAt.get(mail.get(emails[ci]!)!.deliveryId)! + Math.round(e.after_send_s * 1000),
        ci,
        ei,
        e,
      })),
    );
    timeline.sort((a, b) => a.at - b.at || a.ci - b.ci || a.ei - b.ei);
    const late = timeline.filter((t) => t.at < clock).length;
    if (late > 0) log(`${late} hits fell before the clock after the send and happen at ${clock} instead`);
    const restartAt = options.restartMidSweep ? midSweep(timeline) : -1;
    for (const [i, { at, ci, e }] of timeline.entries()) {
      if (i === restartAt) {
        log(`killing the server in the middle of “${corpus.cases[ci]!.name}”'s sweep, and starting it again`);
        await instance.restart(0);
      }
      if (at > clock) await instance.setClock((clock = at));
      const m = mail.get(emails[ci]!)!;
      const url = e.kind === 'open' ? m.pixel : m.links[e.link!];
      if (!url) throw new Error(`case “${corpus.cases[ci]!.name}”: the message has no ${e.link} link`);
      await hit(instance, url, e, jars[ci]!, clock);
    }
    log(`replayed ${timeline.length} hits`);
    mark('replayed');

    const hits = new Map<string, CaseHits>();

    for (const [ci, c] of corpus.cases.entries())
      hits.set(c.name, await storedHits(db, mail.get(emails[ci]!)!.deliveryId));
    const score = scoreCorpus(corpus, (c) => hits.get(c.name)!);
    const report = await api(instance, 'GET', `/api/issues/${issue.id}/report`);
    const shown: TrueFigures = {
      humanOpeners: report.issue.unique_human_opens,
      humanClickers: report.issue.unique_human_clicks,
      attributedVisitors: report.issue.unique_visitors,
    };
    const truth = trueFigures(corpus);
    mark('report read');
    await options.inspect?.(instance, issue.id);
    return {
      score,
      hits,
      shown,
      truth,
      figures: compareFigures(shown, truth),
      cases: corpus.cases.length,
      events: timeline.length,
      database: options.database ? 'postgres' : 'sqlite',
      stats: instance.stats,
    };
  } catch (error) {
    const tail = instance.output().split('\n').slice(-30).join('\n');
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- server output (last lines) ---\n${tail}`,
      { cause: error },
    );
  } finally {
    await db.destroy();
    await instance.close({ keep: options.keep ?? false });
    mark('instance closed');
  }
}

export { labelEvents };
