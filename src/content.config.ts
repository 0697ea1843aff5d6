import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { z } from 'astro/zod';

const articles = defineCollection({
  loader: glob({ pattern: '**/*.md', base: './content/articles' }),
  schema: z.object({
    title: z.string().min(1).max(120),
    description: z.string().min(1).max(300),
    pubDate: z.coerce.date({ error: 'must be a date such as 2026-05-12' }),
    updatedDate: z.coerce.date({ error: 'must be a date such as 2026-05-12' }).optional(),
    author: z.string().min(1),
    tags: z.array(z.string().min(1)).default([]),
    heroImage: z.string().optional(),
    heroAlt: z.string().optional(),
    draft: z.boolean().default(false),
  }),
});

export const collections = { articles };
