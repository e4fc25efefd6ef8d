/**
 * An open-loop load generator in its own worker thread: requests leave on schedule (`rate` per second) whether or not
 * earlier ones have returned, and each latency is measured from its scheduled time. Running it in a worker gives it
 * its own heap and event loop, so the benchmark's other work (the preload's garbage) cannot pause it and inflate
 * the latencies it reports.
 */
import { Worker } from 'node:worker_threads';

export interface OpenLoopOptions {
  readonly url: string;
  readonly token: string;
  readonly path: string;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
  /** JSON bodies, used in order (cycled). */
  readonly bodies: readonly unknown[];
}

export interface OpenLoopResult {
  /** Latencies in ms, sorted ascending. */
  readonly latencies: number[];
  readonly errors: number;
}

// Plain JS (eval'd): a worker started from TypeScript sources would need the tsx loader registered again.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, token, path, rate, seconds, bodies } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(url + path);
function post(body) {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); res.on('error', () => resolve(0)); });
    req.on('error', () => resolve(0));
    req.end(payload);
  });
}
(async () => {
  const total = Math.round(rate * seconds);
  const latencies = [];
  let errors = 0;
  const t0 = performance.now() + 20;
  const inflight = [];
  for (let k = 0; k < total; k++) {
    const scheduled = t0 + (k * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(post(bodies[k % bodies.length]).then((status) => {
      if (status !== 200) errors++;
      latencies.push(performance.now() - scheduled);
    }));
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  parentPort.postMessage({ latencies, errors });
})();
`;

export function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: options });
    worker.once('message', (result: OpenLoopResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
