// Anchor 2: the machine's native elliptic-curve ceiling — X25519 scalar multiplications per second
// through node:crypto (OpenSSL), one worker thread per core, all busy over the same wall-clock window.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface X25519Limit {
  opsPerSecond: number;
  workers: number;
}

interface WorkerResult {
  ops: number;
  seconds: number;
}

// Plain JS run with `eval: true`, so it works the same whether the parent runs under tsx or not.
// process.getBuiltinModule (Node >= 20.16) instead of require/import: the eval'd body may be parsed as
// CommonJS or as an ES module depending on the inherited execArgv (e.g. --input-type=module).
// Shared state: Int32Array[0] = start flag, BigInt64Array[1] = deadline (process.hrtime ns; the
// monotonic clock is process-wide, so all threads compare against the same instant).
const WORKER_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const crypto = process.getBuiltinModule('node:crypto');
const { shared, poolSize } = workerData;
const flag = new Int32Array(shared, 0, 1);
const deadline = new BigInt64Array(shared, 8, 1);

const { privateKey } = crypto.generateKeyPairSync('x25519');
// Pool of random peer public keys, imported as KeyObjects before the clock starts.
const peers = [];
while (peers.length < poolSize) {
  const x = crypto.randomBytes(32).toString('base64url');
  const pub = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  try {
    crypto.diffieHellman({ privateKey, publicKey: pub }); // rejects the (negligible) low-order points
    peers.push(pub);
  } catch {}
}

parentPort.postMessage({ type: 'ready' });
Atomics.wait(flag, 0, 0);
const end = Atomics.load(deadline, 0);
const t0 = process.hrtime.bigint();
let ops = 0;
let sink = 0;
let now = t0;
while (now < end) {
  for (let k = 0; k < 16; k++) {
    const secret = crypto.diffieHellman({ privateKey, publicKey: peers[ops % poolSize] });
    sink ^= secret[0];
    ops++;
  }
  now = process.hrtime.bigint();
}
parentPort.postMessage({ type: 'done', ops, seconds: Number(now - t0) / 1e9, sink });
`;

/**
 * Measures X25519 Diffie-Hellman operations per second over all cores: one worker per core
 * (os.availableParallelism()), each with its own private key and a pre-imported pool of peer
 * public KeyObjects, all released at once and stopped at the same deadline. The result is the sum
 * of the per-worker rates.
 */
export async function measureX25519OpsPerSecond(
  opts: { seconds?: number; workers?: number; poolSize?: number } = {},
): Promise<X25519Limit> {
  const seconds = opts.seconds ?? 3;
  const workerCount = opts.workers ?? availableParallelism();
  const poolSize = opts.poolSize ?? 2000;
  if (!(seconds > 0)) throw new Error(`measureX25519OpsPerSecond: seconds must be > 0, got ${seconds}`);
  if (!Number.isInteger(workerCount) || workerCount < 1) {
    throw new Error(`measureX25519OpsPerSecond: workers must be a positive integer, got ${workerCount}`);
  }

  const shared = new SharedArrayBuffer(16);
  const flag = new Int32Array(shared, 0, 1);
  const deadline = new BigInt64Array(shared, 8, 1);

  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<WorkerResult>[] = [];
  try {
    for (let i = 0; i < workerCount; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared, poolSize } });
      workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (msg: { type: string }) => msg.type === 'ready' && resolve());
          worker.on('error', reject);
          worker.on('exit', (code) => reject(new Error(`x25519 worker exited before ready (code ${code})`)));
        }),
      );
      const finished = new Promise<WorkerResult>((resolve, reject) => {
        worker.on('message', (msg: { type: string; ops: number; seconds: number }) => {
          if (msg.type === 'done') resolve({ ops: msg.ops, seconds: msg.seconds });
        });
        worker.on('error', reject);
        worker.on('exit', (code) =>
          reject(new Error(`x25519 worker exited before reporting (code ${code})`)),
        );
      });
      finished.catch(() => {}); // surfaced via Promise.all below; avoid an unhandled rejection meanwhile
      done.push(finished);
    }

    await Promise.all(ready);
    Atomics.store(deadline, 0, process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9)));
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);

    const results = await Promise.all(done);
    const opsPerSecond = results.reduce((sum, r) => sum + (r.seconds > 0 ? r.ops / r.seconds : 0), 0);
    return { opsPerSecond, workers: workerCount };
  } finally {
    // On failure, release any worker still parked in Atomics.wait (deadline 0 => it stops at once).
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
