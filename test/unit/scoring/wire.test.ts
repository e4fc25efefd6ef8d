/**
 * platform/wire/scoring.ts through the real proto file's serialisers (as grpc-js sends them): every Scoring message
 * round-trips to the same domain value, and malformed ones (a partials request without its box, a reply with two
 * answers or none, an error that is not a registry code, a hello without a key) are ACCORD_WIRE_INVALID.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { SCORING_PROTO, SCORING_SERVICE, scoringWire as wire } from '../../../platform/wire/scoring.js';
import type { ScoringReply, ScoringRequest } from '../../../primitives/scoring/protocol.js';
import { thrown } from '../../helpers/thrown.js';

const service = serviceOf(SCORING_PROTO, SCORING_SERVICE).service;
const through = (method: string, kind: 'request' | 'response', message: unknown): unknown => {
  const m = service[method]!;
  return kind === 'request'
    ? m.requestDeserialize(m.requestSerialize(message))
    : m.responseDeserialize(m.responseSerialize(message));
};

const key = {
  member: 'bank-a',
  boxKey: new Uint8Array(32).fill(7),
  signature: new Uint8Array(70).fill(3),
  certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
};
const hello: ScoringRequest = {
  stage: 'hello',
  requestId: randomUUID(),
  from: 'bank-a',
  to: 'bank-b',
  modelJob: randomUUID(),
  key,
};
const partials: ScoringRequest = {
  stage: 'partials',
  requestId: randomUUID(),
  from: 'bank-a',
  to: 'bank-b',
  modelJob: randomUUID(),
  alignment: randomUUID(),
  count: 3,
  channel: new Uint8Array(16).fill(1),
  box: new Uint8Array(40).fill(2),
};
const head = { requestId: randomUUID(), from: 'bank-b', to: 'bank-a' };
const replies: ScoringReply[] = [
  { kind: 'key', ...head, key: { ...key, member: 'bank-b' } },
  { kind: 'box', ...head, box: new Uint8Array(52).fill(5) },
  {
    kind: 'error',
    ...head,
    code: 'ACCORD_SCORING_REQUEST_REFUSED',
    params: { member: 'bank-b', reason: 'x' },
  },
];

/** Bytes as plain arrays (a Buffer and a Uint8Array of the same bytes compare equal), the rest as is. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array
    ? [...v]
    : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
      : v;

describe('Scoring wire messages', () => {
  it('round-trip through the proto file', () => {
    for (const request of [hello, partials]) {
      const ask = wire.askRequest.fromProto(
        through('Ask', 'request', wire.askRequest.toProto({ request, timeoutMs: 50 })),
      );
      expect(plain(ask)).toEqual(plain({ request, timeoutMs: 50 }));
      const event = wire.subscribeResponse.fromProto(
        through('Subscribe', 'response', wire.subscribeResponse.toProto({ kind: 'request', request })),
      );
      expect(plain(event)).toEqual(plain({ kind: 'request', request }));
    }
    expect(
      wire.subscribeResponse.fromProto(
        through('Subscribe', 'response', wire.subscribeResponse.toProto({ kind: 'ping' })),
      ),
    ).toEqual({ kind: 'ping' });
    for (const reply of replies) {
      expect(
        plain(wire.answerRequest.fromProto(through('Answer', 'request', wire.answerRequest.toProto(reply)))),
      ).toEqual(plain(reply));
      expect(
        plain(wire.askResponse.fromProto(through('Ask', 'response', wire.askResponse.toProto(reply)))),
      ).toEqual(plain(reply));
    }
  });

  it('refuses malformed messages with ACCORD_WIRE_INVALID', () => {
    const askOf = (request: Record<string, unknown>) => ({ request, timeoutMs: 50 });
    const proto = wire.request.toProto(partials);
    const bad: unknown[] = [
      askOf({ ...proto, box: Buffer.alloc(0) }),
      askOf({ ...proto, count: 0 }),
      askOf({ ...proto, channel: Buffer.alloc(5) }),
      askOf({ ...proto, requestId: 'not-a-uuid' }),
      askOf({ ...wire.request.toProto(hello), key: null }),
      askOf({ ...proto, to: 'Not A Member' }),
      { ...askOf(proto), timeoutMs: 0 },
    ];
    for (const w of bad)
      expect(thrown(() => wire.askRequest.fromProto(w)).code, JSON.stringify(w)).toBe('ACCORD_WIRE_INVALID');
    const reply = wire.reply.toProto(replies[1]!);
    const badReplies: unknown[] = [
      { ...reply, box: Buffer.alloc(0) },
      { ...reply, key: wire.reply.toProto(replies[0]!)['key'] },
      { ...reply, box: Buffer.alloc(0), error: Buffer.from('{"code":"NOT_A_CODE"}') },
      { ...reply, box: Buffer.alloc(0), error: Buffer.from('not json') },
    ];
    for (const w of badReplies)
      expect(thrown(() => wire.answerRequest.fromProto({ reply: w })).code).toBe('ACCORD_WIRE_INVALID');
  });
});
