// Smoke run of the two PSI benchmark anchors: `node --import tsx bench/anchor/try.ts [n]`.
import { availableParallelism, cpus } from 'node:os';
import { measurePsiJs, psiJsVersion } from '../lib/psijs-anchor.js';
import { measureX25519OpsPerSecond } from '../lib/x25519-limit.js';

const n = Number(process.argv[2] ?? 5000);
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, node ${process.version}`,
);

const version = await psiJsVersion();
for (const dataStructure of ['Raw', 'GCS'] as const) {
  const cpu0 = process.cpuUsage();
  const r = await measurePsiJs(n, { dataStructure });
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // psi.js is single-threaded: CPU time well below wall time means another process took the core.
  console.log(
    `psi.js ${version} (${dataStructure}): n=${fmt(r.n)} x ${fmt(r.n)}, ${r.seconds.toFixed(3)} s, ` +
      `${fmt(r.elementsPerSecond)} elements/s (2n/s); process CPU ${cpuSeconds.toFixed(3)} s`,
  );
}

const x = await measureX25519OpsPerSecond();
console.log(
  `x25519 limit: ${fmt(x.opsPerSecond)} ops/s over ${x.workers} workers ` +
    `(${fmt(x.opsPerSecond / x.workers)} ops/s per worker)`,
);
