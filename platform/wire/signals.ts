/**
 * Wire <-> domain conversion for `proto/accord/v1/signals.proto`, used by the coordinator (server) and the node
 * (client). Element and token payloads travel packed (one bytes field, 32 bytes each); their lengths are checked
 * against `count` here. Protocol: shared/oprf/fraud-token.ts and coordinator/signals/signals-service.ts.
 */
import { z } from 'zod';
import type { NewSignal } from '../store/signal-types.js';
import {
  MAX_PUBLISH_BATCH,
  MAX_RPC_BATCH,
  SIGNAL_ID_PATTERN,
  SIGNAL_TOKEN_BYTES,
  type SignalAggregates,
} from '../../shared/signals/protocol.js';
import { decodeWith } from './decode.js';

export const SIGNALS_PROTO = 'signals.proto';
export const SIGNALS_SERVICE = 'Signals';

const ELEMENT = 32;
const bytes = z.instanceof(Uint8Array);
const count = z.number().int().min(1).max(MAX_RPC_BATCH);

/** Concatenates 32-byte values into one Buffer. */
export function pack(values: readonly Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(values.length * ELEMENT);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v.length !== ELEMENT) throw new RangeError('pack: every value must be 32 bytes');
    out.set(v, i * ELEMENT);
  }
  return out;
}

/** Splits a packed Buffer into 32-byte views (no copy). */
export function unpack(packed: Uint8Array): Uint8Array[] {
  const n = packed.length / ELEMENT;
  const out: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = packed.subarray(i * ELEMENT, (i + 1) * ELEMENT);
  return out;
}

const evaluateRequest = z
  .object({ count, blinded: bytes })
  .refine((v) => v.blinded.length === v.count * ELEMENT, { message: 'blinded must hold count × 32 bytes' });
const evaluateResponse = z.object({ evaluated: bytes });
const publishRequest = z.object({
  signals: z
    .array(
      z.object({
        token: bytes.refine((b) => b.length === SIGNAL_TOKEN_BYTES, 'token must be 32 bytes'),
        kind: z.string().max(64),
        atMs: z.number().int(),
      }),
    )
    .min(1)
    .max(MAX_PUBLISH_BATCH),
});
const publishResponse = z.object({ signalIds: z.array(z.string().regex(SIGNAL_ID_PATTERN)) });
const retractRequest = z.object({ signalIds: z.array(z.string().max(64)).min(1).max(MAX_PUBLISH_BATCH) });
const retractResponse = z.object({ retracted: z.number().int().nonnegative() });
const queryRequest = z.object({
  token: bytes.refine((b) => b.length === SIGNAL_TOKEN_BYTES, 'token must be 32 bytes'),
});
const aggregates = z.object({
  applications: z.object({
    d1: z.number().int().nonnegative(),
    d7: z.number().int().nonnegative(),
    d30: z.number().int().nonnegative(),
  }),
  flags: z.array(
    z.object({
      kind: z.string().max(64),
      members: z.number().int().positive(),
      lastSeenMs: z.number().int(),
    }),
  ),
});
const queryResponse = z.object({ aggregates });
const queryBatchRequest = z
  .object({ count, tokens: bytes })
  .refine((v) => v.tokens.length === v.count * ELEMENT, { message: 'tokens must hold count × 32 bytes' });
const queryBatchResponse = z.object({
  hits: z.array(z.object({ index: z.number().int().nonnegative(), aggregates })),
});

export interface QueryHit {
  readonly index: number;
  readonly aggregates: SignalAggregates;
}

const aggregatesToProto = (a: SignalAggregates) => ({
  applications: { ...a.applications },
  flags: a.flags.map((f) => ({ ...f })),
});

export const signalsWire = {
  evaluateRequest: {
    toProto: (blinded: readonly Uint8Array[]) => ({ count: blinded.length, blinded: pack(blinded) }),
    fromProto: (w: unknown): Uint8Array[] =>
      unpack(decodeWith(evaluateRequest, 'EvaluateRequest', w).blinded),
  },
  evaluateResponse: {
    toProto: (evaluated: readonly Uint8Array[]) => ({ evaluated: pack(evaluated) }),
    /** Checks the answer has exactly `expected` elements. */
    fromProto: (w: unknown, expected: number): Uint8Array[] => {
      const { evaluated } = decodeWith(evaluateResponse, 'EvaluateResponse', w);
      if (evaluated.length !== expected * ELEMENT) {
        return decodeWith(
          z.never({ message: `evaluated must hold ${expected} × 32 bytes` }),
          'EvaluateResponse',
          w,
        );
      }
      return unpack(evaluated);
    },
  },
  publishRequest: {
    toProto: (signals: readonly NewSignal[]) => ({
      signals: signals.map((s) => ({ token: Buffer.from(s.token), kind: s.kind, atMs: s.atMs })),
    }),
    fromProto: (w: unknown): NewSignal[] => decodeWith(publishRequest, 'PublishRequest', w).signals,
  },
  publishResponse: {
    toProto: (signalIds: readonly string[]) => ({ signalIds: [...signalIds] }),
    fromProto: (w: unknown): string[] => decodeWith(publishResponse, 'PublishResponse', w).signalIds,
  },
  retractRequest: {
    toProto: (signalIds: readonly string[]) => ({ signalIds: [...signalIds] }),
    fromProto: (w: unknown): string[] => decodeWith(retractRequest, 'RetractRequest', w).signalIds,
  },
  retractResponse: {
    toProto: (retracted: number) => ({ retracted }),
    fromProto: (w: unknown): number => decodeWith(retractResponse, 'RetractResponse', w).retracted,
  },
  queryRequest: {
    toProto: (token: Uint8Array) => ({ token: Buffer.from(token) }),
    fromProto: (w: unknown): Uint8Array => decodeWith(queryRequest, 'QueryRequest', w).token,
  },
  queryResponse: {
    toProto: (a: SignalAggregates) => ({ aggregates: aggregatesToProto(a) }),
    fromProto: (w: unknown): SignalAggregates => decodeWith(queryResponse, 'QueryResponse', w).aggregates,
  },
  queryBatchRequest: {
    toProto: (tokens: readonly Uint8Array[]) => ({ count: tokens.length, tokens: pack(tokens) }),
    fromProto: (w: unknown): Uint8Array[] =>
      unpack(decodeWith(queryBatchRequest, 'QueryBatchRequest', w).tokens),
  },
  queryBatchResponse: {
    toProto: (hits: readonly QueryHit[]) => ({
      hits: hits.map((h) => ({ index: h.index, aggregates: aggregatesToProto(h.aggregates) })),
    }),
    fromProto: (w: unknown): QueryHit[] => decodeWith(queryBatchResponse, 'QueryBatchResponse', w).hits,
  },
} as const;
