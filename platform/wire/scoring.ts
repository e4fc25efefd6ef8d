/**
 * Wire <-> domain conversion for `proto/accord/v1/scoring.proto`, used by the coordinator and the node. Domain types:
 * primitives/scoring/protocol.ts. proto3's sentinels ("" for absent strings, empty bytes, unset sub-messages) stop
 * here; every message is validated with zod right after decoding (ACCORD_WIRE_INVALID otherwise).
 */
import { z } from 'zod';
import { isErrorCode } from '../../primitives/errors/index.js';
import { CHANNEL_ID_BYTES } from '../../primitives/scoring/box.js';
import {
  BATCH_REQUEST_TIMEOUT_MS,
  SCORING_MAX_POSITIONS,
  SCORING_STAGE,
  type ScoringEvent,
  type ScoringReply,
  type ScoringRequest,
  type SignedScoringKey,
} from '../../primitives/scoring/protocol.js';
import { memberSchema as member } from '../../primitives/training/spec.js';
import { decodeWith } from './decode.js';

export const SCORING_PROTO = 'scoring.proto';
export const SCORING_SERVICE = 'Scoring';

const uuid = z.uuid({ version: 'v4' });
const bytes = z.instanceof(Uint8Array);
/** The asker's own `from` is ignored (the coordinator sets it): empty, or a member name. */
const sender = z.union([z.literal(''), member]);

const signedKey = z.object({
  member,
  boxKey: bytes.refine((b) => b.length === 32, 'must be 32 bytes'),
  signature: bytes.refine((b) => b.length > 0 && b.length <= 80, 'must be a DER ECDSA signature'),
  certificatePem: z.string().min(1).max(8192),
});

const request = z.object({
  requestId: uuid,
  from: sender,
  to: member,
  modelJob: uuid,
  stage: z.enum([SCORING_STAGE.HELLO, SCORING_STAGE.PARTIALS]),
  key: signedKey.nullish(),
  alignment: z.union([z.literal(''), uuid]),
  count: z.number().int().min(0).max(SCORING_MAX_POSITIONS),
  channel: bytes.refine((b) => b.length === 0 || b.length === CHANNEL_ID_BYTES, 'must be 16 bytes'),
  box: bytes.refine(
    (b) => b.length <= SCORING_MAX_POSITIONS * 4 + 64,
    'at most one chunk of sealed positions',
  ),
});

const errorJson = bytes.transform((b, ctx) => {
  if (b.length === 0) return null;
  try {
    const parsed = JSON.parse(Buffer.from(b).toString('utf8')) as { code?: unknown; params?: unknown };
    if (typeof parsed.code !== 'string' || !isErrorCode(parsed.code)) throw new Error('not a registry code');
    const params: Record<string, string | number> = {};
    if (parsed.params && typeof parsed.params === 'object')
      for (const [k, v] of Object.entries(parsed.params))
        if (typeof v === 'string' || typeof v === 'number') params[k] = v;
    return { code: parsed.code, params };
  } catch {
    ctx.addIssue({ code: 'custom', message: 'error must be a registry error as JSON {code, params}' });
    return z.NEVER;
  }
});

const reply = z.object({
  requestId: uuid,
  from: sender,
  to: member,
  key: signedKey.nullish(),
  box: bytes.refine((b) => b.length <= SCORING_MAX_POSITIONS * 8 + 64, 'at most one chunk of partial logits'),
  error: errorJson.refine((e) => e === null || JSON.stringify(e).length <= 2048, 'at most 2 KiB'),
});

const keyToProto = (k: SignedScoringKey) => ({
  member: k.member,
  boxKey: k.boxKey,
  signature: k.signature,
  certificatePem: k.certificatePem,
});

function requestToProto(r: ScoringRequest): Record<string, unknown> {
  const base = {
    requestId: r.requestId,
    from: r.from,
    to: r.to,
    modelJob: r.modelJob,
    stage: r.stage,
    key: null,
    alignment: '',
    count: 0,
    channel: Buffer.alloc(0),
    box: Buffer.alloc(0),
  };
  return r.stage === SCORING_STAGE.HELLO
    ? { ...base, key: keyToProto(r.key) }
    : { ...base, alignment: r.alignment, count: r.count, channel: r.channel, box: r.box };
}

function requestFromProto(w: unknown, what: string): ScoringRequest {
  const r = decodeWith(request, what, w);
  if (r.stage === SCORING_STAGE.HELLO) {
    if (!r.key) return decodeWith(z.never(), `${what} (hello without a key)`, w);
    return {
      stage: r.stage,
      requestId: r.requestId,
      from: r.from,
      to: r.to,
      modelJob: r.modelJob,
      key: r.key,
    };
  }
  if (r.alignment === '' || r.count < 1 || r.channel.length === 0 || r.box.length === 0)
    return decodeWith(z.never(), `${what} (partials without alignment, count, channel or box)`, w);
  return {
    stage: r.stage,
    requestId: r.requestId,
    from: r.from,
    to: r.to,
    modelJob: r.modelJob,
    alignment: r.alignment,
    count: r.count,
    channel: r.channel,
    box: r.box,
  };
}

function replyToProto(r: ScoringReply): Record<string, unknown> {
  const base = {
    requestId: r.requestId,
    from: r.from,
    to: r.to,
    key: null,
    box: Buffer.alloc(0),
    error: Buffer.alloc(0),
  };
  switch (r.kind) {
    case 'key':
      return { ...base, key: keyToProto(r.key) };
    case 'box':
      return { ...base, box: r.box };
    case 'error':
      return { ...base, error: Buffer.from(JSON.stringify({ code: r.code, params: r.params })) };
  }
}

function replyFromProto(w: unknown, what: string): ScoringReply {
  const r = decodeWith(reply, what, w);
  const set = [r.key ? 1 : 0, r.box.length > 0 ? 1 : 0, r.error ? 1 : 0].reduce((a, b) => a + b, 0);
  if (set !== 1) return decodeWith(z.never(), `${what} (exactly one of key, box and error)`, w);
  const head = { requestId: r.requestId, from: r.from, to: r.to };
  if (r.key) return { kind: 'key', ...head, key: r.key };
  if (r.error) return { kind: 'error', ...head, code: r.error.code, params: r.error.params };
  return { kind: 'box', ...head, box: r.box };
}

const ask = z.object({
  request: z.unknown(),
  timeoutMs: z.number().int().min(1).max(BATCH_REQUEST_TIMEOUT_MS),
});
const wrapped = z.object({ reply: z.unknown() });

export interface ScoringAsk {
  readonly request: ScoringRequest;
  readonly timeoutMs: number;
}

const empty = { toProto: () => ({}), fromProto: (_w: unknown) => ({}) };

export const scoringWire = {
  request: { toProto: requestToProto, fromProto: (w: unknown) => requestFromProto(w, 'ScoringRequest') },
  reply: { toProto: replyToProto, fromProto: (w: unknown) => replyFromProto(w, 'ScoringReply') },
  askRequest: {
    toProto: (a: ScoringAsk) => ({ request: requestToProto(a.request), timeoutMs: a.timeoutMs }),
    fromProto: (w: unknown): ScoringAsk => {
      const a = decodeWith(ask, 'AskScoringRequest', w);
      return { request: requestFromProto(a.request, 'AskScoringRequest.request'), timeoutMs: a.timeoutMs };
    },
  },
  askResponse: {
    toProto: (r: ScoringReply) => ({ reply: replyToProto(r) }),
    fromProto: (w: unknown): ScoringReply =>
      replyFromProto(decodeWith(wrapped, 'AskScoringResponse', w).reply, 'AskScoringResponse.reply'),
  },
  answerRequest: {
    toProto: (r: ScoringReply) => ({ reply: replyToProto(r) }),
    fromProto: (w: unknown): ScoringReply =>
      replyFromProto(decodeWith(wrapped, 'AnswerScoringRequest', w).reply, 'AnswerScoringRequest.reply'),
  },
  answerResponse: empty,
  subscribeRequest: empty,
  subscribeResponse: {
    toProto: (e: ScoringEvent): Record<string, unknown> =>
      e.kind === 'ping'
        ? { event: 'ping', ping: {} }
        : { event: 'request', request: requestToProto(e.request) },
    fromProto: (w: unknown): ScoringEvent => {
      const event = (w as { event?: unknown } | null)?.event;
      if (event === 'ping') return { kind: 'ping' };
      if (event === 'request')
        return {
          kind: 'request',
          request: requestFromProto((w as { request: unknown }).request, 'SubscribeScoringResponse.request'),
        };
      return decodeWith(z.never(), 'SubscribeScoringResponse', w);
    },
  },
} as const;
