/**
 * Per-operation timings and sizes of the histogram suite (`primitives/he/histogram.ts`): a micro-benchmark, not a
 * test.
 *
 *   node --import tsx bench/he-histogram.ts [--runs 5] [--blocks 8] [--features 10] [--noise]
 *
 * Prints, per operation, the median (min, max) of `--runs` timed calls after one warm-up call, in milliseconds, one
 * core; the bytes of each object; SEAL's public-key encryption beside the seeded symmetric one the active party uses;
 * and an estimate for one tree of SecureBoost (30 000 rows, 10 features, 16 node histograms over every block). The
 * per block-feature cost is the slope between calls over `--blocks` and half as many prepared blocks, the per-output
 * cost the rest; preparing a block (parsing it, expanding its c1 and transforming it) happens once per block for the
 * calls of one tree (the suite keeps the last call's blocks). `--noise` also measures the noise at the targets of
 * the unprotected product at the extreme (65 536 rows, all at gq = -4096, hq = 4096), which the flooding must hide.
 */
import { createHistogramSuite, ROWS_PER_BLOCK } from '../primitives/he/histogram.js';
import { histogramSeal, sealLibrary } from '../primitives/he/histogram-seal.js';

const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const RUNS = Number(option('--runs') ?? 5);
const BLOCKS = Number(option('--blocks') ?? 8);
const FEATURES = Number(option('--features') ?? 10);

/** Median, min and max of `runs` timed calls of `fn` after one warm-up call, in ms. */
function time(fn: () => unknown, runs = RUNS): { median: number; min: number; max: number } {
  fn();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const at = performance.now();
    fn();
    ms.push(performance.now() - at);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, min: ms[0]!, max: ms[ms.length - 1]! };
}

const rows: [string, string][] = [];
function report(name: string, t: { median: number; min: number; max: number }, per = 1): number {
  const f = (x: number) => (x / per).toFixed(2);
  rows.push([name, `${f(t.median)} ms  (${f(t.min)} .. ${f(t.max)})`]);
  return t.median / per;
}

/** Fixed pseudo-random integers in [lo, hi] (xorshift; the values do not change the timings). */
function ints(n: number, lo: number, hi: number, seed: number): Int32Array {
  let x = seed | 1;
  return Int32Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return lo + ((x >>> 0) % (hi - lo + 1));
  });
}

const startAt = performance.now();
const suite = await createHistogramSuite();
rows.push([
  'start the suite (WebAssembly, context, checks)',
  `${(performance.now() - startAt).toFixed(0)} ms`,
]);
report(
  'generateKeys',
  time(() => suite.generateKeys().secretKey.delete()),
);
const { publicKey, secretKey } = suite.generateKeys();
report(
  'loadPublicKey',
  time(() => suite.loadPublicKey(publicKey).delete()),
);
const key = suite.loadPublicKey(publicKey);

const n = BLOCKS * ROWS_PER_BLOCK;
const gq = ints(n, -4096, 4096, 1);
const hq = ints(n, 0, 4096, 2);
const perBlock = report(
  'encryptGradients, per block of 256 rows',
  time(() => suite.encryptGradients(secretKey, gq, hq)),
  BLOCKS,
);
const blocks = suite.encryptGradients(secretKey, gq, hq);
const counts = blocks.map(() => ROWS_PER_BLOCK);
const positions = Array.from({ length: FEATURES }, (_, f) => ints(n, 0, 31, 10 + f));
const of = (k: number, f: number) =>
  Uint8Array.from(positions[f]!.subarray(k * ROWS_PER_BLOCK, (k + 1) * ROWS_PER_BLOCK));

report(
  'histograms, no blocks: one output (Enc_pk(0), flood, pack)',
  time(() => suite.histograms(key, [], [], of, FEATURES)),
  FEATURES,
);
// Per block-feature: the slope between calls over all and over half the blocks (prepared); per output: the rest.
const half = Math.max(1, BLOCKS >> 1);
const call = time(() => suite.histograms(key, blocks, counts, of, FEATURES));
const halfCall = time(() =>
  suite.histograms(key, blocks.slice(0, half), counts.slice(0, half), of, FEATURES),
);
const perBlockFeature = (call.median - halfCall.median) / ((BLOCKS - half) * FEATURES);
const finish = call.median / FEATURES - BLOCKS * perBlockFeature;
rows.push([
  `histograms: ${BLOCKS} prepared blocks × ${FEATURES} features`,
  `${call.median.toFixed(1)} ms  (${call.min.toFixed(1)} .. ${call.max.toFixed(1)})`,
]);
rows.push(['  per block-feature (mask, NTT, product, c0 targets)', `${perBlockFeature.toFixed(3)} ms`]);
rows.push(['  per output (products out of NTT form, Enc_pk(0), flood, pack)', `${finish.toFixed(2)} ms`]);
const cold = time(() => {
  suite.releaseBlocks();
  suite.histograms(key, blocks, counts, of, 1);
});
const warm = time(() => suite.histograms(key, blocks, counts, of, 1));
const prepare = (cold.median - warm.median) / BLOCKS;
rows.push(['  preparing a block (once per block per tree)', `${prepare.toFixed(2)} ms`]);
const outputs = suite.histograms(key, blocks, counts, of, FEATURES);
report(
  'decryptHistogram',
  time(() => suite.decryptHistogram(secretKey, outputs[0]!)),
);

// SEAL's encryptions of one block's plaintext: public key (what a public-key scheme would cost) and seeded symmetric.
{
  const seal = await sealLibrary();
  const s = histogramSeal(seal, [44, 44, 44, 44], 60, ROWS_PER_BLOCK);
  const generator = seal.KeyGenerator(s.context);
  const sk = generator.secretKey();
  const pk = generator.createPublicKey();
  const encryptor = seal.Encryptor(s.context, pk, sk);
  const plain = seal.PlainText({ coeffCount: ROWS_PER_BLOCK });
  const none = seal.ComprModeType.none;
  const ct = seal.CipherText();
  report(
    'SEAL encrypt (public key), one block',
    time(() => encryptor.encrypt(plain, ct)),
  );
  const bytesPk = ct.saveArray(none).length;
  report(
    'SEAL encryptSymmetricSerializable + save, one block',
    time(() => {
      const seeded = encryptor.encryptSymmetricSerializable(plain);
      seeded.saveArray(none);
      seeded.delete();
    }),
  );
  const decryptor = seal.Decryptor(s.context, sk);
  encryptor.encryptZero(ct);
  rows.push([
    'SEAL noise budget of Enc_pk(0) at the data level',
    `${decryptor.invariantNoiseBudget(ct)} bits`,
  ]);
  rows.push(['SEAL bytes of a public-key encryption (uncompressed)', `${bytesPk}`]);
  for (const o of [ct, plain, encryptor, decryptor, pk, sk, generator]) o.delete();
}

rows.push([
  'bytes: public key, block (256 rows), histogram (1 feature)',
  `${suite.publicKeyBytes}, ${suite.blockBytes}, ${suite.outputBytes}`,
]);
const treeBlocks = Math.ceil(30_000 / ROWS_PER_BLOCK);
const tree = 16 * 10 * (treeBlocks * perBlockFeature + finish) + treeBlocks * prepare;
rows.push([
  `one tree, passive party: 16 node histograms × 10 features × ${treeBlocks} blocks`,
  `${(tree / 1000).toFixed(1)} s`,
]);
rows.push([
  'one tree, active party: encrypt 30 000 rows',
  `${((treeBlocks * perBlock) / 1000).toFixed(2)} s`,
]);

if (process.argv.includes('--noise')) {
  const most = 65_536;
  const blocksMax = suite.encryptGradients(
    secretKey,
    new Int32Array(most).fill(-4096),
    new Int32Array(most).fill(4096),
  );
  const spread = (k: number) => Uint8Array.from({ length: ROWS_PER_BLOCK }, (_, i) => (i + k) % 32);
  for (const [name, pos] of [
    ['all rows at position 31', () => new Uint8Array(ROWS_PER_BLOCK).fill(31)],
    ['rows spread over the positions', spread],
  ] as const) {
    const view = suite.unprotectedProductForTests(
      secretKey,
      blocksMax,
      blocksMax.map(() => ROWS_PER_BLOCK),
      pos,
      0,
    );
    const bits = Math.max(...view.noise.map((v) => (v < 0n ? -v : v).toString(2).length));
    rows.push([`noise at the targets, 65 536 extreme rows, ${name}`, `< 2^${bits}`]);
  }
}

const width = Math.max(...rows.map(([name]) => name.length));
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
