// @ts-check
// Lint: typescript-eslint's strict and stylistic type-aware sets over every TypeScript and Astro file,
// and the house boundary rule (domain code never imports Astro, routes or HTTP). Formatting is Prettier's.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import eslintPluginAstro from 'eslint-plugin-astro';
import globals from 'globals';

/**
 * What `src/lib/**` may not import: the domain takes plain values, so it runs under plain Vitest and from
 * CLI scripts. Exported so test/lint/boundaries.test.ts can name the messages it expects.
 */
export const domainBoundary = {
  paths: [
    {
      name: 'node:http',
      message: 'src/lib is domain code: take plain values, not HTTP requests (HTTP lives in the web edge).',
    },
    {
      name: 'http',
      message: 'src/lib is domain code: take plain values, not HTTP requests (HTTP lives in the web edge).',
    },
    {
      name: 'node:https',
      message: 'src/lib is domain code: take plain values, not HTTP requests (HTTP lives in the web edge).',
    },
    {
      name: 'https',
      message: 'src/lib is domain code: take plain values, not HTTP requests (HTTP lives in the web edge).',
    },
    {
      name: 'undici',
      message: 'src/lib is domain code: take plain values, not HTTP requests (HTTP lives in the web edge).',
    },
    {
      name: 'undici-types',
      message: 'src/lib is domain code: take plain values, not HTTP requests (HTTP lives in the web edge).',
    },
    {
      name: 'astro',
      message: 'src/lib is domain code: it never imports Astro (routes call services with plain values).',
    },
  ],
  patterns: [
    {
      regex: '^astro(:|/)',
      message: 'src/lib is domain code: it never imports Astro (routes call services with plain values).',
    },
    {
      regex: '^(\\.\\./)+(pages|actions|web|admin)(/|$)|^#(pages|actions|web|admin)/',
      message:
        'src/lib is domain code: it never imports routes (src/pages, src/actions), the web edge (src/web) or the admin views (src/admin).',
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'data/', '.astro/', 'test-results/', 'public/', '**/*.d.ts'],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  eslintPluginAstro.configs['flat/recommended'],
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.astro'],
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans read naturally in messages and SQL fragments; objects, nulls and undefined still fail.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void`-returning arrows written as one expression (`(e) => console.error(e)`) are the house style.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Empty arrows are deliberate no-ops (`.catch(() => {})` on a best-effort close, a listener that only waits).
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // On for objects and numbers; `||` on strings and booleans is deliberate here: an empty form field, env
      // variable or CSV cell means "not given" (`env.MAIL_FROM || undefined`, `header[i] || '(no name)'`).
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true, boolean: true } }],
      // `const { id: _id, ...input } = x` is how a key is left out of a copy; the named part is unused by design.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Off: control characters in a regex here are the point: input is checked or stripped of them (header
      // injection, CSV cells, form fields), never matched by accident.
      'no-control-regex': 'off',
      // Off: every hit is a synchronous body behind a Promise-returning contract (a mailer, an event inserter,
      // Kysely's execute callback, test doubles of them), where `async` is what turns a throw into the rejection
      // the caller handles; removing it would change how failures travel.
      '@typescript-eslint/require-await': 'off',
      // Off: with noUncheckedIndexedAccess on, `!` is where an index read states its invariant (a bucket array
      // sized by the loop that fills it, a regex group that matched); no-unnecessary-type-assertion (on) still
      // removes every `!` the compiler can already see through.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Off: Kysely's row types say `number` for columns PostgreSQL returns as strings (bigint ids, count(),
      // sum()); the `Number(...)` this rule calls unnecessary is the parse that makes both databases agree.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // Off: the checks it calls unnecessary are the ones that guard values whose static type is a claim, not a
      // fact: parsed JSON and CSV, database rows, settings, and flags another async path sets (`#stopping`).
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    // Astro's parser types template markup as `any`, so every `.map((x) => <li>…</li>)` would be "unsafe".
    files: ['**/*.astro'],
    rules: {
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Migrations take `Kysely<any>` by the project's rule: they are frozen in time and must not import the
    // application's current table types.
    files: ['db/migrations/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Tests and the truth replay read JSON answers from the real server (`await res.json()` is `any`) and
    // assert on their fields; typing every answer would restate the API in the tests.
    files: ['test/**', 'scripts/truth/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // JSON readers (`verifyToken<T>`, `readJson<T>`, `takeActionResult<R>`) name in their type parameter what the
    // caller stored: the alternative is an `as` at every call site, which says the same with less checking.
    files: ['src/lib/security/signed-token.ts', 'src/lib/build/site-builds.ts', 'src/admin/notice.ts'],
    rules: { '@typescript-eslint/no-unnecessary-type-parameters': 'off' },
  },
  {
    // Schema-agnostic plumbing: the event writer holds inserters for different row types in one collection,
    // and the database, migrator, statement plans and batch locks work on any Kysely schema. Inserters and
    // Kysely handles are contravariant in their row and schema types, so such a collection needs `any`
    // (`unknown` would refuse every concrete inserter). An inserter may also answer nothing (`void`).
    files: ['src/lib/events/**', 'src/lib/db/database.ts', 'src/lib/db/migrate.ts', 'src/lib/tracking/batch-locks.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-invalid-void-type': 'off',
    },
  },
  {
    // The tally page's script runs in the browser as plain JavaScript.
    files: ['src/admin/tally-client.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/lib/**'],
    rules: { 'no-restricted-imports': ['error', domainBoundary] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
