/**
 * HTTP load generators in their own worker thread, so the benchmark's other work (the preload's garbage) cannot pause
 * them and inflate what they report:
 *  - open loop (`runOpenLoop`): requests leave on schedule (`rate` per second) whether or not earlier ones have
 *    returned, and each latency is measured from its scheduled time;
 *  - closed loop (`runClosedLoop`): `concurrency` clients each send their next request when the last one returns;
 *    reports completed requests per second.
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

export interface ClosedLoopOptions {
  readonly url: string;
  readonly token: string;
  readonly path: string;
  readonly concurrency: number;
  readonly seconds: number;
  /** JSON bodies, used in order (cycled). */
  readonly bodies: readonly unknown[];
}

export interface ClosedLoopResult {
  /** Requests answered 200 per second. */
  readonly perSecond: number;
  readonly errors: number;
}

export interface OpenLoopResult {
  /** Latencies in ms, sorted ascending. */
  readonly latencies: number[];
  readonly errors: number;
}

// Plain JS (eval'd): a worker started from TypeScript sources would need the tsx loader registered again.
// Like wrk, it writes pre-serialised HTTP/1.1 requests on keep-alive sockets and reads only the status line and
// Content-Length: Node's http client costs about 0.6 ms of CPU per request, which on a 2-core machine would be
// taken from the processes under test.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { mode, url, token, path, rate, concurrency, seconds, bodies } = workerData;
const target = new URL(url + path);
const requests = bodies.map((body) => {
  const payload = Buffer.from(JSON.stringify(body));
  const head = 'POST ' + target.pathname + ' HTTP/1.1\\r\\nHost: ' + target.host + '\\r\\nAuthorization: Bearer ' + token +
    '\\r\\nContent-Type: application/json\\r\\nContent-Length: ' + payload.length + '\\r\\n\\r\\n';
  return Buffer.concat([Buffer.from(head), payload]);
});
const idle = [];
const HEADER_END = Buffer.from('\\r\\n\\r\\n');
function connection() {
  const socket = net.connect({ host: target.hostname, port: Number(target.port) });
  socket.setNoDelay(true);
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    const end = buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = buffered.subarray(0, end).toString('latin1');
    const length = Number(/content-length: *(\\d+)/i.exec(head)?.[1] ?? NaN);
    if (!(length >= 0)) return finish(socket, 0);
    if (buffered.length < end + 4 + length) return;
    buffered = Buffer.alloc(0);
    finish(socket, Number(head.slice(9, 12)));
  });
  socket.on('error', () => finish(socket, 0));
  socket.on('close', () => {
    const at = idle.indexOf(socket);
    if (at >= 0) idle.splice(at, 1);
    if (socket.done) finish(socket, 0);
  });
  return socket;
}
function finish(socket, status) {
  const done = socket.done;
  socket.done = null;
  if (status !== 0) idle.push(socket);
  else socket.destroy();
  if (done) done(status);
}
function post(request) {
  return new Promise((resolve) => {
    const socket = idle.pop() ?? connection();
    socket.done = resolve;
    socket.write(request);
  });
}
async function openLoop() {
  const total = Math.round(rate * seconds);
  const latencies = [];
  let errors = 0;
  // Open the keep-alive connections before the clock starts, as a long-running client would have them.
  await Promise.all(Array.from({ length: 16 }, (_, k) => post(requests[k % requests.length])));
  const t0 = performance.now() + 20;
  const inflight = [];
  for (let k = 0; k < total; k++) {
    const scheduled = t0 + (k * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(post(requests[(k + 16) % requests.length]).then((status) => {
      if (status !== 200) errors++;
      latencies.push(performance.now() - scheduled);
    }));
  }
  await Promise.all(inflight);
  latencies.sort((a, b) => a - b);
  return { latencies, errors };
}
async function closedLoop() {
  let next = 0;
  let done = 0;
  let errors = 0;
  const begin = performance.now();
  const end = begin + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const status = await post(requests[next++ % requests.length]);
      if (status === 200) done++;
      else errors++;
    }
  }));
  return { perSecond: done / ((performance.now() - begin) / 1000), errors };
}
(async () => {
  const result = mode === 'open' ? await openLoop() : await closedLoop();
  for (const socket of idle) socket.destroy();
  parentPort.postMessage(result);
})();`;

function inWorker<T>(workerData: { url: string; mode: string }): Promise<T> {
  // The raw client speaks plain HTTP only: pointed at an https:// node it would send the bearer token in clear.
  if (!workerData.url.startsWith('http://'))
    return Promise.reject(new Error(`http-load speaks plain HTTP to loopback only, not ${workerData.url}`));
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.once('message', (result: T) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  return inWorker({ ...options, mode: 'open' });
}

export function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  return inWorker({ ...options, mode: 'closed' });
}
