/**
 * Fraud-signal benchmark: `npm run bench:signals`.
 *
 * Starts a coordinator and three bank nodes on loopback (separate processes, mutual TLS, SQLite), preloads
 * 1 000 000 signals, then measures, against bank-a's REST API (REST -> gRPC -> coordinator, the path users take):
 *  - latency of single queries at a steady offered load of 300 queries/s (open loop: sent on schedule whatever
 *    earlier ones do; latency counted from the scheduled send time);
 *  - maximum throughput of single queries at concurrency 32;
 *  - batch screening (ids/s of one screening job);
 *  - the anchor: the same queries over the same path with the INSECURE plaintext benchmark routes (unkeyed SHA-256
 *    of the identifier, no OPRF): what a consortium without privacy would run.
 * Every query is for an identifier bank-a has not asked about before (no token-cache hits) and that has signals.
 *
 * Preloading: 100 000 phone numbers x 10 signals (bank-b and bank-c; applications and flags spread over 80 days).
 * Member elements are computed in this process with the member key (what the nodes compute, without 1 000 000
 * REST calls), then sent through the real Publish RPC as bank-b and bank-c in batches of 10 000, so the
 * coordinator's token derivation, validation and storage code store them. The plaintext anchor's hashes are
 * preloaded the same way (flagged insecure_plaintext).
 *
 * Last line: {"signals","p50Ms","p99Ms","maxQps","plaintextMaxQps","overheadVsPlaintext","screenIdsPerSecond"}.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startLocalConsortium } from '../examples/local-consortium.js';
import { runClosedLoop, runOpenLoop } from './lib/http-load.js';
import { cpuPerOperation, cpuSnapshot } from './lib/process-cpu.js';
import { loadNodeConfig } from '../platform/config/index.js';
import { loadTlsMaterial } from '../platform/tls/credentials.js';
import { SignalsClient } from '../node/signals/signals-client.js';
import type { SignalSubmission } from '../platform/wire/signals.js';
import { plaintextToken } from '../node/signals/signals-service.js';
import { memberElement } from '../primitives/oprf/fraud-token.js';
import { MemberKey } from '../primitives/oprf/member-key.js';
import { SIGNAL_KINDS } from '../primitives/signals/kinds.js';
import { DAY_MS } from '../primitives/signals/protocol.js';

const IDS = Number(process.env['BENCH_IDS'] ?? 100_000);
const PER_ID = 10;
const RATE = 300;
const LATENCY_SECONDS = Number(process.env['BENCH_LATENCY_SECONDS'] ?? 10);
const THROUGHPUT_SECONDS = Number(process.env['BENCH_THROUGHPUT_SECONDS'] ?? 8);
const CONCURRENCY = 32;
const SCREEN_IDS = Number(process.env['BENCH_SCREEN_IDS'] ?? 20_000);
const BATCH = 10_000;

const phone = (i: number) => `+4477${String(i).padStart(8, '0')}`;
const log = (line: string) => process.stderr.write(`${line}\n`);

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

function post(
  url: string,
  token: string,
  path: string,
  body: unknown,
  method = 'POST',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${url}${path}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function main(): Promise<void> {
  const started = performance.now();
  const consortium = await startLocalConsortium({
    members: ['bank-a', 'bank-b', 'bank-c'],
    env: {
      ACCORD_ALLOW_INSECURE_BENCHMARK: '1',
      ...(process.env['BENCH_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_NODE_OPTIONS'] } : {}),
    },
    configure: (init) => {
      const c = JSON.parse(readFileSync(init.coordinatorConfig, 'utf8'));
      const high = { perSecond: 1_000_000, burst: 10_000_000 };
      c.signals.rateLimits = { evaluations: high, queries: high, perMember: {} };
      // Every measured query is a new identifier for bank-a: the quota is charged (and persisted) on each, as in
      // production, but set high enough not to refuse the benchmark's millions.
      c.signals.quotas = { newElementsPerDay: 1_000_000_000 };
      writeFileSync(init.coordinatorConfig, JSON.stringify(c));
      for (const n of init.nodes) {
        const config = JSON.parse(readFileSync(n.config, 'utf8'));
        config.signals.insecurePlaintextBenchmark = true;
        writeFileSync(n.config, JSON.stringify(config));
      }
    },
  });
  try {
    log(`consortium up in ${Math.round(performance.now() - started)} ms (${consortium.dir})`);
    const a = consortium.nodes['bank-a']!;
    const token = a.tokens.risk;

    // ---- preload
    const km = MemberKey.fromBase64(
      readFileSync(join(consortium.dir, 'bank-b', 'member-key.b64'), 'utf8').trim(),
    );
    const clients = ['bank-b', 'bank-c'].map((m) => {
      const config = loadNodeConfig(consortium.nodes[m]!.configFile);
      return new SignalsClient(
        consortium.coordinatorAddress,
        config.coordinator.serverName,
        loadTlsMaterial(config.tls),
      );
    });
    const now = Date.now();
    const preloadStart = performance.now();
    let stored = 0;
    let pending: Promise<void>[] = [];
    const flush = async (batches: SignalSubmission[][], insecurePlaintext: boolean) => {
      for (let k = 0; k < batches.length; k++) {
        const b = batches[k]!;
        if (b.length === 0) continue;
        pending.push(
          // Up to 80 days back: a historical import, as a consortium loads past signals.
          clients[k]!.publish(b, { insecurePlaintext, historical: true }).then((idsOut) => {
            stored += idsOut.length;
          }),
        );
        batches[k] = [];
      }
      if (pending.length >= 4) {
        await Promise.all(pending);
        pending = [];
      }
    };
    for (const mode of ['oprf', 'plaintext'] as const) {
      let batches: SignalSubmission[][] = [[], []];
      for (let i = 0; i < IDS; i++) {
        const id = phone(i);
        const t =
          mode === 'oprf'
            ? memberElement('phone', id, km)
            : plaintextToken({ idKind: 'phone', normalised: id });
        for (let j = 0; j < PER_ID; j++) {
          const kind = j < 6 ? 'application' : SIGNAL_KINDS[1 + ((i + j) % 3)]!;
          const atMs = now - ((i * 7 + j * 13) % 80) * DAY_MS - (j % 24) * 3_600_000;
          batches[j % 2]!.push({ element: t, kind, atMs });
        }
        if (batches[0]!.length >= BATCH / 2) {
          await flush(batches, mode === 'plaintext');
          batches = [[], []];
        }
        if (i % 20_000 === 0 && i > 0) log(`  preload ${mode}: ${i} ids, ${stored} signals stored`);
      }
      await flush(batches, mode === 'plaintext');
    }
    await Promise.all(pending);
    const preloadSeconds = (performance.now() - preloadStart) / 1000;
    log(
      `preloaded ${stored} signals (${IDS} ids x ${PER_ID}, OPRF and plaintext tokens) in ${preloadSeconds.toFixed(1)} s`,
    );
    for (const c of clients) c.close();
    const signals = stored / 2;

    let nextId = 0;
    const fresh = () => phone(nextId++ % IDS);
    // warm-up (JIT, connections)
    for (let i = 0; i < 200; i++) {
      await post(a.url, token, '/v1/signals/query', { idKind: 'phone', id: fresh() });
      await post(a.url, token, '/v1/signals/insecure-plaintext-benchmark/query', {
        idKind: 'phone',
        id: fresh(),
      });
    }

    // ---- open-loop latency at 300 q/s, from a worker thread with its own heap (see lib/http-load.ts)
    const bodies = Array.from({ length: RATE * LATENCY_SECONDS }, () => ({ idKind: 'phone', id: fresh() }));
    const serving = { 'bank-a node': a.process.pid, coordinator: consortium.coordinator.pid };
    let cpuBefore = cpuSnapshot(serving);
    const { latencies, errors } = await runOpenLoop({
      url: a.url,
      token,
      path: '/v1/signals/query',
      rate: RATE,
      seconds: LATENCY_SECONDS,
      bodies,
    });
    const p50Ms = percentile(latencies, 0.5);
    const p99Ms = percentile(latencies, 0.99);
    const oprfCpu = cpuPerOperation(serving, cpuBefore, RATE * LATENCY_SECONDS);
    cpuBefore = cpuSnapshot(serving);
    // The same open loop on the plaintext anchor: how much of the tail is the platform rather than privacy.
    const plain = await runOpenLoop({
      url: a.url,
      token,
      path: '/v1/signals/insecure-plaintext-benchmark/query',
      rate: RATE,
      seconds: LATENCY_SECONDS,
      bodies: Array.from({ length: RATE * LATENCY_SECONDS }, () => ({ idKind: 'phone', id: fresh() })),
    });
    log(
      `plaintext anchor, same open loop: p50 ${percentile(plain.latencies, 0.5).toFixed(2)} ms, p99 ${percentile(plain.latencies, 0.99).toFixed(2)} ms; CPU per query: ${cpuPerOperation(serving, cpuBefore, RATE * LATENCY_SECONDS)}`,
    );
    log(
      `open loop ${RATE} q/s for ${LATENCY_SECONDS} s: p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms, errors ${errors}; CPU per query: ${oprfCpu}`,
    );

    // ---- max throughput, closed loop, concurrency 32
    const throughput = async (path: string): Promise<number> => {
      const bodies = Array.from({ length: 4_000 * THROUGHPUT_SECONDS }, () => ({
        idKind: 'phone',
        id: fresh(),
      }));
      const { perSecond, errors } = await runClosedLoop({
        url: a.url,
        token,
        path,
        concurrency: CONCURRENCY,
        seconds: THROUGHPUT_SECONDS,
        bodies,
      });
      log(`  ${path}: ${perSecond.toFixed(0)} q/s at concurrency ${CONCURRENCY} (${errors} failed)`);
      return perSecond;
    };
    const maxQps = await throughput('/v1/signals/query');
    const plaintextMaxQps = await throughput('/v1/signals/insecure-plaintext-benchmark/query');

    // ---- batch screening
    const screenIds = Array.from({ length: SCREEN_IDS }, () => fresh());
    const s0 = performance.now();
    const job = JSON.parse(
      (await post(a.url, token, '/v1/signals/screen', { idKind: 'phone', ids: screenIds })).body,
    );
    let state = job;
    let lastPrint = 0;
    while (state.state === 'running') {
      await new Promise((r) => setTimeout(r, 100));
      state = JSON.parse(
        (await post(a.url, token, `/v1/signals/screen/${job.jobId}`, undefined, 'GET')).body,
      );
      if (performance.now() - lastPrint > 1000) {
        lastPrint = performance.now();
        log(`  screening ${state.processed}/${state.total}`);
      }
    }
    const screenSeconds = (performance.now() - s0) / 1000;
    if (state.state !== 'done') throw new Error(`screening failed: ${state.errorCode}`);
    const screenIdsPerSecond = SCREEN_IDS / screenSeconds;
    log(`screened ${SCREEN_IDS} ids in ${screenSeconds.toFixed(2)} s (${state.flagged.length} flagged)`);

    const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
    process.stdout.write(
      `${JSON.stringify({
        signals,
        p50Ms: round(p50Ms),
        p99Ms: round(p99Ms),
        maxQps: round(maxQps, 0),
        plaintextMaxQps: round(plaintextMaxQps, 0),
        overheadVsPlaintext: round(plaintextMaxQps / maxQps),
        screenIdsPerSecond: round(screenIdsPerSecond, 0),
      })}\n`,
    );
  } finally {
    agent.destroy();
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
