import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The house boundary (DESIGN: domain code never imports HTTP) is a lint rule, not a review comment:
 * a file under src/lib that imports Astro, a route, the web edge, the admin views or Node's HTTP types
 * fails `npm run lint`. Each case writes a real file under src/lib and lints it with the project's config.
 */
const root = path.resolve(import.meta.dirname, '../..');
const probeDir = path.join(root, 'src/lib', `lint-probe-${randomBytes(4).toString('hex')}`);
mkdirSync(probeDir, { recursive: true });
afterAll(() => rmSync(probeDir, { recursive: true, force: true }));

// The project's config as `npm run lint` reads it; the boundary rule is syntactic, so the probe skips
// building the type program (minutes on a busy machine) by switching the type-aware rules off.
const eslint = new ESLint({ cwd: root, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function boundaryErrors(source: string): Promise<string[]> {
  const file = path.join(probeDir, `probe-${randomBytes(4).toString('hex')}.ts`);
  writeFileSync(file, source);
  const [result] = await eslint.lintFiles([file]);
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: src/lib never imports Astro, routes or HTTP', () => {
  it('refuses astro:actions in domain code', async () => {
    const errors = await boundaryErrors(
      "import { defineAction } from 'astro:actions';\nexport const a = defineAction;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('never imports Astro');
  });

  it("refuses Node's HTTP types, even as a type-only import", async () => {
    const errors = await boundaryErrors(
      "import type { IncomingMessage } from 'node:http';\nexport type R = IncomingMessage;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('not HTTP requests');
  });

  it('refuses a route, the web edge and the admin views', async () => {
    const errors = await boundaryErrors(
      [
        "import '../../pages/index.astro';",
        "import '../../actions/index.ts';",
        "import '../../web/tracking-handler.ts';",
        "import '../../admin/format.ts';",
        "import '#web/tracking-handler.ts';",
        '',
      ].join('\n'),
    );
    expect(errors).toHaveLength(5);
    for (const message of errors) expect(message).toContain('never imports routes');
  });

  it('lets domain code import other domain code and plain Node modules', async () => {
    const errors = await boundaryErrors(
      "import { createHash } from 'node:crypto';\nimport { loadConfig } from '../config.ts';\nexport const x = [createHash, loadConfig];\n",
    );
    expect(errors).toEqual([]);
  });
});
