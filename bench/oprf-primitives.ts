/**
 * Throughput of the fraud-token OPRF primitives, per ristretto255 backend.
 *
 *   node --import tsx bench/oprf-primitives.ts [--seconds 1]
 *
 * Prints ops/s and µs/op for blind (node), evaluate (coordinator), finalize (node), the whole query
 * (blind + evaluate + finalize, i.e. the CPU one fraud-signal query costs across both sides, single-threaded)
 * and its p50/p99, plus the building blocks (hashToGroup, one scalar multiplication). Single-threaded, one core.
 */
import { CoordinatorKey } from '../shared/oprf/coordinator-key.js';
import { blind, evaluate, evaluateBatch, finalize } from '../shared/oprf/fraud-token.js';
import { MemberKey } from '../shared/oprf/member-key.js';
import { availableBackends, type RistrettoBackend } from '../shared/oprf/ristretto.js';

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
  const pre = ids.map((id) => blind('phone', id, km, backend));
  const evaluated = pre.map((b) => evaluate(kc, b.blinded, backend));
  const enc = new TextEncoder();
  const dst = enc.encode('HashToGroup-bench');
  const msgs = ids.map((id) => enc.encode(id));
  const scalar = backend.randomScalar();
  const points = pre.map((b) => b.blinded);

  console.log(`\n${backend.name}`);
  console.log(`  hashToGroup       ${fmt(measure((i) => backend.hashToGroup(msgs[i & 1023]!, dst)))}`);
  console.log(
    `  scalarMult        ${fmt(measure((i) => backend.scalarMult(scalar, points[i & 1023]!, 'element')))}`,
  );
  console.log(`  blind    (node)   ${fmt(measure((i) => blind('phone', ids[i & 1023]!, km, backend)))}`);
  console.log(`  evaluate (coord.) ${fmt(measure((i) => evaluate(kc, points[i & 1023]!, backend)))}`);
  console.log(
    `  finalize (node)   ${fmt(measure((i) => finalize(pre[i & 1023]!.state, evaluated[i & 1023]!, backend)))}`,
  );
  const batch = points.slice(0, 10);
  console.log(
    `  evaluateBatch(10) ${fmt(measure(() => evaluateBatch(kc, batch, backend), 10))}  (per element)`,
  );
  const query = (i: number) => {
    const b = blind('phone', ids[i & 1023]!, km, backend);
    finalize(b.state, evaluate(kc, b.blinded, backend), backend);
  };
  const q = measure(query);
  const p = percentiles(query, Math.max(500, Math.round(q.opsPerSec * SECONDS)));
  console.log(`  whole query       ${fmt(q)}  p50 ${p.p50.toFixed(0)} µs  p99 ${p.p99.toFixed(0)} µs`);
}

console.log(`fraud-token OPRF primitives — Node ${process.version}, ${SECONDS}s per measurement, one thread`);
for (const backend of availableBackends()) bench(backend);
