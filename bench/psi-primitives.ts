/**
 * Micro-benchmark of the PSI primitives, single-threaded and through the worker pool.
 *   node --import tsx bench/psi-primitives.ts [count]
 */
import os from 'node:os';
import { blind } from '../primitives/psi/blinding.js';
import { hashToCurveBatch } from '../primitives/psi/hash-to-curve.js';
import { PsiKey } from '../primitives/psi/psi-key.js';
import { validatePoints } from '../primitives/psi/validate-points.js';
import { CryptoWorkerPool } from '../platform/crypto-workers/pool.js';

const n = Number(process.argv[2] ?? 40_000);
const ids = Array.from({ length: n }, (_, i) => `+4479${String(i).padStart(8, '0')}`);
const key = PsiKey.generate();
const job = 'bench-job';

async function rate(label: string, fn: () => unknown): Promise<void> {
  await fn(); // warm-up (JIT, worker start-up)
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label.padEnd(34)} ${Math.round(n / s)
      .toLocaleString('en')
      .padStart(9)} /s`,
  );
}

const points = hashToCurveBatch(ids, 'phone', job);
const blinded = blind(key, points);

console.log(`${n} elements, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'})`);
await rate('hash (single thread)', () => hashToCurveBatch(ids, 'phone', job));
await rate('blind (single thread)', () => blind(key, points));
await rate('validate (single thread)', () => validatePoints(blinded, n));
await rate('hash+blind (single thread)', () => blind(key, hashToCurveBatch(ids, 'phone', job)));

const pool = new CryptoWorkerPool();
await rate(`hash+blind (pool of ${pool.size})`, () => pool.hashAndBlind(key, ids, 'phone', job));
await rate(`reblind (pool of ${pool.size})`, () => pool.reblind(key, points));
await rate(`validate+reblind (pool of ${pool.size})`, () => pool.validateAndReblind(key, blinded, n));
await pool.close();
