/**
 * Per-operation timings of the BFV cipher suite (`primitives/he/bfv.ts`): a micro-benchmark, not a test.
 *
 *   node --import tsx bench/he-ops.ts [--runs 7] [--impl DIR] [--compare DIR]
 *
 * Prints, per operation, the median (and min, max) of `--runs` timed calls after one warm-up call, in milliseconds,
 * one core. "batch" is what one 8 192-row batch of vertical training costs in HE work across the parties: 1 encrypt,
 * 1 addPlain, 14 + 10 single-chunk columns through maskedInnerProducts (with their masks), 24 decrypts.
 *
 * --impl DIR measures another copy of primitives/he (DIR holds its bfv.ts and cipher.ts) instead of this one, and
 * --compare DIR measures both in the same process, alternating their calls run by run, so that other work on a
 * shared machine slows both alike; it prints both medians and their ratio. For an older commit's copy:
 *   mkdir -p /tmp/old && git archive OLD primitives | tar -x -C /tmp/old
 *   ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node --import tsx bench/he-ops.ts --compare /tmp/old/primitives/he
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

/** One copy of primitives/he, started, with keys and inputs, and the operations to time on it. */
async function setUp(dir: string | undefined) {
  const moduleOf = (file: string): string =>
    dir === undefined ? `../primitives/he/${file}` : pathToFileURL(resolve(dir, file)).href;
  const { createBfvSuite } = (await import(moduleOf('bfv.ts'))) as { createBfvSuite: typeof CreateBfvSuite };
  const { uniformMask } = (await import(moduleOf('cipher.ts'))) as { uniformMask: typeof UniformMask };
  const startAt = performance.now();
  const suite = await createBfvSuite();
  const startMs = performance.now() - startAt;
  const { publicKey: publicKeyBytes, secretKey } = suite.generateKeys();
  const key = suite.loadPublicKey(publicKeyBytes);
  const t = suite.plainModulus;

  const d1 = values(SLOTS, 40, 1);
  const [ct] = suite.encrypt(key, d1);
  const cts3 = suite.encrypt(key, values(3 * SLOTS, 40, 2));
  const column1 = values(SLOTS, 16, 3);
  const columns10x1 = Array.from({ length: 10 }, (_, j) => values(SLOTS, 16, 10 + j));
  const columns10x3 = Array.from({ length: 10 }, (_, j) => values(3 * SLOTS, 16, 30 + j));
  const masks10 = columns10x1.map(() => uniformMask(t, SLOTS));
  const [outCt] = suite.maskedInnerProducts(key, [ct!], [column1], [masks10[0]!]);
  const features = [14, 10].map((n, p) =>
    Array.from({ length: n }, (_, j) => values(SLOTS, 16, 100 * p + j)),
  );

  /** [name, per what, divisor, the call] */
  const operations: [string, string, number, () => unknown][] = [
    ['generateKeys', 'call', 1, () => suite.generateKeys().secretKey.delete()],
    ['loadPublicKey', 'call', 1, () => suite.loadPublicKey(publicKeyBytes).delete()],
    ['encrypt (1 chunk)', 'call', 1, () => suite.encrypt(key, d1)],
    ['add (1 chunk)', 'call', 1, () => suite.add([ct!], [ct!])],
    ['addPlain (1 chunk)', 'call', 1, () => suite.addPlain([ct!], d1)],
    [
      'maskedInnerProducts 1 col x 1 chunk',
      'call',
      1,
      () => suite.maskedInnerProducts(key, [ct!], [column1], [masks10[0]!]),
    ],
    [
      'maskedInnerProducts 10 cols x 1 chunk',
      'column',
      10,
      () => suite.maskedInnerProducts(key, [ct!], columns10x1, masks10),
    ],
    [
      'maskedInnerProducts 10 cols x 3 chunks',
      'column',
      10,
      () => suite.maskedInnerProducts(key, cts3, columns10x3, masks10),
    ],
    ['maskedVector (1 chunk)', 'call', 1, () => suite.maskedVector(key, [ct!], [masks10[0]!])],
    ['decrypt (output level)', 'call', 1, () => suite.decrypt(secretKey, outCt!)],
    ['decrypt (input level)', 'call', 1, () => suite.decrypt(secretKey, ct!)],
    ['uniformMask (8192 slots)', 'call', 1, () => uniformMask(t, SLOTS)],
    [
      'batch (training, 8192 rows, 14 + 10 columns)',
      'call',
      1,
      () => {
        const [z] = suite.encrypt(key, d1);
        const fourD = suite.addPlain([z!], d1);
        const outs: Uint8Array[] = [];
        for (const party of features) {
          const masks = party.map(() => uniformMask(t, SLOTS));
          outs.push(...suite.maskedInnerProducts(key, fourD, party, masks));
        }
        for (const out of outs) suite.decrypt(secretKey, out);
      },
    ],
  ];
  return { name: dir ?? 'primitives/he', startMs, operations };
}

function stats(times: number[]): { med: number; min: number; max: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { med: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

const compareDir = option('--compare');
const impls = [await setUp(option('--impl'))];
if (compareDir !== undefined) impls.push(await setUp(compareDir));

for (const impl of impls) console.log(`${impl.name}: BFV suite start ${impl.startMs.toFixed(0)} ms`);
console.log(`${RUNS} runs per row after a warm-up, alternating between copies; ms`);
const width = Math.max(...impls[0]!.operations.map(([name]) => name.length));
const cell = (x: number) => x.toFixed(2).padStart(8);
console.log(
  impls.length === 1
    ? `${'operation'.padEnd(width)}  per      median     min     max`
    : `${'operation'.padEnd(width)}  per      median     min  | compared: median     min  | ratio`,
);
impls[0]!.operations.forEach(([name, per, divisor], row) => {
  const times = impls.map(() => [] as number[]);
  for (const impl of impls) impl.operations[row]![3]();
  for (let r = 0; r < RUNS; r++)
    impls.forEach((impl, i) => {
      const start = performance.now();
      impl.operations[row]![3]();
      times[i]!.push((performance.now() - start) / divisor);
    });
  const [a, b] = times.map(stats);
  const line = `${name.padEnd(width)}  ${per.padEnd(6)} ${cell(a!.med)} ${cell(a!.min)}`;
  console.log(
    b === undefined
      ? `${line} ${cell(a!.max)}`
      : `${line}  |         ${cell(b.med)} ${cell(b.min)}  | ${(b.med / a!.med).toFixed(2).padStart(5)}`,
  );
});
