// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
import sitemap from '@astrojs/sitemap';
import { LARGEST_ACTION_BODY, LARGEST_BODY } from './src/lib/http/body-limits.ts';

// The public URL is needed at build time for canonical links, RSS and the sitemap.
// It is read here (outside src/lib/config.ts) because Astro evaluates this file before any app code.
const site = process.env.SITE_URL || 'http://127.0.0.1:4321';

export default defineConfig({
  site,
  output: 'server',
  // Request bodies: the server entry holds each route to its own limit (src/lib/http/body-limits.ts);
  // these are Astro's ceilings behind it (the adapter's default is 1 GiB).
  adapter: node({ mode: 'middleware', bodySizeLimit: LARGEST_BODY }),
  integrations: [
    // Only public pages: never the admin, APIs, actions or tracking routes.
    sitemap({ filter: (page) => !/^\/(admin|api|t|_actions)(\/|$)/.test(new URL(page).pathname) }),
  ],
  security: { checkOrigin: true, actionBodySizeLimit: LARGEST_ACTION_BODY },
  server: { host: '127.0.0.1', port: 4321 },
  vite: {
    ssr: { external: ['better-sqlite3', 'pg', 'kysely', '@node-rs/argon2', 'mjml', 'nodemailer', 'html-to-text', 'csv-parse', 'csv-stringify', 'mailparser', 'satteri'] },
  },
});
