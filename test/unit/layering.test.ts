import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint: layering and the pure core', () => {
  it('passes a pure core file', async () => {
    expect(await problems('src/core/probe.ts', "import { SHARD_COUNTS } from './limits.js';\nexport const n = (nowMs: number) => nowMs + SHARD_COUNTS.length;\n")).toEqual([]);
  });

  it.each([
    ["import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", /src\/core is pure and may not import 'node:fs'/],
    ["export const now = () => Date.now();\n", /no-restricted-globals.*Date/],
    ["export const later = (f: () => void) => setTimeout(f, 1);\n", /no-restricted-globals.*setTimeout/],
    ["export const tick = (f: () => void) => setInterval(f, 1);\n", /no-restricted-globals.*setInterval/],
    ["export const roll = () => Math.random();\n", /no-restricted-properties.*Math\.random/],
    ["import { Kysely } from 'kysely';\nexport type K = Kysely<unknown>;\n", /may not import 'kysely'/],
    ["import type { Clock } from '../ports/clock.js';\nexport type C = Clock;\n", /src\/core may import only src\/core, not src\/ports/],
  ])('fails a core file that breaks purity (%#)', async (code, expected) => {
    const found = await problems('src/core/probe.ts', code);
    expect(found.join('\n')).toMatch(expected);
  });

  it.each([
    ['src/ports/probe.ts', "import { openDatabase } from '../adapters/kysely/database.js';\nexport const o = openDatabase;\n", /src\/ports may not import src\/adapters/],
    ['src/adapters/memory/probe.ts', "import { buildProgram } from '../../cli/program.js';\nexport const b = buildProgram;\n", /src\/adapters may not import src\/cli/],
    ['src/roles/master/probe.ts', "import { buildProgram } from '../../cli/program.js';\nexport const b = buildProgram;\n", /src\/roles may not import src\/cli/],
    ['src/roles/probe.ts', "import { startSim } from '../sim/start-sim.js';\nexport const s = startSim;\n", /sibling layer src\/sim/],
  ])('fails an import against cli → roles → adapters → ports → core (%s)', async (file, code, expected) => {
    expect((await problems(file, code)).join('\n')).toMatch(expected);
  });

  it('allows imports that point down', async () => {
    expect(await problems('src/cli/probe.ts', "import { openDatabase } from '../adapters/kysely/database.js';\nimport { SHARD_COUNTS } from '../core/limits.js';\nexport const x = [openDatabase, SHARD_COUNTS];\n")).toEqual([]);
    expect(await problems('src/adapters/kysely/probe.ts', "import type { LeaseStore } from '../../ports/lease-store.js';\nexport type L = LeaseStore;\n")).toEqual([]);
  });
});
