/**
 * Wire <-> domain conversion for `proto/accord/v1/psi.proto`, used by both the coordinator and the node.
 * Point payloads stay Buffers (no per-point objects); their length is checked against `count` here.
 */
import { z } from 'zod';
import { ID_KINDS } from '../../primitives/identity/normalise.js';
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import {
  PSI_BATCH_POINTS,
  PSI_MAX_PARTIES,
  PSI_MODES,
  PSI_OUTCOME,
  PSI_REVEAL,
  PSI_STAGE,
} from '../../primitives/psi/session-protocol.js';
import { decodeWith } from './decode.js';

export const PSI_PROTO = 'psi.proto';
export const PSI_SERVICE = 'Psi';

const member = z.string().regex(MEMBER_NAME_PATTERN);
const sessionId = z.string().uuid();
const mode = z.enum(PSI_MODES);
const reveal = z.enum(PSI_REVEAL);
const errorCode = z.string().regex(/^(ACCORD_[A-Z0-9_]+)?$/);
const bytes = z.instanceof(Buffer);
const count = z.number().int().min(0).max(PSI_BATCH_POINTS);

function pointsMatch(v: { count: number; points: Buffer }): boolean {
  return v.points.length === v.count * 32;
}

const open = z.object({
  sessionId,
  peers: z
    .array(member)
    .min(1)
    .max(PSI_MAX_PARTIES - 1),
  idKind: z.enum(ID_KINDS),
  mode,
  reveal,
  setSize: z.number().int().min(1),
  peerDatasets: z.record(z.string(), z.string().max(64)),
});
export type PsiOpen = z.infer<typeof open>;

const respond = z.object({
  sessionId,
  accept: z.boolean(),
  mode: z.union([mode, z.literal('')]),
  reveal: z.union([reveal, z.literal('')]),
  setSize: z.number().int().min(0),
  declineCode: errorCode,
});
export type PsiRespond = z.infer<typeof respond>;

const invitation = z.object({
  sessionId,
  initiator: member,
  participants: z.array(member).min(2).max(PSI_MAX_PARTIES),
  idKind: z.enum(ID_KINDS),
  mode,
  reveal,
  dataset: z.string(),
});
export type PsiInvitation = z.infer<typeof invitation>;

const start = z.object({
  sessionId,
  ring: z.array(member).min(2).max(PSI_MAX_PARTIES),
  setSizes: z.array(z.number().int().min(0)),
  learners: z.array(member).min(1),
});
export type PsiStart = z.infer<typeof start>;

const batch = z
  .object({
    sessionId,
    stage: z.enum([PSI_STAGE.RING, PSI_STAGE.FINAL_OTHERS, PSI_STAGE.FINAL_OWN]),
    origin: z.union([member, z.literal('')]),
    hop: z.number().int().min(0).max(PSI_MAX_PARTIES),
    batchIndex: z.number().int().min(0),
    count,
    points: bytes,
    last: z.boolean(),
    streamTotal: z.number().int().min(0),
  })
  .refine(pointsMatch, 'points length must be 32 x count');
export type PsiBatch = z.infer<typeof batch>;

const end = z.object({
  sessionId,
  outcome: z.enum([PSI_OUTCOME.DONE, PSI_OUTCOME.FAILED, PSI_OUTCOME.CANCELLED]),
  errorCode,
  by: z.union([member, z.literal('')]),
});
export type PsiEnd = z.infer<typeof end>;

export type PsiEvent =
  | { kind: 'invitation'; invitation: PsiInvitation }
  | { kind: 'start'; start: PsiStart }
  | { kind: 'batch'; batch: PsiBatch }
  | { kind: 'end'; end: PsiEnd };

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
export type PsiSend = z.infer<typeof send>;

const cancel = z.object({ sessionId, code: errorCode });
export type PsiCancel = z.infer<typeof cancel>;

function eventFromProto(w: unknown): PsiEvent {
  const wire = w as { event?: string } & Record<string, unknown>;
  switch (wire.event) {
    case 'invitation':
      return { kind: 'invitation', invitation: decodeWith(invitation, 'Invitation', wire['invitation']) };
    case 'start':
      return { kind: 'start', start: decodeWith(start, 'SessionStart', wire['start']) };
    case 'batch':
      return { kind: 'batch', batch: decodeWith(batch, 'PointBatch', wire['batch']) };
    case 'end':
      return { kind: 'end', end: decodeWith(end, 'SessionEnd', wire['end']) };
    default:
      return decodeWith(z.never(), 'SubscribeResponse', wire);
  }
}

function eventToProto(e: PsiEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'invitation':
      return { invitation: e.invitation };
    case 'start':
      return { start: e.start };
    case 'batch':
      return { batch: e.batch };
    case 'end':
      return { end: e.end };
  }
}

const empty = { toProto: () => ({}), fromProto: (_w: unknown) => ({}) };

export const psiWire = {
  openRequest: {
    toProto: (o: PsiOpen) => o,
    fromProto: (w: unknown): PsiOpen => decodeWith(open, 'OpenRequest', w),
  },
  openResponse: {
    toProto: (r: { invited: string[] }) => r,
    fromProto: (w: unknown) => decodeWith(z.object({ invited: z.array(member) }), 'OpenResponse', w),
  },
  respondRequest: {
    toProto: (r: PsiRespond) => r,
    fromProto: (w: unknown): PsiRespond => decodeWith(respond, 'RespondRequest', w),
  },
  respondResponse: empty,
  subscribeRequest: empty,
  subscribeResponse: { toProto: eventToProto, fromProto: eventFromProto },
  sendRequest: {
    toProto: (s: PsiSend) => s,
    fromProto: (w: unknown): PsiSend => decodeWith(send, 'SendRequest', w),
  },
  sendResponse: empty,
  cancelRequest: {
    toProto: (c: PsiCancel) => c,
    fromProto: (w: unknown): PsiCancel => decodeWith(cancel, 'CancelRequest', w),
  },
  cancelResponse: empty,
} as const;
