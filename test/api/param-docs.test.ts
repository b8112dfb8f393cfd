/**
 * Every parameter of every public (and protected) method and constructor of the jsii
 * assembly has `@param` text: API.md, Construct Hub and the IDE help of every language
 * show it. Read from the compiled assembly (.jsii), which must be newer than src/:
 * `npm test` compiles first when it is not (scripts/ensure-jsii.sh).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const ASSEMBLY = path.join(ROOT, '.jsii');

interface Parameter { name: string; docs?: { summary?: string } }
interface Callable { name?: string; parameters?: Parameter[]; protected?: boolean }
interface Type { name: string; fqn: string; initializer?: Callable; methods?: Callable[] }

function newestSource(dir: string): { file: string; mtime: number } {
  let newest = { file: '', mtime: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'runtime') continue; // Lambda code, not in the assembly
      const n = newestSource(full);
      if (n.mtime > newest.mtime) newest = n;
    } else if (entry.name.endsWith('.ts')) {
      const mtime = statSync(full).mtimeMs;
      if (mtime > newest.mtime) newest = { file: full, mtime };
    }
  }
  return newest;
}

/** `Type.method(param)` for every parameter without @param text. */
export function undocumentedParameters(types: Record<string, Type>): string[] {
  const missing: string[] = [];
  for (const type of Object.values(types)) {
    const callables: Array<[string, Callable]> = [
      ...(type.initializer ? [['constructor', type.initializer] as [string, Callable]] : []),
      ...(type.methods ?? []).map(m => [m.name!, m] as [string, Callable]),
    ];
    for (const [name, callable] of callables) {
      for (const p of callable.parameters ?? []) {
        if (!p.docs?.summary?.trim()) missing.push(`${type.name}.${name}(${p.name})`);
      }
    }
  }
  return missing.sort();
}

describe('the jsii assembly', () => {
  test('is compiled from the current sources', () => {
    if (!existsSync(ASSEMBLY)) {
      throw new Error('.jsii is missing: run `npx projen compile` (npm test does it when .jsii is missing or older than src/).');
    }
    const newest = newestSource(path.join(ROOT, 'src'));
    if (newest.mtime > statSync(ASSEMBLY).mtimeMs) {
      throw new Error(`.jsii is older than ${path.relative(ROOT, newest.file)}: run \`npx projen compile\` (npm test does it by itself).`);
    }
  });

  test('documents every parameter of every public method and constructor (@param)', () => {
    const assembly = JSON.parse(readFileSync(ASSEMBLY, 'utf-8'));
    const missing = undocumentedParameters(assembly.types);
    if (missing.length > 0) {
      throw new Error(`${missing.length} parameter(s) without @param text (add \`@param <name> <what it is>\` to the doc comment):\n  ${missing.join('\n  ')}`);
    }
  });

  test('the check finds a missing @param (it can fail)', () => {
    const types: Record<string, Type> = {
      'x.Thing': {
        name: 'Thing',
        fqn: 'x.Thing',
        initializer: { parameters: [{ name: 'scope', docs: { summary: 'the scope.' } }, { name: 'id' }] },
        methods: [{ name: 'grantRead', parameters: [{ name: 'grantee', docs: { summary: ' ' } }] }],
      },
    };
    expect(undocumentedParameters(types)).toEqual(['Thing.constructor(id)', 'Thing.grantRead(grantee)']);
  });
});
