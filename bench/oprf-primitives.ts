/**
 * Throughput of the fraud-token PRF primitives, per ristretto255 backend.
 *
 *   node --import tsx bench/oprf-primitives.ts [--seconds 1]
 *
 * Prints ops/s and µs/op for memberElement (node: HashToGroup + one scalar multiplication), tokenOf (coordinator:
 * validate + one scalar multiplication + SHA-512), tokenBatch, the whole query (memberElement + tokenOf, i.e. the
 * CPU one fraud-signal query costs across both sides, single-threaded) and its p50/p99, plus the building blocks
 * (hashToGroup, one scalar multiplication). Single-threaded, one core.
 */
import { CoordinatorKey } from '../primitives/oprf/coordinator-key.js';
import { memberElement, tokenBatch, tokenOf } from '../primitives/oprf/fraud-token.js';
import { MemberKey } from '../primitives/oprf/member-key.js';
import { availableBackends, type RistrettoBackend } from '../primitives/oprf/ristretto.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg >= 0 ? Number(process.argv[secondsArg + 1]) : 1;

interface Result {
  readonly opsPerSec: number;
  readonly usPerOp: number;
}

/** Runs `fn` (which does `perCall` operations) repeatedly for SECONDS after a short warm-up. */
function measure(fn: (i: number) => void, perCall = 1): Result {
  const warmUntil = performance.now() + Math.min(300, SECONDS * 300);
  let i = 0;
  while (performance.now() < warmUntil) fn(i++);
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let calls = 0;
  while (performance.now() < end) {
    for (let j = 0; j < 16; j++) fn(i++);
    calls += 16;
  }
  const elapsed = (performance.now() - start) / 1000;
  const ops = (calls * perCall) / elapsed;
  return { opsPerSec: ops, usPerOp: 1e6 / ops };
}

function percentiles(fn: (i: number) => void, n: number): { p50: number; p99: number } {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn(i);
    t.push((performance.now() - s) * 1000);
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(n * 0.5)]!, p99: t[Math.floor(n * 0.99)]! };
}

const fmt = (r: Result) =>
  `${Math.round(r.opsPerSec).toString().padStart(8)} ops/s  ${r.usPerOp.toFixed(1).padStart(8)} µs/op`;

function bench(backend: RistrettoBackend): void {
  const km = MemberKey.generate(backend);
  const kc = CoordinatorKey.generate(backend);
  const ids = Array.from({ length: 1024 }, (_, i) => `+4477009${String(i).padStart(5, '0')}`);
  const elements = ids.map((id) => memberElement('phone', id, km, backend));
  const enc = new TextEncoder();
  const dst = enc.encode('HashToGroup-bench');
  const msgs = ids.map((id) => enc.encode(id));
  const scalar = backend.randomScalar();

  console.log(`\n${backend.name}`);
  console.log(`  hashToGroup            ${fmt(measure((i) => backend.hashToGroup(msgs[i & 1023]!, dst)))}`);
  console.log(
    `  scalarMult             ${fmt(measure((i) => backend.scalarMult(scalar, elements[i & 1023]!, 'element')))}`,
  );
  console.log(
    `  memberElement (node)   ${fmt(measure((i) => memberElement('phone', ids[i & 1023]!, km, backend)))}`,
  );
  console.log(`  tokenOf       (coord.) ${fmt(measure((i) => tokenOf(kc, elements[i & 1023]!, backend)))}`);
  const batch = elements.slice(0, 10);
  console.log(
    `  tokenBatch(10)         ${fmt(measure(() => tokenBatch(kc, batch, backend), 10))}  (per element)`,
  );
  const query = (i: number) => tokenOf(kc, memberElement('phone', ids[i & 1023]!, km, backend), backend);
  const q = measure(query);
  const p = percentiles(query, Math.max(500, Math.round(q.opsPerSec * SECONDS)));
  console.log(`  whole query            ${fmt(q)}  p50 ${p.p50.toFixed(0)} µs  p99 ${p.p99.toFixed(0)} µs`);
}

console.log(`fraud-token PRF primitives — Node ${process.version}, ${SECONDS}s per measurement, one thread`);
for (const backend of availableBackends()) bench(backend);
