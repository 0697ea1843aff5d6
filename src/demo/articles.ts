import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeaturedArticle } from '../lib/issues/issue.ts';

export const articlesFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../content/articles');

/** One frontmatter value: double-quoted (JSON escapes), single-quoted or bare. */
function scalar(raw: string): string {
  const value = raw.trim();
  if (value.startsWith('"') && value.endsWith('"')) {
    try {
      return JSON.parse(value) as string;
    } catch {
      return value.slice(1, -1);
    }
  }
  if (value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replace(/''/g, "'");
  return value;
}

function frontmatter(markdown: string): Record<string, string> {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(markdown);
  const fields: Record<string, string> = {};
  if (!match) return fields;
  for (const line of match[1]!.split(/\r?\n/)) {
    const field = /^([A-Za-z]+):\s*(.*)$/.exec(line);
    if (field) fields[field[1]!] = scalar(field[2]!);
  }
  return fields;
}

/**
 * The published articles of content/articles as issue cards, by slug: what the admin's
 * catalog offers (the site build reads the same files through Astro's content collection;
 * the demo runs outside Astro, so it reads the few fields a card needs itself). Drafts are left out.
 */
export function publishedArticleCards(folder = articlesFolder): Map<string, FeaturedArticle> {
  const cards = new Map<string, FeaturedArticle>();
  for (const file of readdirSync(folder)
    .filter((f) => f.endsWith('.md'))
    .sort()) {
    const fields = frontmatter(readFileSync(path.join(folder, file), 'utf8'));
    if (fields.draft === 'true' || !fields.title || !fields.description) continue;
    const slug = file.slice(0, -'.md'.length);
    cards.set(slug, {
      slug,
      title: fields.title,
      description: fields.description,
      image: fields.heroImage || null,
      imageAlt: fields.heroAlt || null,
    });
  }
  return cards;
}
