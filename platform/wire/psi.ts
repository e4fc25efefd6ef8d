/**
 * Wire <-> domain conversion for `proto/accord/v1/psi.proto`, used by both the coordinator and the node. The domain
 * types are those of `primitives/psi/session-protocol.ts`; proto3's sentinels ("" for absent strings, 0 for absent
 * numbers, an unset oneof) stop here. Point payloads stay Buffers (no per-point objects); their length is checked
 * against `count` here, and result positions travel as packed little-endian uint32s.
 */
import { z } from 'zod';
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import { isErrorCode } from '../../primitives/errors/index.js';
import { ID_KINDS } from '../../primitives/identity/normalise.js';
import {
  PSI_BATCH_POINTS,
  PSI_MAX_PARTIES,
  PSI_MODES,
  PSI_OUTCOME,
  PSI_RESULT_BATCH,
  PSI_REVEAL,
  type PsiAnswer,
  type PsiCancel,
  type PsiEnd,
  type PsiEvent,
  type PsiInvitation,
  type PsiOpen,
  type PsiResult,
  type PsiRingBatch,
  type PsiSend,
  type PsiStart,
} from '../../primitives/psi/session-protocol.js';
import { errorPayload, fromErrorPayload } from '../grpc/errors.js';
import { decodeWith } from './decode.js';

export const PSI_PROTO = 'psi.proto';
export const PSI_SERVICE = 'Psi';

const POINT = 32;
const POSITION = 4;

const member = z.string().regex(MEMBER_NAME_PATTERN);
const participants = z.array(member).min(2).max(PSI_MAX_PARTIES);
/** Session ids are fresh random UUIDs (version 4): the hashing domain of a session. */
const sessionId = z.uuid({ version: 'v4' });
const idKind = z.enum(ID_KINDS);
const mode = z.enum(PSI_MODES);
const reveal = z.enum(PSI_REVEAL);
/** A registry code, nothing else: it travels to every participant and into their job records. */
const errorCode = z.string().max(64).refine(isErrorCode, 'must be a registry error code');
const bytes = z.instanceof(Uint8Array);
const count = z.number().int().min(0).max(PSI_BATCH_POINTS);
/** 0 on the wire means "not set": the coordinator's default applies. */
const ratio = z
  .number()
  .min(0)
  .max(1e6)
  .transform((r) => (r === 0 ? undefined : Math.max(1, r)));
/** "" on the wire means "not set". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.union([z.literal('').transform(() => undefined), schema]);

function pointsMatch(v: { count: number; points: Uint8Array }): boolean {
  return v.points.length === v.count * POINT;
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);

const open = z.object({
  sessionId,
  peers: z
    .array(member)
    .min(1)
    .max(PSI_MAX_PARTIES - 1),
  idKind,
  mode,
  reveal,
  setSize: z.number().int().min(1),
  peerDatasets: z.record(member, z.string().min(1).max(64)),
  maxSizeRatio: ratio,
});

const respond = z.object({
  sessionId,
  answer: z.enum(['accept', 'decline']),
  accept: z
    .object({
      participants,
      idKind,
      mode,
      reveal,
      setSize: z.number().int().min(1),
      maxSizeRatio: ratio,
    })
    .nullish(),
  decline: z.object({ code: errorCode }).nullish(),
});

const invitation = z.object({
  sessionId,
  initiator: member,
  participants,
  idKind,
  mode,
  reveal,
  dataset: optional(z.string().max(64)),
  initiatorSetSize: z.number().int().min(1),
});

const start = z
  .object({
    sessionId,
    ring: participants,
    setSizes: z.array(z.number().int().min(1)),
    learners: z.array(member).min(1),
  })
  .refine((s) => s.setSizes.length === s.ring.length, 'one set size per ring member');

const batch = z
  .object({
    sessionId,
    origin: member,
    hop: z.number().int().min(1).max(PSI_MAX_PARTIES),
    batchIndex: z.number().int().min(0),
    count,
    points: bytes,
    last: z.boolean(),
    streamTotal: z.number().int().min(1),
  })
  .refine(pointsMatch, 'points length must be 32 x count');

const result = z
  .object({
    sessionId,
    size: z.number().int().min(0),
    batchIndex: z.number().int().min(0),
    positions: bytes.refine((b) => b.length <= PSI_RESULT_BATCH * POSITION, 'too many positions'),
    last: z.boolean(),
  })
  .refine((r) => r.positions.length % POSITION === 0, 'positions must be whole uint32s');

const end = z
  .object({
    sessionId,
    outcome: z.enum([PSI_OUTCOME.DONE, PSI_OUTCOME.FAILED, PSI_OUTCOME.CANCELLED]),
    error: bytes,
    by: optional(member),
  })
  .refine(
    (e) => (e.outcome === PSI_OUTCOME.DONE) === (e.error.length === 0),
    'an error exactly when not done',
  );

const send = z
  .object({
    sessionId,
    origin: member,
    hop: z.number().int().min(1).max(PSI_MAX_PARTIES),
    batchIndex: z.number().int().min(0),
    count,
    points: bytes,
    last: z.boolean(),
  })
  .refine(pointsMatch, 'points length must be 32 x count');

const cancel = z.object({ sessionId, code: errorCode });

/** Positions as little-endian uint32s (a copy: the wire buffer may be reused). */
function unpackPositions(b: Uint8Array): Uint32Array {
  const out = new Uint32Array(b.length / POSITION);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * POSITION, true);
  return out;
}

function packPositions(positions: Uint32Array): Buffer {
  const out = Buffer.allocUnsafe(positions.length * POSITION);
  for (let i = 0; i < positions.length; i++) out.writeUInt32LE(positions[i]!, i * POSITION);
  return out;
}

function answerFromProto(w: unknown): PsiAnswer {
  const r = decodeWith(respond, 'RespondRequest', w);
  if (r.answer === 'decline' && r.decline)
    return { kind: 'decline', sessionId: r.sessionId, code: r.decline.code };
  if (r.answer === 'accept' && r.accept) {
    const { participants: p, idKind: k, mode: m, reveal: v, setSize, maxSizeRatio } = r.accept;
    return {
      kind: 'accept',
      sessionId: r.sessionId,
      terms: { participants: p, idKind: k, mode: m, reveal: v },
      setSize,
      maxSizeRatio,
    };
  }
  return decodeWith(z.never(), 'RespondRequest', w);
}

function answerToProto(a: PsiAnswer): Record<string, unknown> {
  if (a.kind === 'decline') return { sessionId: a.sessionId, decline: { code: a.code } };
  return {
    sessionId: a.sessionId,
    accept: {
      participants: [...a.terms.participants],
      idKind: a.terms.idKind,
      mode: a.terms.mode,
      reveal: a.terms.reveal,
      setSize: a.setSize,
      maxSizeRatio: a.maxSizeRatio ?? 0,
    },
  };
}

function endFromProto(w: unknown): PsiEnd {
  const e = decodeWith(end, 'SessionEnd', w);
  if (e.outcome === PSI_OUTCOME.DONE) return { sessionId: e.sessionId, outcome: 'done' };
  return { sessionId: e.sessionId, outcome: e.outcome, error: fromErrorPayload(e.error), by: e.by ?? null };
}

function endToProto(e: PsiEnd): Record<string, unknown> {
  if (e.outcome === PSI_OUTCOME.DONE)
    return { sessionId: e.sessionId, outcome: e.outcome, error: Buffer.alloc(0), by: '' };
  return { sessionId: e.sessionId, outcome: e.outcome, error: errorPayload(e.error), by: e.by ?? '' };
}

function eventFromProto(w: unknown): PsiEvent {
  const wire = w as { event?: string } & Record<string, unknown>;
  switch (wire.event) {
    case 'invitation':
      return {
        kind: 'invitation',
        invitation: decodeWith(invitation, 'Invitation', wire['invitation']) satisfies PsiInvitation,
      };
    case 'start':
      return { kind: 'start', start: decodeWith(start, 'SessionStart', wire['start']) satisfies PsiStart };
    case 'batch': {
      const b = decodeWith(batch, 'PointBatch', wire['batch']);
      return { kind: 'batch', batch: { ...b, points: asBuffer(b.points) } satisfies PsiRingBatch };
    }
    case 'result': {
      const r = decodeWith(result, 'SessionResult', wire['result']);
      return {
        kind: 'result',
        result: { ...r, positions: unpackPositions(r.positions) } satisfies PsiResult,
      };
    }
    case 'end':
      return { kind: 'end', end: endFromProto(wire['end']) };
    default:
      return decodeWith(z.never(), 'SubscribeResponse', wire);
  }
}

function eventToProto(e: PsiEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'invitation':
      return { invitation: { ...e.invitation, dataset: e.invitation.dataset ?? '' } };
    case 'start':
      return { start: e.start };
    case 'batch':
      return { batch: e.batch };
    case 'result':
      return { result: { ...e.result, positions: packPositions(e.result.positions) } };
    case 'end':
      return { end: endToProto(e.end) };
  }
}

const empty = { toProto: () => ({}), fromProto: (_w: unknown) => ({}) };

export const psiWire = {
  openRequest: {
    toProto: (o: PsiOpen) => ({ ...o, maxSizeRatio: o.maxSizeRatio ?? 0 }),
    fromProto: (w: unknown): PsiOpen => decodeWith(open, 'OpenRequest', w),
  },
  openResponse: {
    toProto: (r: { invited: string[] }) => r,
    fromProto: (w: unknown) => decodeWith(z.object({ invited: z.array(member) }), 'OpenResponse', w),
  },
  respondRequest: { toProto: answerToProto, fromProto: answerFromProto },
  respondResponse: empty,
  subscribeRequest: empty,
  subscribeResponse: { toProto: eventToProto, fromProto: eventFromProto },
  sendRequest: {
    toProto: (s: PsiSend) => s,
    fromProto: (w: unknown): PsiSend => {
      const s = decodeWith(send, 'SendRequest', w);
      return { ...s, points: asBuffer(s.points) };
    },
  },
  sendResponse: empty,
  cancelRequest: {
    toProto: (c: PsiCancel) => c,
    fromProto: (w: unknown): PsiCancel => decodeWith(cancel, 'CancelRequest', w),
  },
  cancelResponse: empty,
} as const;
