/**
 * Messages between `pool.ts` and `worker.ts`. Buffers travel as transferred ArrayBuffers (moved, not
 * copied); errors travel as registry code + params so that they are rebuilt as the same AccordError.
 */
import type { IdKind } from '../../primitives/identity/normalise.js';

export type WorkerTask =
  | {
      readonly op: 'hashAndBlind';
      readonly secret: Uint8Array;
      readonly ids: string[];
      readonly kind: IdKind;
      readonly jobDomain: string;
    }
  | { readonly op: 'reblind'; readonly secret: Uint8Array; readonly points: Uint8Array }
  | {
      readonly op: 'validateAndReblind';
      readonly secret: Uint8Array;
      readonly points: Uint8Array;
      readonly indexBase: number;
    }
  | {
      /** Fraud-signal step 1 (primitives/oprf/fraud-token.ts), so a node keeps one pool of crypto workers. */
      readonly op: 'memberElements';
      readonly secret: Uint8Array;
      readonly kinds: string[];
      readonly ids: string[];
    }
  | {
      /** Fraud-signal step 2 at the coordinator: tokens of member elements. */
      readonly op: 'signalTokens';
      readonly secret: Uint8Array;
      readonly points: Uint8Array;
      readonly indexBase: number;
    };

export type WorkerRequest = { readonly taskId: number; readonly task: WorkerTask };

export type WorkerReply =
  | { readonly taskId: number; readonly ok: true; readonly result: Uint8Array | null }
  | {
      readonly taskId: number;
      readonly ok: false;
      readonly code: string;
      readonly params: Record<string, string | number>;
      /** Only for non-Accord errors, for the local log; never forwarded to a peer. */
      readonly detail?: string;
    };

/** A Uint8Array that owns its whole ArrayBuffer can be transferred; a view into a shared pool slab cannot. */
export function ownedCopy(bytes: Uint8Array): Uint8Array {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes;
  }
  return new Uint8Array(bytes);
}
