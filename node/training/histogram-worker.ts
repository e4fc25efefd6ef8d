/**
 * A worker thread of histogram-pool.ts: its own instance of the histogram suite (primitives/he/histogram.ts, its own
 * WebAssembly memory), computing the encrypted histograms of the features it is given for one node at a time. It
 * holds only what the feature holder's main thread gives it: the label holder's public key, the node's encrypted
 * blocks and the positions of its rows; it answers with the histograms, or the coded error that refused them.
 */
import { parentPort } from 'node:worker_threads';
import type { PublicKeyHandle } from '../../primitives/he/cipher.js';
import { AccordError } from '../../primitives/errors/index.js';
import { createHistogramSuite } from '../../primitives/he/histogram.js';
import type { HistogramTask, HistogramTaskResult } from './histogram-pool.js';

const suite = await createHistogramSuite();
let key: { bytes: Buffer; handle: PublicKeyHandle } | null = null;

function publicKey(bytes: Uint8Array): PublicKeyHandle {
  if (key?.bytes.equals(bytes)) return key.handle;
  key?.handle.delete();
  key = { bytes: Buffer.from(bytes), handle: suite.loadPublicKey(bytes) };
  return key.handle;
}

parentPort!.on('message', (task: HistogramTask) => {
  let result: HistogramTaskResult;
  try {
    const offsets = [0];
    for (const n of task.rowsPerBlock) offsets.push(offsets.at(-1)! + n);
    let outputs: Uint8Array[];
    try {
      outputs = suite.histograms(
        publicKey(task.publicKey),
        task.blocks,
        task.rowsPerBlock,
        (block, feature) => task.positions[feature]!.subarray(offsets[block]!, offsets[block + 1]!),
        task.positions.length,
      );
    } finally {
      suite.releaseBlocks();
    }
    result = { id: task.id, outputs };
  } catch (err) {
    result =
      err instanceof AccordError
        ? { id: task.id, error: { code: err.code, params: err.params } }
        : { id: task.id, error: { code: 'ACCORD_INTERNAL', params: {}, message: (err as Error).message } };
  }
  parentPort!.postMessage(
    result,
    'outputs' in result ? result.outputs.map((o) => o.buffer as ArrayBuffer) : [],
  );
});
parentPort!.postMessage({ ready: true });
