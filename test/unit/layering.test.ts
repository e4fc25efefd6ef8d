/**
 * The layering the README promises, checked on every import of every source file:
 *  - `node/` (a bank's node) and `coordinator/` (the consortium's) never import each other;
 *  - `primitives/` is pure: it imports only itself, the audited crypto libraries and `node:crypto`; no I/O (files,
 *    sockets, threads, processes), no gRPC, no database, no web framework, and nothing from the runtime folders;
 *  - `models/` (model math, training, ONNX export) is pure too: itself, `primitives/` and the same libraries;
 *  - `platform/` (shared runtime) imports neither role.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(path);
    }
  };
  walk(join(ROOT, folder));
  return out;
}

/** Every module specifier a file imports: static, type-only, re-exports and dynamic `import()`. */
function importsOf(source: string): string[] {
  const found = new Set<string>();
  for (const m of source.matchAll(/\b(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)) found.add(m[1]!);
  for (const m of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.add(m[1]!);
  for (const m of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) found.add(m[1]!);
  return [...found];
}

/** The top-level project folder a relative import lands in, or the package name of a bare one. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(ROOT, resolve(dirname(file), specifier)).split(sep)[0]!;
}

function violations(folder: string, allowed: (target: string) => boolean): string[] {
  const bad: string[] = [];
  for (const file of sourceFiles(folder)) {
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      const to = target(file, specifier);
      if (!allowed(to)) bad.push(`${relative(ROOT, file)} imports ${specifier}`);
    }
  }
  return bad;
}

/** What pure code may use: itself, the audited primitives libraries, and node:crypto (no I/O in it). */
const PURE_PACKAGES = [
  /^@noble\/(curves|hashes)\//,
  /^libsodium-wrappers-sumo$/,
  /^node:crypto$/,
  /^zod$/,
  /^node-seal$/,
];

describe('layering', () => {
  it('finds static, type-only, re-exported and dynamic imports (the checker itself can fail)', () => {
    const sample = [
      "import { a } from './x.js';",
      "import type { B } from '../../node/app.js';",
      "export { c } from 'node:fs';",
      "const m = await import('better-sqlite3');",
      "import 'node:net';",
    ].join('\n');
    expect(importsOf(sample).sort()).toEqual(
      ['../../node/app.js', './x.js', 'better-sqlite3', 'node:fs', 'node:net'].sort(),
    );
  });

  it('node/ never imports coordinator/', () => {
    expect(violations('node', (to) => to !== 'coordinator')).toEqual([]);
  });

  it('coordinator/ never imports node/', () => {
    expect(violations('coordinator', (to) => to !== 'node')).toEqual([]);
  });

  it('primitives/ imports only itself, the crypto libraries and node:crypto: no I/O', () => {
    expect(
      violations('primitives', (to) => to === 'primitives' || PURE_PACKAGES.some((p) => p.test(to))),
    ).toEqual([]);
  });

  it('models/ imports only itself, primitives/ and the pure libraries: no I/O', () => {
    expect(
      violations(
        'models',
        (to) => to === 'models' || to === 'primitives' || PURE_PACKAGES.some((p) => p.test(to)),
      ),
    ).toEqual([]);
  });

  it('platform/ imports neither role', () => {
    expect(violations('platform', (to) => !['node', 'coordinator', 'cli', 'examples'].includes(to))).toEqual(
      [],
    );
  });
});
