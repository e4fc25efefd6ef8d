/**
 * Per-operation timings of the BFV cipher suite (`primitives/he/bfv.ts`): a micro-benchmark, not a test.
 *
 *   node --import tsx bench/he-ops.ts [--runs 7] [--impl DIR]
 *
 * Prints, per operation, the median (and min, max) of `--runs` timed calls after one warm-up call, in milliseconds,
 * one core. "batch" is what one 8 192-row batch of vertical training costs in HE work across the parties: 1 encrypt,
 * 1 addPlain, 14 + 10 single-chunk columns through maskedInnerProducts (with their masks), 24 decrypts.
 *
 * --impl DIR measures another copy of primitives/he (DIR holds its bfv.ts and cipher.ts), e.g. an older commit's:
 *   mkdir -p /tmp/old && git archive HEAD~1 primitives | tar -x -C /tmp/old
 *   ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node --import tsx bench/he-ops.ts --impl /tmp/old/primitives/he
 * On a shared machine, run the two copies alternately a few times and compare the minima as well as the medians.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { createBfvSuite as CreateBfvSuite } from '../primitives/he/bfv.js';
import type { uniformMask as UniformMask } from '../primitives/he/cipher.js';

const SLOTS = 8192;
const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const RUNS = Number(option('--runs') ?? 7);
const implDir = option('--impl');
const moduleOf = (file: string): string =>
  implDir === undefined ? `../primitives/he/${file}` : pathToFileURL(resolve(implDir, file)).href;
const { createBfvSuite } = (await import(moduleOf('bfv.ts'))) as { createBfvSuite: typeof CreateBfvSuite };
const { uniformMask } = (await import(moduleOf('cipher.ts'))) as { uniformMask: typeof UniformMask };

/** Signed values in (-2^bits, 2^bits), from a fixed xorshift generator (the values do not change the timings). */
function values(n: number, bits: number, seed: number): BigInt64Array {
  const out = new BigInt64Array(n);
  let x = seed | 1;
  const half = 2 ** bits;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const hi = (x >>> 0) / 2 ** 32;
    out[i] = BigInt(Math.floor(hi * 2 * half - half));
  }
  return out;
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const rows: { name: string; per: string; med: number; min: number; max: number }[] = [];

/** Times `fn` RUNS times after one warm-up call; `per` divides the time (e.g. per column). */
function time(name: string, fn: () => unknown, per = 1, perName = 'call'): void {
  fn();
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    fn();
    times.push((performance.now() - start) / per);
  }
  rows.push({ name, per: perName, med: median(times), min: Math.min(...times), max: Math.max(...times) });
}

const startAt = performance.now();
const suite = await createBfvSuite();
const startMs = performance.now() - startAt;
const { publicKey: publicKeyBytes, secretKey } = suite.generateKeys();
const key = suite.loadPublicKey(publicKeyBytes);
const t = suite.plainModulus;

const d1 = values(SLOTS, 40, 1);
const d3 = values(3 * SLOTS, 40, 2);
const [ct] = suite.encrypt(key, d1);
const cts3 = suite.encrypt(key, d3);
const column1 = values(SLOTS, 16, 3);
const columns10x1 = Array.from({ length: 10 }, (_, j) => values(SLOTS, 16, 10 + j));
const columns10x3 = Array.from({ length: 10 }, (_, j) => values(3 * SLOTS, 16, 30 + j));
const masks10 = columns10x1.map(() => uniformMask(t, SLOTS));
const [outCt] = suite.maskedInnerProducts(key, [ct!], [column1], [masks10[0]!]);

time('generateKeys', () => suite.generateKeys().secretKey.delete());
time('loadPublicKey', () => suite.loadPublicKey(publicKeyBytes).delete());
time('encrypt (1 chunk)', () => suite.encrypt(key, d1));
time('add (1 chunk)', () => suite.add([ct!], [ct!]));
time('addPlain (1 chunk)', () => suite.addPlain([ct!], d1));
time('maskedInnerProducts 1 col x 1 chunk', () =>
  suite.maskedInnerProducts(key, [ct!], [column1], [masks10[0]!]),
);
time(
  'maskedInnerProducts 10 cols x 1 chunk',
  () => suite.maskedInnerProducts(key, [ct!], columns10x1, masks10),
  10,
  'column',
);
time(
  'maskedInnerProducts 10 cols x 3 chunks',
  () => suite.maskedInnerProducts(key, cts3, columns10x3, masks10),
  10,
  'column',
);
time('maskedVector (1 chunk)', () => suite.maskedVector(key, [ct!], [masks10[0]!]));
time('decrypt (output level)', () => suite.decrypt(secretKey, outCt!));
time('decrypt (input level)', () => suite.decrypt(secretKey, ct!));
time('uniformMask (8192 slots)', () => uniformMask(t, SLOTS));

const features = [14, 10].map((n, p) => Array.from({ length: n }, (_, j) => values(SLOTS, 16, 100 * p + j)));
time('batch (training, 8192 rows, 14 + 10 columns)', () => {
  const [z] = suite.encrypt(key, d1);
  const fourD = suite.addPlain([z!], d1);
  const outs: Uint8Array[] = [];
  for (const party of features) {
    const masks = party.map(() => uniformMask(t, SLOTS));
    outs.push(...suite.maskedInnerProducts(key, fourD, party, masks));
  }
  for (const out of outs) suite.decrypt(secretKey, out);
});

console.log(
  `${implDir ?? 'primitives/he'}: BFV suite start ${startMs.toFixed(0)} ms; ${RUNS} runs per row after a warm-up; ms`,
);
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${'operation'.padEnd(width)}  per      median     min     max`);
for (const r of rows)
  console.log(
    `${r.name.padEnd(width)}  ${r.per.padEnd(6)} ${r.med.toFixed(2).padStart(8)} ${r.min.toFixed(2).padStart(7)} ${r.max.toFixed(2).padStart(7)}`,
  );
key.delete();
secretKey.delete();
