// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
import sitemap from '@astrojs/sitemap';
import { LARGEST_ACTION_BODY, LARGEST_BODY } from './src/web/http/body-limits.ts';
import { CSP_DIRECTIVES, CSP_SCRIPT_SOURCES, CSP_STYLE_SOURCES } from './src/web/http/security-headers.ts';

// The public URL is needed at build time for canonical links, RSS and the sitemap.
// It is read here (outside src/lib/config.ts) because Astro evaluates this file before any app code.
const site = process.env.SITE_URL || 'http://127.0.0.1:4321';

export default defineConfig({
  site,
  output: 'server',
  // Request bodies: the server entry holds each route to its own limit (src/web/http/body-limits.ts);
  // these are Astro's ceilings behind it (the adapter's default is 1 GiB).
  // staticHeaders: prerendered pages' Content-Security-Policy goes to _headers.json (sent by the
  // server entry with each file) rather than a <meta> tag, which cannot say frame-ancestors.
  adapter: node({ mode: 'middleware', bodySizeLimit: LARGEST_BODY, staticHeaders: true }),
  integrations: [
    // Only public pages: never the admin, APIs, actions or tracking routes.
    sitemap({ filter: (page) => !/^\/(admin|api|t|_actions)(\/|$)/.test(new URL(page).pathname) }),
  ],
  security: {
    checkOrigin: true,
    actionBodySizeLimit: LARGEST_ACTION_BODY,
    // The policy and why: src/web/http/security-headers.ts.
    csp: {
      directives: CSP_DIRECTIVES,
      scriptDirective: { resources: CSP_SCRIPT_SOURCES },
      styleDirective: { resources: CSP_STYLE_SOURCES },
    },
  },
  server: { host: '127.0.0.1', port: 4321 },
  vite: {
    ssr: {
      external: [
        'better-sqlite3',
        'pg',
        'kysely',
        '@node-rs/argon2',
        'mjml',
        'nodemailer',
        'html-to-text',
        'csv-parse',
        'csv-stringify',
        'mailparser',
        'satteri',
      ],
    },
  },
});
