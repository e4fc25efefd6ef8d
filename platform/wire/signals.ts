/**
 * Wire <-> domain conversion for `proto/accord/v1/signals.proto`, used by the coordinator (server) and the node
 * (client). Element and token payloads travel packed (one bytes field, 32 bytes each); their lengths are checked
 * against `count` here. Protocol: primitives/oprf/fraud-token.ts and coordinator/signals/signals-service.ts.
 */
import { z } from 'zod';
import {
  MAX_PUBLISH_BATCH,
  MAX_RPC_BATCH,
  SIGNAL_ID_PATTERN,
  SIGNAL_TOKEN_BYTES,
  type SignalAggregates,
} from '../../primitives/signals/protocol.js';
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

const element = bytes.refine((b) => b.length === SIGNAL_TOKEN_BYTES, 'element must be 32 bytes');
const publishRequest = z.object({
  signals: z
    .array(z.object({ element, kind: z.string().max(64), atMs: z.number().int() }))
    .min(1)
    .max(MAX_PUBLISH_BATCH),
  insecurePlaintext: z.boolean(),
  historical: z.boolean(),
});
const publishResponse = z.object({ signalIds: z.array(z.string().regex(SIGNAL_ID_PATTERN)) });
const retractRequest = z.object({ signalIds: z.array(z.string().max(64)).min(1).max(MAX_PUBLISH_BATCH) });
const retractResponse = z.object({ retracted: z.number().int().nonnegative() });
const queryRequest = z.object({ element, insecurePlaintext: z.boolean() });
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
  .object({ count, elements: bytes, insecurePlaintext: z.boolean() })
  .refine((v) => v.elements.length === v.count * ELEMENT, { message: 'elements must hold count × 32 bytes' });
const queryBatchResponse = z.object({
  hits: z.array(z.object({ index: z.number().int().nonnegative(), aggregates })),
});

/** A signal as a member sends it: the member element of its identifier, not yet a token. */
export interface SignalSubmission {
  readonly element: Uint8Array;
  readonly kind: string;
  readonly atMs: number;
}

/** Member elements, or (benchmark only) plaintext hashes to use as tokens as they are. */
export interface ElementBatch<T> {
  readonly items: T;
  readonly insecurePlaintext: boolean;
}

/** A publish: signals, and whether they are a historical import rather than live ones. */
export interface PublishBatch extends ElementBatch<readonly SignalSubmission[]> {
  readonly historical: boolean;
}

export interface QueryHit {
  readonly index: number;
  readonly aggregates: SignalAggregates;
}

const aggregatesToProto = (a: SignalAggregates) => ({
  applications: { ...a.applications },
  flags: a.flags.map((f) => ({ ...f })),
});

export const signalsWire = {
  publishRequest: {
    toProto: (r: PublishBatch) => ({
      signals: r.items.map((s) => ({ element: Buffer.from(s.element), kind: s.kind, atMs: s.atMs })),
      insecurePlaintext: r.insecurePlaintext,
      historical: r.historical,
    }),
    fromProto: (w: unknown): PublishBatch => {
      const r = decodeWith(publishRequest, 'PublishRequest', w);
      return { items: r.signals, insecurePlaintext: r.insecurePlaintext, historical: r.historical };
    },
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
    toProto: (r: ElementBatch<Uint8Array>) => ({
      element: Buffer.from(r.items),
      insecurePlaintext: r.insecurePlaintext,
    }),
    fromProto: (w: unknown): ElementBatch<Uint8Array> => {
      const r = decodeWith(queryRequest, 'QueryRequest', w);
      return { items: r.element, insecurePlaintext: r.insecurePlaintext };
    },
  },
  queryResponse: {
    toProto: (a: SignalAggregates) => ({ aggregates: aggregatesToProto(a) }),
    fromProto: (w: unknown): SignalAggregates => decodeWith(queryResponse, 'QueryResponse', w).aggregates,
  },
  queryBatchRequest: {
    toProto: (r: ElementBatch<readonly Uint8Array[]>) => ({
      count: r.items.length,
      elements: pack(r.items),
      insecurePlaintext: r.insecurePlaintext,
    }),
    fromProto: (w: unknown): ElementBatch<Uint8Array[]> => {
      const r = decodeWith(queryBatchRequest, 'QueryBatchRequest', w);
      return { items: unpack(r.elements), insecurePlaintext: r.insecurePlaintext };
    },
  },
  queryBatchResponse: {
    toProto: (hits: readonly QueryHit[]) => ({
      hits: hits.map((h) => ({ index: h.index, aggregates: aggregatesToProto(h.aggregates) })),
    }),
    fromProto: (w: unknown): QueryHit[] => decodeWith(queryBatchResponse, 'QueryBatchResponse', w).hits,
  },
} as const;
