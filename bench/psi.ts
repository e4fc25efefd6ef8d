/**
 * `npm run bench:psi -- --n N`: PSI between two nodes through the coordinator, every process on this machine, on
 * N x N synthetic customer ids with 50% overlap; the result is checked against the plaintext intersection. In the
 * same run: the anchors (OpenMined psi.js on min(N, 20 000) each side, and this machine's native X25519 limit with
 * every core busy). Last line: one JSON object with the figures the issue asks for.
 *
 * seconds = protocol time: from POST /v1/psi to the job's `done` (process start-up and data import excluded).
 * efficiency = 4N / seconds / x25519OpsPerSecond: the whole protocol (hashing, checks, serialisation, gRPC, the
 * coordinator) against the bare elliptic-curve limit of the machine.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startLocalConsortium } from '../examples/local-consortium.js';
import { measurePsiJs } from './lib/psijs-anchor.js';
import { peakRssMb } from './lib/process-cpu.js';
import { measureX25519OpsPerSecond } from './lib/x25519-limit.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '200000' }, workers: { type: 'string', default: '0' } },
  allowPositionals: true,
});
const n = Number(values.n);
if (!Number.isInteger(n) || n < 2) throw new Error('--n must be an integer >= 2');

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Bank A holds customers 0..n-1, bank B n/2..3n/2-1: exactly n/2 shared. */
function* csvChunks(from: number, count: number): Generator<string> {
  yield 'customer,segment\n';
  const chunk = 50_000;
  for (let start = from; start < from + count; start += chunk) {
    const rows: string[] = [];
    for (let i = start; i < Math.min(from + count, start + chunk); i++)
      rows.push(`CUST-${String(i).padStart(9, '0')},${i % 7}`);
    yield `${rows.join('\n')}\n`;
  }
}

async function upload(url: string, token: string, from: number, count: number): Promise<void> {
  const chunks = csvChunks(from, count);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(new TextEncoder().encode(next.value));
    },
  });
  const response = await fetch(`${url}/v1/datasets/customers?idColumn=customer&columns=segment:integer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
    body,
    duplex: 'half',
  } as RequestInit);
  if (response.status !== 201) throw new Error(`import failed: ${response.status} ${await response.text()}`);
}

async function main(): Promise<void> {
  log(`anchor: psi.js on ${Math.min(n, 20_000)} x ${Math.min(n, 20_000)} ...`);
  const psijs = await measurePsiJs(Math.min(n, 20_000));
  log(`  ${psijs.elementsPerSecond.toFixed(0)} elements/s`);
  log('anchor: native X25519, one worker per core ...');
  const x25519 = await measureX25519OpsPerSecond({ seconds: 3 });
  log(`  ${x25519.opsPerSecond.toFixed(0)} ops/s on ${x25519.workers} workers`);

  log('starting coordinator and two nodes ...');
  const consortium = await startLocalConsortium({
    members: ['bank-a', 'bank-b'],
    // --workers N sets each node's psi.workers (0 = one per core).
    configure: (init) => {
      for (const node of init.nodes) {
        const config = JSON.parse(readFileSync(node.config, 'utf8'));
        config.psi.workers = Number(values.workers);
        writeFileSync(node.config, JSON.stringify(config, null, 2));
      }
    },
  });
  try {
    const a = consortium.nodes['bank-a']!;
    const b = consortium.nodes['bank-b']!;
    log(`importing ${n} customers into each bank ...`);
    await Promise.all([
      upload(a.url, a.tokens.admin, 0, n),
      upload(b.url, b.tokens.admin, Math.floor(n / 2), n),
    ]);
    log('running PSI ...');
    const started = performance.now();
    const start = await consortium.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'customers',
      mode: 'intersection',
    });
    if (start.status !== 202) throw new Error(`PSI start failed: ${JSON.stringify(start.body)}`);
    let job = start.body;
    let lastLog = 0;
    while (job.state === 'waiting' || job.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      job = (await consortium.api('bank-a', 'risk', 'GET', `/v1/psi/${job.id}`)).body;
      if (performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        log(
          `  ${(job.progress.fraction * 100).toFixed(0)}% (${job.progress.processed}/${job.progress.total})`,
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (job.state !== 'done') throw new Error(`PSI ended ${job.state}: ${JSON.stringify(job.error)}`);
    const expected = n - Math.floor(n / 2);
    if (job.result.size !== expected)
      throw new Error(`wrong intersection: ${job.result.size}, expected ${expected}`);
    // Row keys are CSV lines: bank A's shared customers are n/2..n-1, i.e. lines n/2+2 .. n+1, every one once (the
    // alignment lists them in the session's shared random order).
    const rows: number[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const page = await consortium.api(
        'bank-a',
        'risk',
        'GET',
        `/v1/psi/${job.id}/alignment?offset=${offset}&limit=100000`,
      );
      rows.push(...page.body.rowKeys);
      offset = page.body.next;
    }
    rows.sort((x, y) => x - y);
    if (rows.length !== expected || rows.some((row, i) => row !== Math.floor(n / 2) + 2 + i))
      throw new Error('alignment does not match the plaintext intersection');
    const rss = Math.max(
      peakRssMb(consortium.coordinator.pid),
      peakRssMb(a.process.pid),
      peakRssMb(b.process.pid),
    );
    const elementsPerSecond = (2 * n) / seconds;
    const result = {
      n,
      seconds: Number(seconds.toFixed(2)),
      elementsPerSecond: Math.round(elementsPerSecond),
      peakRssMb: Math.round(rss),
      psijsElementsPerSecond: Math.round(psijs.elementsPerSecond),
      speedupVsPsijs: Number((elementsPerSecond / psijs.elementsPerSecond).toFixed(1)),
      x25519OpsPerSecond: Math.round(x25519.opsPerSecond),
      efficiency: Number(((4 * n) / seconds / x25519.opsPerSecond).toFixed(3)),
    };
    log(`checked: ${job.result.size} shared, as the plaintext intersection says`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await consortium.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
