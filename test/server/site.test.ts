import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, projectRoot, type RunningServer } from '../helpers/server.ts';
import { builtArticlePaths } from '../helpers/site.ts';

const articlesDir = path.join(projectRoot, 'content/articles');
const sources = readdirSync(articlesDir)
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ slug: f.replace(/\.md$/, ''), text: readFileSync(path.join(articlesDir, f), 'utf8') }));
const drafts = sources.filter((s) => /^draft:\s*true\s*$/m.test(s.text)).map((s) => s.slug);
const published = sources.filter((s) => !drafts.includes(s.slug)).map((s) => s.slug);

describe('the public site', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const get = async (p: string) => {
    const res = await fetch(server.url + p, { headers: { 'user-agent': 'Mozilla/5.0 Firefox/133.0' } });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  it('ships at least six published articles and a draft to prove drafts stay out', () => {
    expect(published.length).toBeGreaterThanOrEqual(6);
    expect(drafts.length).toBeGreaterThanOrEqual(1);
    expect(
      builtArticlePaths()
        .map((p) => p.split('/')[2])
        .sort(),
    ).toEqual([...published].sort());
  });

  it('home page lists the latest articles, and no draft', async () => {
    const home = await get('/');
    expect(home.status).toBe(200);
    expect(home.text).toMatch(/<main[\s>]/);
    expect(home.text).toMatch(/<header[\s>]/);
    expect(home.text).toMatch(/<footer[\s>]/);
    for (const slug of drafts) expect(home.text).not.toContain(`/articles/${slug}`);
    expect(home.text.match(/href="\/articles\/[a-z0-9-]+\/?"/g)?.length).toBeGreaterThanOrEqual(6);
  });

  it('every article page renders, with alt text on every image and no client script', async () => {
    for (const slug of published) {
      const page = await get(`/articles/${slug}/`);
      expect(page.status, slug).toBe(200);
      expect(page.text).toMatch(/<h1[\s>]/);
      expect(page.text).not.toMatch(/<script[\s>]/i);
      for (const img of page.text.match(/<img\b[^>]*>/g) ?? []) expect(img, `${slug}: ${img}`).toMatch(/\balt="[^"]*"/);
    }
  });

  it('drafts have no page, no feed item, no sitemap entry, no tag-page link', async () => {
    const rss = await get('/rss.xml');
    const sitemap = await get('/sitemap-0.xml');
    const archive = await get('/articles/');
    for (const slug of drafts) {
      expect((await get(`/articles/${slug}/`)).status).toBe(404);
      expect(rss.text).not.toContain(slug);
      expect(sitemap.text).not.toContain(slug);
      expect(archive.text).not.toContain(slug);
    }
  });

  it('serves tag pages, the archive, RSS and the sitemap', async () => {
    const tags = await get('/tags/');
    expect(tags.status).toBe(200);
    const firstTag = /href="(\/tags\/[a-z0-9-]+\/?)"/.exec(tags.text)?.[1];
    expect(firstTag).toBeTruthy();
    const tag = await get(firstTag!);
    expect(tag.status).toBe(200);
    expect(tag.text).toMatch(/href="\/articles\/[a-z0-9-]+\/?"/);

    const rss = await get('/rss.xml');
    expect(rss.status).toBe(200);
    expect(rss.type).toMatch(/xml/);
    for (const slug of published) expect(rss.text).toContain(`/articles/${slug}/`);

    const index = await get('/sitemap-index.xml');
    expect(index.status).toBe(200);
    const sitemap = await get('/sitemap-0.xml');
    expect(sitemap.text).toContain('/articles/');
    expect(sitemap.text).not.toMatch(/\/(admin|api|t)\//);
  });

  it('answers unknown pages with a friendly 404 that links home', async () => {
    const missing = await get('/no/such/page');
    expect(missing.status).toBe(404);
    expect(missing.type).toMatch(/text\/html/);
    expect(missing.text).toMatch(/href="\/"/);
  });
});
