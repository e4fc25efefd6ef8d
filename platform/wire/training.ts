/**
 * Wire <-> domain conversion for `proto/accord/v1/training.proto`, used by both the coordinator and the node. The
 * domain types are those of `primitives/training/job-protocol.ts`; proto3's sentinels ("" for absent strings, empty
 * repeated fields, an unset oneof) stop here. The spec arrives as JSON and is validated by the one spec schema; masked
 * vectors travel as packed little-endian uint32 lanes and sums as packed little-endian float64s.
 */
import { z } from 'zod';
import { isErrorCode } from '../../primitives/errors/index.js';
import { SECAGG_STAGE, SECAGG_STAGES, type SecAggStage } from '../../primitives/secagg/stages.js';
import {
  AGGREGATION_TASKS,
  type AggregateResult,
  type AggregationId,
  aggregationKey,
  type SignedKeys,
  type StepCall,
  type StepReply,
  TRAINING_OUTCOME,
  type TrainingAnswer,
  type TrainingCancel,
  type TrainingEnd,
  type TrainingEvent,
  type TrainingOpen,
} from '../../primitives/training/job-protocol.js';
import {
  canonicalJson,
  memberSchema as member,
  TRAINING_MAX_PARTIES,
  trainingSpecSchema,
} from '../../primitives/training/spec.js';
import { errorPayload, fromErrorPayload } from '../grpc/errors.js';
import { decodeWith } from './decode.js';
import { verticalWire } from './vertical.js';

export const TRAINING_PROTO = 'training.proto';
export const TRAINING_SERVICE = 'Training';

/** Largest masked vector (lanes): a 4M-parameter model, or an eval histogram, with room to spare. */
export const MAX_VECTOR_LANES = 1 << 23;

const jobId = z.uuid({ version: 'v4' });
const errorCode = z.string().max(64).refine(isErrorCode, 'must be a registry error code');
const bytes = z.instanceof(Uint8Array);
const key32 = bytes.refine((b) => b.length === 32, 'must be 32 bytes');
const members = z.array(member).max(TRAINING_MAX_PARTIES);
const optional = <T extends z.ZodType>(schema: T) =>
  z.union([z.literal('').transform(() => undefined), schema]);

const specJson = z
  .string()
  .max(256_000)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'spec_json is not JSON' });
      return z.NEVER;
    }
  });
const spec = specJson.pipe(trainingSpecSchema);

const aggregation = z.object({
  jobId,
  task: z.enum(AGGREGATION_TASKS),
  round: z.number().int().min(0).max(1000),
});

const signedKeys = z.object({
  member,
  encryptionKey: key32,
  maskKey: key32,
  selfMaskCommitment: key32,
  signature: bytes.refine((b) => b.length > 0 && b.length <= 80, 'must be a DER ECDSA signature'),
  certificatePem: z.string().min(1).max(8192),
});

const shareBox = z.object({ from: member, to: member, box: bytes.refine((b) => b.length <= 4096) });
const signature = bytes.refine((b) => b.length > 0 && b.length <= 80, 'must be a DER ECDSA signature');
const memberSignature = z.object({ member, signature });
const ownedShare = z.object({ owner: member, share: bytes.refine((b) => b.length > 0 && b.length <= 256) });
const stage = z.enum(SECAGG_STAGES as [SecAggStage, ...SecAggStage[]]);

const stepCall = z.object({
  aggregation,
  stage,
  members,
  keys: z.array(signedKeys).max(TRAINING_MAX_PARTIES),
  boxes: z.array(shareBox).max(TRAINING_MAX_PARTIES),
  survivors: members,
  dropped: members,
  signatures: z.array(memberSignature).max(TRAINING_MAX_PARTIES),
});

const stepReply = z.object({
  aggregation,
  stage,
  keys: signedKeys.nullish(),
  boxes: z.array(shareBox).max(TRAINING_MAX_PARTIES),
  masked: bytes.refine((b) => b.length % 4 === 0 && b.length <= MAX_VECTOR_LANES * 4, 'whole uint32 lanes'),
  signature: bytes.refine((b) => b.length <= 80),
  selfMaskShares: z.array(ownedShare).max(TRAINING_MAX_PARTIES),
  maskKeyShares: z.array(ownedShare).max(TRAINING_MAX_PARTIES),
});

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);

/** A copy as an aligned typed array (the wire buffer may be reused and is not necessarily aligned). */
function lanesOf(b: Uint8Array): Uint32Array {
  const out = new Uint32Array(b.length / 4);
  if (isLittleEndian) new Uint8Array(out.buffer).set(b);
  else for (let i = 0; i < out.length; i++) out[i] = asBuffer(b).readUInt32LE(i * 4);
  return out;
}
function float64sOf(b: Uint8Array): Float64Array {
  const out = new Float64Array(b.length / 8);
  if (isLittleEndian) new Uint8Array(out.buffer).set(b);
  else for (let i = 0; i < out.length; i++) out[i] = asBuffer(b).readDoubleLE(i * 8);
  return out;
}
function bytesOf(v: Uint32Array | Float64Array): Buffer {
  if (isLittleEndian) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const out = Buffer.alloc(v.byteLength);
  for (let i = 0; i < v.length; i++) {
    if (v instanceof Float64Array) out.writeDoubleLE(v[i]!, i * 8);
    else out.writeUInt32LE(v[i]!, i * 4);
  }
  return out;
}

/** The signed keys of the wire, with the session and round of the aggregation they were sent for. */
function keysFromProto(agg: AggregationId, k: z.infer<typeof signedKeys>): SignedKeys {
  return { ...k, session: aggregationKey(agg), round: agg.round };
}
const keysToProto = (k: SignedKeys) => ({
  member: k.member,
  encryptionKey: k.encryptionKey,
  maskKey: k.maskKey,
  selfMaskCommitment: k.selfMaskCommitment,
  signature: k.signature,
  certificatePem: k.certificatePem,
});

function stepCallFromProto(w: unknown): StepCall {
  const s = decodeWith(stepCall, 'StepCall', w);
  const aggregation: AggregationId = s.aggregation;
  switch (s.stage) {
    case SECAGG_STAGE.SETUP:
      return { stage: s.stage, aggregation, members: s.members };
    case SECAGG_STAGE.SHARE_KEYS:
      return { stage: s.stage, aggregation, keys: s.keys.map((k) => keysFromProto(aggregation, k)) };
    case SECAGG_STAGE.COLLECT_MASKED_VECTORS:
      return { stage: s.stage, aggregation, boxes: s.boxes };
    case SECAGG_STAGE.CONSISTENCY_CHECK:
      return { stage: s.stage, aggregation, survivors: s.survivors };
    case SECAGG_STAGE.UNMASK:
      return {
        stage: s.stage,
        aggregation,
        survivors: s.survivors,
        dropped: s.dropped,
        signatures: s.signatures,
      };
  }
}

/** proto3's defaults for every field a stage leaves out, so that toProto's output decodes as is (STYLE §6). */
const STEP_CALL_DEFAULTS = { members: [], keys: [], boxes: [], survivors: [], dropped: [], signatures: [] };
const STEP_REPLY_DEFAULTS = {
  keys: null,
  boxes: [],
  masked: Buffer.alloc(0),
  signature: Buffer.alloc(0),
  selfMaskShares: [],
  maskKeyShares: [],
};

function stepCallToProto(s: StepCall): Record<string, unknown> {
  const base = { ...STEP_CALL_DEFAULTS, aggregation: s.aggregation, stage: s.stage };
  switch (s.stage) {
    case SECAGG_STAGE.SETUP:
      return { ...base, members: [...s.members] };
    case SECAGG_STAGE.SHARE_KEYS:
      return { ...base, keys: s.keys.map(keysToProto) };
    case SECAGG_STAGE.COLLECT_MASKED_VECTORS:
      return { ...base, boxes: [...s.boxes] };
    case SECAGG_STAGE.CONSISTENCY_CHECK:
      return { ...base, survivors: [...s.survivors] };
    case SECAGG_STAGE.UNMASK:
      return { ...base, survivors: [...s.survivors], dropped: [...s.dropped], signatures: [...s.signatures] };
  }
}

function stepReplyFromProto(w: unknown): StepReply {
  const s = decodeWith(stepReply, 'StepRequest', w);
  const aggregation: AggregationId = s.aggregation;
  switch (s.stage) {
    case SECAGG_STAGE.SETUP:
      if (!s.keys) return decodeWith(z.never(), 'StepRequest (setup without keys)', w);
      return { stage: s.stage, aggregation, keys: keysFromProto(aggregation, s.keys) };
    case SECAGG_STAGE.SHARE_KEYS:
      return { stage: s.stage, aggregation, boxes: s.boxes };
    case SECAGG_STAGE.COLLECT_MASKED_VECTORS:
      return { stage: s.stage, aggregation, masked: lanesOf(s.masked) };
    case SECAGG_STAGE.CONSISTENCY_CHECK:
      if (s.signature.length === 0) return decodeWith(z.never(), 'StepRequest (no signature)', w);
      return { stage: s.stage, aggregation, signature: s.signature };
    case SECAGG_STAGE.UNMASK:
      return {
        stage: s.stage,
        aggregation,
        selfMaskShares: s.selfMaskShares,
        maskKeyShares: s.maskKeyShares,
      };
  }
}

function stepReplyToProto(s: StepReply): Record<string, unknown> {
  const base = { ...STEP_REPLY_DEFAULTS, aggregation: s.aggregation, stage: s.stage };
  switch (s.stage) {
    case SECAGG_STAGE.SETUP:
      return { ...base, keys: keysToProto(s.keys) };
    case SECAGG_STAGE.SHARE_KEYS:
      return { ...base, boxes: [...s.boxes] };
    case SECAGG_STAGE.COLLECT_MASKED_VECTORS:
      return { ...base, masked: bytesOf(s.masked) };
    case SECAGG_STAGE.CONSISTENCY_CHECK:
      return { ...base, signature: s.signature };
    case SECAGG_STAGE.UNMASK:
      return { ...base, selfMaskShares: [...s.selfMaskShares], maskKeyShares: [...s.maskKeyShares] };
  }
}

const invitation = z.object({
  jobId,
  initiator: member,
  participants: z.array(member).min(2).max(TRAINING_MAX_PARTIES),
  specJson: spec,
  dataset: optional(z.string().max(64)),
});

const aggregate = z.object({
  aggregation,
  sum: bytes.refine((b) => b.length % 8 === 0 && b.length <= MAX_VECTOR_LANES * 8, 'whole float64s'),
  contributors: members,
});

const fingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex');

const end = z
  .object({
    jobId,
    outcome: z.enum([TRAINING_OUTCOME.DONE, TRAINING_OUTCOME.FAILED, TRAINING_OUTCOME.CANCELLED]),
    error: bytes,
    by: optional(member),
    fingerprints: z.record(member, fingerprint).default({}),
  })
  .refine(
    (e) => (e.outcome === TRAINING_OUTCOME.DONE) === (e.error.length === 0),
    'an error exactly when not done',
  );

function eventFromProto(w: unknown): TrainingEvent {
  const wire = w as { event?: string } & Record<string, unknown>;
  switch (wire.event) {
    case 'invitation': {
      const i = decodeWith(invitation, 'TrainingInvitation', wire['invitation']);
      return {
        kind: 'invitation',
        invitation: {
          jobId: i.jobId,
          initiator: i.initiator,
          participants: i.participants,
          spec: i.specJson,
          dataset: i.dataset ?? null,
        },
      };
    }
    case 'step':
      return { kind: 'step', step: stepCallFromProto(wire['step']) };
    case 'ping':
      return { kind: 'ping' };
    case 'vertical':
      return { kind: 'vertical', call: verticalWire.call.fromProto(wire['vertical']) };
    case 'aggregate': {
      const a = decodeWith(aggregate, 'AggregateResult', wire['aggregate']);
      return {
        kind: 'aggregate',
        aggregate: { aggregation: a.aggregation, sum: float64sOf(a.sum), contributors: a.contributors },
      };
    }
    case 'end': {
      const e = decodeWith(end, 'TrainingEnd', wire['end']);
      const result: TrainingEnd =
        e.outcome === TRAINING_OUTCOME.DONE
          ? { jobId: e.jobId, outcome: e.outcome, error: null, by: null, fingerprints: e.fingerprints }
          : {
              jobId: e.jobId,
              outcome: e.outcome,
              error: fromErrorPayload(e.error),
              by: e.by ?? null,
              fingerprints: {},
            };
      return { kind: 'end', end: result };
    }
    default:
      return decodeWith(z.never(), 'SubscribeTrainingResponse', wire);
  }
}

function eventToProto(e: TrainingEvent): Record<string, unknown> {
  return { event: e.kind, ...eventBody(e) };
}

function eventBody(e: TrainingEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'ping':
      return { ping: {} };
    case 'vertical':
      return { vertical: verticalWire.call.toProto(e.call) };
    case 'invitation': {
      const { spec: s, dataset, ...rest } = e.invitation;
      return {
        invitation: {
          ...rest,
          participants: [...rest.participants],
          specJson: canonicalJson(s),
          dataset: dataset ?? '',
        },
      };
    }
    case 'step':
      return { step: stepCallToProto(e.step) };
    case 'aggregate':
      return {
        aggregate: {
          ...e.aggregate,
          sum: bytesOf(e.aggregate.sum),
          contributors: [...e.aggregate.contributors],
        },
      };
    case 'end':
      return {
        end: {
          jobId: e.end.jobId,
          outcome: e.end.outcome,
          error: e.end.error ? errorPayload(e.end.error) : Buffer.alloc(0),
          by: e.end.by ?? '',
          fingerprints: { ...e.end.fingerprints },
        },
      };
  }
}

const open = z.object({
  jobId,
  peers: z
    .array(member)
    .min(1)
    .max(TRAINING_MAX_PARTIES - 1),
  specJson: spec,
  peerDatasets: z.record(member, z.string().min(1).max(64)),
  datasetFingerprint: fingerprint,
});

const respond = z
  .object({
    jobId,
    acceptSpecDigest: optional(z.string().regex(/^[0-9a-f]{64}$/)),
    declineCode: optional(errorCode),
    datasetFingerprint: optional(fingerprint),
  })
  .refine((r) => (r.acceptSpecDigest === undefined) !== (r.declineCode === undefined), 'accept or decline')
  .refine(
    (r) => (r.acceptSpecDigest === undefined) === (r.datasetFingerprint === undefined),
    'a fingerprint exactly with an acceptance',
  );

const empty = { toProto: () => ({}), fromProto: (_w: unknown) => ({}) };

export const trainingWire = {
  openRequest: {
    toProto: (o: TrainingOpen) => ({
      jobId: o.jobId,
      peers: [...o.peers],
      specJson: canonicalJson(o.spec),
      peerDatasets: { ...o.peerDatasets },
      datasetFingerprint: o.fingerprint,
      vertical: verticalWire.acceptance.toProto(o.vertical),
    }),
    fromProto: (w: unknown): TrainingOpen => {
      const o = decodeWith(open, 'OpenTrainingRequest', w);
      return {
        jobId: o.jobId,
        peers: o.peers,
        spec: o.specJson,
        peerDatasets: o.peerDatasets,
        fingerprint: o.datasetFingerprint,
        vertical: verticalWire.acceptance.fromProto((w as { vertical?: unknown }).vertical),
      };
    },
  },
  openResponse: {
    toProto: (r: { invited: string[] }) => r,
    fromProto: (w: unknown) => decodeWith(z.object({ invited: z.array(member) }), 'OpenTrainingResponse', w),
  },
  respondRequest: {
    toProto: (a: TrainingAnswer) =>
      a.kind === 'accept'
        ? {
            jobId: a.jobId,
            acceptSpecDigest: a.specDigest,
            declineCode: '',
            datasetFingerprint: a.fingerprint,
            vertical: verticalWire.acceptance.toProto(a.vertical),
          }
        : {
            jobId: a.jobId,
            acceptSpecDigest: '',
            declineCode: a.code,
            datasetFingerprint: '',
            vertical: null,
          },
    fromProto: (w: unknown): TrainingAnswer => {
      const r = decodeWith(respond, 'RespondTrainingRequest', w);
      return r.acceptSpecDigest !== undefined
        ? {
            kind: 'accept',
            jobId: r.jobId,
            specDigest: r.acceptSpecDigest,
            fingerprint: r.datasetFingerprint!,
            vertical: verticalWire.acceptance.fromProto((w as { vertical?: unknown }).vertical),
          }
        : { kind: 'decline', jobId: r.jobId, code: r.declineCode as string };
    },
  },
  respondResponse: empty,
  subscribeRequest: empty,
  subscribeResponse: { toProto: eventToProto, fromProto: eventFromProto },
  stepRequest: { toProto: stepReplyToProto, fromProto: stepReplyFromProto },
  stepResponse: empty,
  verticalRequest: verticalWire.reply,
  verticalResponse: empty,
  cancelRequest: {
    toProto: (c: TrainingCancel) => c,
    fromProto: (w: unknown): TrainingCancel =>
      decodeWith(z.object({ jobId, code: errorCode }), 'CancelTrainingRequest', w),
  },
  cancelResponse: empty,
} as const;

export type { AggregateResult };
