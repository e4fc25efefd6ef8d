/**
 * Wire <-> domain conversion for the vertical messages of `proto/accord/v1/training.proto` (VerticalCall,
 * VerticalStepRequest, VerticalAcceptance). Domain types: primitives/vertical/protocol.ts. Gradient sums and slots
 * travel as packed little-endian uint64; proto3's absent messages and empty fields stop here.
 */
import { z } from 'zod';
import { memberSchema as member, TRAINING_MAX_PARTIES } from '../../primitives/training/spec.js';
import {
  type BatchId,
  type SignedBoxKey,
  VERTICAL_STAGE,
  type VerticalAcceptance,
  type VerticalCall,
  type VerticalReply,
} from '../../primitives/vertical/protocol.js';
import { decodeWith } from './decode.js';

/** Largest ciphertext a message carries (primitives/he: a BFV ciphertext is 356 392 bytes at its input level). */
export const MAX_CIPHERTEXT_BYTES = 512 * 1024;
/** Most columns a party may have, and most chunks of validation rows (8 192 rows each). */
const MAX_COLUMNS = 4096;
const MAX_CHUNKS = 1024;

const bytes = z.instanceof(Uint8Array);
const signature = bytes.refine((b) => b.length > 0 && b.length <= 80, 'must be a DER ECDSA signature');

const batch = z.object({
  jobId: z.uuid({ version: 'v4' }),
  epoch: z.number().int().min(1).max(1000),
  batch: z.number().int().min(0).max(1_000_000),
  phase: z.enum(['train', 'eval']),
});

const signedBoxKey = z.object({
  member,
  boxKey: bytes.refine((b) => b.length === 32, 'must be 32 bytes'),
  signature,
  certificatePem: z.string().min(1).max(8192),
});

export const verticalAcceptanceSchema = z.object({
  alignedRows: z.number().int().min(1).max(100_000_000),
  columns: z.number().int().min(1).max(MAX_COLUMNS),
  key: signedBoxKey,
});

const box = z
  .object({
    from: member,
    to: member,
    part: z.number().int().min(0),
    parts: z.number().int().min(1).max(MAX_CHUNKS),
    box: bytes.refine((b) => b.length > 0 && b.length <= MAX_CIPHERTEXT_BYTES + 64, 'at most one ciphertext'),
  })
  .refine((b) => b.part < b.parts, 'part must be below parts');

const masked = z
  .object({
    index: z.number().int().min(0),
    count: z.number().int().min(1).max(MAX_COLUMNS),
    ciphertext: bytes.refine((b) => b.length > 0 && b.length <= MAX_CIPHERTEXT_BYTES, 'at most 1 MiB'),
  })
  .refine((m) => m.index < m.count, 'index must be below count');

const u64s = bytes.refine((b) => b.length % 8 === 0, 'whole uint64s');
/** One chunk of decrypted slots: 8 192 uint64. */
const SLOT_CHUNK_BYTES = 8192 * 8;

const call = z.object({
  batch,
  stage: z.enum([
    VERTICAL_STAGE.START,
    VERTICAL_STAGE.PARTIALS,
    VERTICAL_STAGE.RESIDUALS,
    VERTICAL_STAGE.GRADIENTS,
    VERTICAL_STAGE.UPDATE,
    VERTICAL_STAGE.SCORE,
    VERTICAL_STAGE.SCORES,
    VERTICAL_STAGE.PROGRESS,
    VERTICAL_STAGE.ROUND,
  ]),
  heParameterId: z.string().max(64),
  publicKey: bytes.refine((b) => b.length <= 4 * MAX_CIPHERTEXT_BYTES),
  keys: z.array(signedBoxKey).max(TRAINING_MAX_PARTIES),
  boxes: z.array(box).max(TRAINING_MAX_PARTIES * MAX_CHUNKS),
  sums: u64s.refine((b) => b.length <= MAX_COLUMNS * 8),
  slots: z
    .array(bytes.refine((b) => b.length === SLOT_CHUNK_BYTES, 'a chunk is 8 192 uint64'))
    .max(MAX_CHUNKS),
});

const reply = z.object({
  batch,
  stage: z.enum([
    VERTICAL_STAGE.PARTIALS,
    VERTICAL_STAGE.RESIDUALS,
    VERTICAL_STAGE.GRADIENTS,
    VERTICAL_STAGE.SCORE,
    VERTICAL_STAGE.REPORT,
    VERTICAL_STAGE.ROUND,
    VERTICAL_STAGE.FINISH,
  ]),
  box: box.nullish(),
  masked: masked.nullish(),
});

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function u64sOf(b: Uint8Array): BigUint64Array {
  const out = new BigUint64Array(b.length / 8);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < out.length; i++) out[i] = view.getBigUint64(i * 8, true);
  return out;
}
function u64Bytes(v: BigUint64Array): Buffer {
  if (isLittleEndian) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const out = Buffer.alloc(v.byteLength);
  for (let i = 0; i < v.length; i++) out.writeBigUInt64LE(v[i]!, i * 8);
  return out;
}

const keyToProto = (k: SignedBoxKey) => ({
  member: k.member,
  boxKey: k.boxKey,
  signature: k.signature,
  certificatePem: k.certificatePem,
});

const CALL_DEFAULTS = {
  heParameterId: '',
  publicKey: Buffer.alloc(0),
  keys: [],
  boxes: [],
  sums: Buffer.alloc(0),
  slots: [],
};

const missing = (what: string, w: unknown): never => decodeWith(z.never(), what, w);

export const verticalWire = {
  acceptance: {
    toProto: (a: VerticalAcceptance | undefined) =>
      a ? { alignedRows: a.alignedRows, columns: a.columns, key: keyToProto(a.key) } : null,
    fromProto: (w: unknown): VerticalAcceptance | undefined =>
      w == null ? undefined : decodeWith(verticalAcceptanceSchema, 'VerticalAcceptance', w),
  },
  call: {
    toProto(c: VerticalCall): Record<string, unknown> {
      const base = { ...CALL_DEFAULTS, batch: { ...c.batch }, stage: c.stage };
      switch (c.stage) {
        case VERTICAL_STAGE.START:
          return {
            ...base,
            heParameterId: c.heParameterId,
            publicKey: c.publicKey,
            keys: c.keys.map(keyToProto),
          };
        case VERTICAL_STAGE.PARTIALS:
          return base;
        case VERTICAL_STAGE.RESIDUALS:
        case VERTICAL_STAGE.GRADIENTS:
        case VERTICAL_STAGE.SCORE:
        case VERTICAL_STAGE.PROGRESS:
        case VERTICAL_STAGE.ROUND:
          return { ...base, boxes: c.boxes.map((b) => ({ ...b })) };
        case VERTICAL_STAGE.UPDATE:
          return { ...base, sums: u64Bytes(BigUint64Array.from(c.sums)) };
        case VERTICAL_STAGE.SCORES:
          return { ...base, slots: c.slots.map(u64Bytes) };
      }
    },
    fromProto(w: unknown): VerticalCall {
      const c = decodeWith(call, 'VerticalCall', w);
      const b: BatchId = c.batch;
      switch (c.stage) {
        case VERTICAL_STAGE.START:
          return {
            stage: c.stage,
            batch: b,
            heParameterId: c.heParameterId,
            publicKey: c.publicKey,
            keys: c.keys,
          };
        case VERTICAL_STAGE.PARTIALS:
          return { stage: c.stage, batch: b };
        case VERTICAL_STAGE.RESIDUALS:
        case VERTICAL_STAGE.GRADIENTS:
        case VERTICAL_STAGE.SCORE:
        case VERTICAL_STAGE.PROGRESS:
        case VERTICAL_STAGE.ROUND:
          return { stage: c.stage, batch: b, boxes: c.boxes };
        case VERTICAL_STAGE.UPDATE:
          return { stage: c.stage, batch: b, sums: Array.from(u64sOf(c.sums)) };
        case VERTICAL_STAGE.SCORES:
          return { stage: c.stage, batch: b, slots: c.slots.map(u64sOf) };
      }
    },
  },
  reply: {
    toProto(r: VerticalReply): Record<string, unknown> {
      const base = { batch: { ...r.batch }, stage: r.stage, box: null, masked: null };
      switch (r.stage) {
        case VERTICAL_STAGE.PARTIALS:
        case VERTICAL_STAGE.RESIDUALS:
        case VERTICAL_STAGE.REPORT:
        case VERTICAL_STAGE.ROUND:
          return { ...base, box: { ...r.box } };
        case VERTICAL_STAGE.FINISH:
          return base;
        case VERTICAL_STAGE.GRADIENTS:
        case VERTICAL_STAGE.SCORE:
          return { ...base, masked: { ...r.masked } };
      }
    },
    fromProto(w: unknown): VerticalReply {
      const r = decodeWith(reply, 'VerticalStepRequest', w);
      const b: BatchId = r.batch;
      switch (r.stage) {
        case VERTICAL_STAGE.PARTIALS:
        case VERTICAL_STAGE.RESIDUALS:
        case VERTICAL_STAGE.REPORT:
        case VERTICAL_STAGE.ROUND:
          return r.box
            ? { stage: r.stage, batch: b, box: r.box }
            : missing('VerticalStepRequest (no box)', w);
        case VERTICAL_STAGE.FINISH:
          return { stage: r.stage, batch: b };
        case VERTICAL_STAGE.GRADIENTS:
        case VERTICAL_STAGE.SCORE:
          return r.masked
            ? { stage: r.stage, batch: b, masked: r.masked }
            : missing('VerticalStepRequest (no ciphertext)', w);
      }
    },
  },
} as const;
