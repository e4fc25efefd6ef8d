/**
 * Worker-thread side of `pool.ts`: runs the PSI and fraud-token primitives on one chunk at a time. Protocol and
 * what each party learns: see `primitives/psi/hash-to-curve.ts`. The secret arrives as raw bytes (a KeyObject cannot cross threads cheaply)
 * and is wiped as soon as it is a KeyObject again.
 */
import { parentPort } from 'node:worker_threads';
import { AccordError } from '../../primitives/errors/index.js';
import { blind } from '../../primitives/psi/blinding.js';
import { hashToCurveBatch } from '../../primitives/psi/hash-to-curve.js';
import { CoordinatorKey } from '../../primitives/oprf/coordinator-key.js';
import { memberElementBatch, tokenOf } from '../../primitives/oprf/fraud-token.js';
import { MemberKey } from '../../primitives/oprf/member-key.js';
import { psiKeyFromSecret } from '../../primitives/psi/psi-key.js';
import { validatePoints } from '../../primitives/psi/validate-points.js';
import { ownedCopy, type WorkerReply, type WorkerRequest, type WorkerTask } from './protocol.js';

function keyOf(secret: Uint8Array) {
  try {
    return psiKeyFromSecret(secret);
  } finally {
    secret.fill(0);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function run(task: WorkerTask): Uint8Array | null {
  switch (task.op) {
    case 'hashAndBlind':
      return blind(keyOf(task.secret), hashToCurveBatch(task.ids, task.kind, task.jobDomain));
    case 'reblind':
      return blind(keyOf(task.secret), asBuffer(task.points));
    case 'validateAndReblind': {
      const points = asBuffer(task.points);
      validatePoints(points, points.length / 32, task.indexBase);
      return blind(keyOf(task.secret), points);
    }
    case 'memberElements': {
      const key = MemberKey.fromWorkerBytes(task.secret);
      task.secret.fill(0);
      const elements = memberElementBatch(
        task.ids.map((normalisedId, i) => ({ kind: task.kinds[i]!, normalisedId })),
        key,
      );
      return Buffer.concat(elements);
    }
    case 'signalTokens': {
      const key = CoordinatorKey.fromWorkerBytes(task.secret);
      task.secret.fill(0);
      const tokens: Uint8Array[] = [];
      for (let i = 0; i < task.points.length / 32; i++) {
        tokens.push(tokenOf(key, task.points.subarray(i * 32, i * 32 + 32), undefined, task.indexBase + i));
      }
      return Buffer.concat(tokens);
    }
  }
}

const port = parentPort;
if (!port) throw new Error('crypto-workers/worker.ts must be started as a worker thread');

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const out = run(req.task);
    const result = out === null ? null : ownedCopy(out);
    if (result) transfer.push(result.buffer as ArrayBuffer);
    reply = { taskId: req.taskId, ok: true, result };
  } catch (err) {
    reply =
      err instanceof AccordError
        ? { taskId: req.taskId, ok: false, code: err.code, params: err.params }
        : { taskId: req.taskId, ok: false, code: 'ACCORD_INTERNAL', params: {}, detail: String(err) };
  }
  port.postMessage(reply, transfer);
});
