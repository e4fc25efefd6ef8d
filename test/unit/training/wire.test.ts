/**
 * The training service's wire (platform/wire/training.ts) against the real contract (proto/accord/v1/training.proto,
 * loaded as the servers load it): every message goes toProto, through protobuf bytes, and fromProto back to the same
 * domain value. The step calls and replies are the ones a real job produced (every stage, with real keys, boxes,
 * masked vectors, signatures and shares). Then each field of a message is set, in turn, to a value the contract
 * forbids, and decoding must refuse it with ACCORD_WIRE_INVALID.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { TRAINING_PROTO, TRAINING_SERVICE, trainingWire } from '../../../platform/wire/training.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { SECAGG_STAGES } from '../../../primitives/secagg/stages.js';
import type {
  StepCall,
  StepReply,
  TrainingEnd,
  TrainingEvent,
  TrainingOpen,
} from '../../../primitives/training/job-protocol.js';
import { canonicalJson, specDigest, type TrainingSpec } from '../../../primitives/training/spec.js';
import { thrown } from '../../helpers/thrown.js';
import { JobHarness, tinySpec } from './job-harness.js';

const methods = serviceOf(TRAINING_PROTO, TRAINING_SERVICE).service;

/** protobuf bytes and back, as grpc-js does on each side of a call. */
const wire = {
  step: (w: unknown): unknown => methods['Step']!.requestDeserialize(methods['Step']!.requestSerialize(w)),
  event: (w: unknown): unknown =>
    methods['Subscribe']!.responseDeserialize(methods['Subscribe']!.responseSerialize(w)),
  open: (w: unknown): unknown => methods['Open']!.requestDeserialize(methods['Open']!.requestSerialize(w)),
  respond: (w: unknown): unknown =>
    methods['Respond']!.requestDeserialize(methods['Respond']!.requestSerialize(w)),
  cancel: (w: unknown): unknown =>
    methods['Cancel']!.requestDeserialize(methods['Cancel']!.requestSerialize(w)),
};

const JOB = 'b0d7a4a2-5c1e-4f3b-8e2d-7a9c6b5e4d31';

const stepReplyRoundTrip = (r: StepReply) =>
  trainingWire.stepRequest.fromProto(wire.step(trainingWire.stepRequest.toProto(r)));
const eventRoundTrip = (e: TrainingEvent) =>
  trainingWire.subscribeResponse.fromProto(wire.event(trainingWire.subscribeResponse.toProto(e)));

/** The value with every Buffer as a plain Uint8Array of the same bytes (a Buffer is one, but compares apart). */
function bytesAsUint8(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(bytesAsUint8);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytesAsUint8(v)]));
  return value;
}

function expectSame(actual: unknown, expected: unknown): void {
  expect(bytesAsUint8(actual)).toEqual(bytesAsUint8(expected));
}

/** Step calls and replies of two real jobs: one where everyone answers, one where bank-c drops before its vector. */
const recorded = { calls: [] as StepCall[], replies: [] as StepReply[] };

beforeAll(async () => {
  const all = new JobHarness();
  const dropping = new JobHarness({
    scripts: {
      'bank-c': {
        onStep: (c) =>
          c.aggregation.task === 'train' && c.stage === 'collect_masked_vectors' ? 'lost' : 'answer',
      },
    },
  });
  for (const h of [all, dropping]) {
    expect((await h.run()).outcome).toBe('done');
    recorded.calls.push(...h.calls.map((c) => c.call));
    recorded.replies.push(...h.replies.map((r) => r.reply));
  }
});

function expectWireInvalid(fn: () => unknown): AccordError {
  const err = thrown(fn);
  expect(err.code).toBe('ACCORD_WIRE_INVALID');
  return err;
}

describe('round trips through protobuf bytes', () => {
  it('every step call of a job, at every stage', () => {
    expect(new Set(recorded.calls.map((c) => c.stage))).toEqual(new Set(SECAGG_STAGES));
    // The dropping job's unmask calls name a dropped partner; the other's name none.
    const unmask = recorded.calls.filter((c) => c.stage === 'unmask');
    expect(unmask.some((c) => c.dropped.length > 0)).toBe(true);
    expect(unmask.some((c) => c.dropped.length === 0)).toBe(true);
    for (const call of recorded.calls)
      expectSame(eventRoundTrip({ kind: 'step', step: call }), { kind: 'step', step: call });
  });

  it('every step reply of a job, at every stage', () => {
    expect(new Set(recorded.replies.map((r) => r.stage))).toEqual(new Set(SECAGG_STAGES));
    const unmask = recorded.replies.filter((r) => r.stage === 'unmask');
    expect(unmask.some((r) => r.maskKeyShares.length > 0)).toBe(true);
    for (const reply of recorded.replies) expectSame(stepReplyRoundTrip(reply), reply);
  });

  it('every step call and reply also round-trips as plain objects (toProto gives what fromProto reads)', () => {
    for (const call of recorded.calls) {
      const event: TrainingEvent = { kind: 'step', step: call };
      expectSame(
        trainingWire.subscribeResponse.fromProto(trainingWire.subscribeResponse.toProto(event)),
        event,
      );
    }
    for (const reply of recorded.replies)
      expectSame(trainingWire.stepRequest.fromProto(trainingWire.stepRequest.toProto(reply)), reply);
    const ping: TrainingEvent = { kind: 'ping' };
    expect(trainingWire.subscribeResponse.fromProto(trainingWire.subscribeResponse.toProto(ping))).toEqual(
      ping,
    );
  });

  it('masked vectors as little-endian uint32 lanes, whatever the alignment of the bytes received', () => {
    const masked = Uint32Array.from([0, 1, 0xdeadbeef, 0xffffffff, 0x80000000]);
    const reply: StepReply = {
      stage: 'collect_masked_vectors',
      aggregation: { jobId: JOB, task: 'train', round: 3 },
      masked,
    };
    const proto = trainingWire.stepRequest.toProto(reply) as { masked: Uint8Array };
    const bytes = Buffer.from(proto.masked);
    expect(bytes.length).toBe(20);
    expect(masked.map((_, i) => bytes.readUInt32LE(4 * i))).toEqual(masked);
    // Bytes at an odd offset of a larger buffer (as a decoder may hand them over).
    const unaligned = Buffer.concat([Buffer.from([7]), bytes]).subarray(1);
    const back = trainingWire.stepRequest.fromProto({ ...(wire.step(proto) as object), masked: unaligned });
    expect(back).toEqual(reply);
  });

  it('an invitation: the spec travels as canonical JSON and comes back validated, with the same digest', () => {
    const spec = tinySpec({ model: { type: 'mlp', hidden: [8, 4] }, rounds: 3 });
    for (const dataset of ['loans-2024', null]) {
      const event: TrainingEvent = {
        kind: 'invitation',
        invitation: {
          jobId: JOB,
          initiator: 'bank-a',
          participants: ['bank-a', 'bank-b', 'bank-c'],
          spec,
          dataset,
        },
      };
      const proto = trainingWire.subscribeResponse.toProto(event) as { invitation: { specJson: string } };
      const text = proto.invitation.specJson;
      expect(JSON.parse(text)).toEqual(spec);
      expectSortedKeys(JSON.parse(text));
      const back = eventRoundTrip(event);
      expect(back).toEqual(event);
      if (back.kind !== 'invitation') throw new Error('not an invitation');
      expect(specDigest(back.invitation.spec)).toBe(specDigest(spec));
    }
    // The same spec written with its keys in another order is the same text.
    const shuffled = Object.fromEntries(Object.entries(spec).reverse()) as TrainingSpec;
    expect(canonicalJson(shuffled)).toBe(canonicalJson(spec));
  });

  it('an aggregate: the sum as little-endian float64s, every value bit for bit', () => {
    const sum = Float64Array.from([
      0,
      -0,
      1.5,
      -1e300,
      5e-324,
      Number.MAX_VALUE,
      1 / 3,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
    ]);
    const event: TrainingEvent = {
      kind: 'aggregate',
      aggregate: {
        aggregation: { jobId: JOB, task: 'eval', round: 2 },
        sum,
        contributors: ['bank-a', 'bank-c'],
      },
    };
    const proto = trainingWire.subscribeResponse.toProto(event) as { aggregate: { sum: Uint8Array } };
    const bytes = Buffer.from(proto.aggregate.sum);
    for (let i = 0; i < sum.length; i++) expect(Object.is(bytes.readDoubleLE(8 * i), sum[i])).toBe(true);
    const back = eventRoundTrip(event);
    if (back.kind !== 'aggregate') throw new Error('not an aggregate');
    expect(Buffer.from(back.aggregate.sum.buffer).equals(Buffer.from(sum.buffer))).toBe(true);
    expect(back.aggregate.aggregation).toEqual(event.aggregate.aggregation);
    expect(back.aggregate.contributors).toEqual(['bank-a', 'bank-c']);
  });

  it('an end: done, failed with a registry error and who failed it, cancelled', () => {
    const done: TrainingEnd = {
      jobId: JOB,
      outcome: 'done',
      error: null,
      by: null,
      fingerprints: { 'bank-a': 'ab'.repeat(32), 'bank-b': 'cd'.repeat(32) },
    };
    expect(eventRoundTrip({ kind: 'end', end: done })).toEqual({ kind: 'end', end: done });
    // The inbox's sign of life carries nothing, and arrives as itself.
    expect(eventRoundTrip({ kind: 'ping' })).toEqual({ kind: 'ping' });
    const ends: TrainingEnd[] = [
      {
        jobId: JOB,
        outcome: 'failed',
        error: new AccordError('ACCORD_SECAGG_VECTOR_LENGTH', { member: 'bank-c', actual: 9, expected: 8 }),
        by: 'bank-c',
        fingerprints: {},
      },
      {
        jobId: JOB,
        outcome: 'failed',
        error: new AccordError('ACCORD_TRAINING_LOST'),
        by: null,
        fingerprints: {},
      },
      {
        jobId: JOB,
        outcome: 'cancelled',
        error: new AccordError('ACCORD_TRAINING_CANCELLED', { by: 'bank-b' }),
        by: 'bank-b',
        fingerprints: {},
      },
    ];
    for (const end of ends) {
      const back = eventRoundTrip({ kind: 'end', end });
      if (back.kind !== 'end') throw new Error('not an end');
      expect(back.end).toMatchObject({ jobId: JOB, outcome: end.outcome, by: end.by });
      expect(back.end.error).toBeInstanceOf(AccordError);
      expect(back.end.error!.code).toBe(end.error!.code);
      expect(back.end.error!.params).toEqual(end.error!.params);
      expect(back.end.error!.message).toBe(end.error!.message);
    }
  });

  it('open, respond (accept and decline) and cancel, both as plain objects and through protobuf bytes', () => {
    const spec = tinySpec();
    const open: TrainingOpen = {
      jobId: JOB,
      peers: ['bank-b', 'bank-c'],
      spec,
      peerDatasets: { 'bank-b': 'loans', 'bank-c': 'loans-2024' },
      fingerprint: 'ef'.repeat(32),
    };
    const o = trainingWire.openRequest;
    expect(o.fromProto(o.toProto(open))).toEqual(open);
    expect(o.fromProto(wire.open(o.toProto(open)))).toEqual(open);

    const r = trainingWire.respondRequest;
    const answers = [
      { kind: 'accept', jobId: JOB, specDigest: specDigest(spec), fingerprint: '01'.repeat(32) },
      { kind: 'decline', jobId: JOB, code: 'ACCORD_TRAINING_SCHEMA_MISMATCH' },
    ] as const;
    for (const answer of answers) {
      expect(r.fromProto(r.toProto(answer))).toEqual(answer);
      expect(r.fromProto(wire.respond(r.toProto(answer)))).toEqual(answer);
    }

    const c = trainingWire.cancelRequest;
    const cancel = { jobId: JOB, code: 'ACCORD_TRAINING_CANCELLED' };
    expect(c.fromProto(c.toProto(cancel))).toEqual(cancel);
    expect(c.fromProto(wire.cancel(c.toProto(cancel)))).toEqual(cancel);
  });
});

/** Object keys in code-unit order at every level. */
function expectSortedKeys(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) expectSortedKeys(v);
    return;
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    expect(keys).toEqual([...keys].sort());
    for (const v of Object.values(value)) expectSortedKeys(v);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Tampering: one field at a time

type Wire = Record<string | number, unknown>;
/** What is wrong, where (a path into the decoded message) and the value put there. */
type Tamper = readonly [what: string, path: readonly (string | number)[], value: unknown];

const bytes = (n: number) => new Uint8Array(n).fill(1);

/** The value at `path` of a decoded message. */
function get(w: unknown, path: readonly (string | number)[]): unknown {
  let v = w;
  for (const p of path) v = (v as Wire)[p];
  return v;
}

/** A deep copy of `base` (bytes stay bytes) with `value` at `path`. */
function tampered(base: unknown, path: readonly (string | number)[], value: unknown): Wire {
  const w = structuredClone(base) as Wire;
  const parent = get(w, path.slice(0, -1)) as Wire;
  parent[path.at(-1)!] = value;
  return w;
}

/** The message decodes untouched, and each tamper is refused, as an object and after protobuf bytes. */
function expectRefused(
  base: unknown,
  tampers: readonly Tamper[],
  decode: (w: unknown) => unknown,
  throughBytes: (w: unknown) => unknown,
): void {
  expect(() => decode(base)).not.toThrow();
  for (const [what, path, value] of tampers) {
    expect(get(base, path.slice(0, -1)), `${what}: no such field`).toBeTypeOf('object');
    const w = tampered(base, path, value);
    const err = expectWireInvalid(() => decode(w));
    // The refusal names the message and the problem, never the bytes it was given.
    expect(err.message, what).not.toMatch(/[0-9a-f]{32}/);
    expectWireInvalid(() => decode(throughBytes(w)));
  }
}

const NOT_V4 = JOB.replace('-4f3b-', '-1f3b-');

describe('a StepRequest with one field made invalid is refused with ACCORD_WIRE_INVALID', () => {
  const decode = (w: unknown) => trainingWire.stepRequest.fromProto(w);
  const wireOf = (stage: string): Wire => {
    const reply = recorded.replies.find(
      (r) => r.stage === stage && (r.stage !== 'unmask' || r.maskKeyShares.length > 0),
    )!;
    return wire.step(trainingWire.stepRequest.toProto(reply)) as Wire;
  };
  const everyStage: Tamper[] = [
    ['a job id that is not a UUID', ['aggregation', 'jobId'], 'job-1'],
    ['a job id that is a UUID v1', ['aggregation', 'jobId'], NOT_V4],
    ['an unknown task', ['aggregation', 'task'], 'predict'],
    ['a round past the limit', ['aggregation', 'round'], 1001],
    ['no aggregation', ['aggregation'], null],
    ['an unknown stage', ['stage'], 'reveal'],
    ['no stage', ['stage'], ''],
    ['masked bytes not a multiple of 4', ['masked'], bytes(4 * 8 + 3)],
  ];

  it('setup', () => {
    expectRefused(
      wireOf('setup'),
      [
        ...everyStage,
        ['a signature longer than a DER ECDSA signature', ['signature'], bytes(81)],
        ['no keys', ['keys'], null],
        ['keys of an invalid member name', ['keys', 'member'], 'Bank C'],
        ['an encryption key of 31 bytes', ['keys', 'encryptionKey'], bytes(31)],
        ['a mask key of 33 bytes', ['keys', 'maskKey'], bytes(33)],
        ['an empty commitment', ['keys', 'selfMaskCommitment'], bytes(0)],
        ['an empty key signature', ['keys', 'signature'], bytes(0)],
        ['a key signature of 81 bytes', ['keys', 'signature'], bytes(81)],
        ['no certificate', ['keys', 'certificatePem'], ''],
      ],
      decode,
      wire.step,
    );
  });

  it('share_keys', () => {
    const base = wireOf('share_keys');
    expectRefused(
      base,
      [
        ...everyStage,
        ['a box from no one', ['boxes', 0, 'from'], ''],
        ['a box to an invalid name', ['boxes', 0, 'to'], 'BANK-B'],
        ['a box of 4097 bytes', ['boxes', 0, 'box'], bytes(4097)],
        ['17 boxes', ['boxes'], Array.from({ length: 17 }, () => get(base, ['boxes', 0]))],
      ],
      decode,
      wire.step,
    );
  });

  it('collect_masked_vectors', () => {
    const base = wireOf('collect_masked_vectors');
    const length = (base.masked as Uint8Array).length;
    expectRefused(
      base,
      [
        ...everyStage,
        ...[1, 2, 3].map(
          (extra): Tamper => [`${extra} bytes past the last lane`, ['masked'], bytes(length + extra)],
        ),
      ],
      decode,
      wire.step,
    );
  });

  it('consistency_check', () => {
    expectRefused(
      wireOf('consistency_check'),
      [
        ...everyStage,
        ['no signature', ['signature'], bytes(0)],
        ['a signature of 81 bytes', ['signature'], bytes(81)],
      ],
      decode,
      wire.step,
    );
  });

  it('unmask', () => {
    const base = wireOf('unmask');
    expectRefused(
      base,
      [
        ...everyStage,
        ['an empty self-mask share', ['selfMaskShares', 0, 'share'], bytes(0)],
        ['a self-mask share of 257 bytes', ['selfMaskShares', 0, 'share'], bytes(257)],
        ['a self-mask share of an invalid owner', ['selfMaskShares', 0, 'owner'], '-bank'],
        ['an empty mask-key share', ['maskKeyShares', 0, 'share'], bytes(0)],
        ['a mask-key share of no owner', ['maskKeyShares', 0, 'owner'], ''],
        [
          '17 self-mask shares',
          ['selfMaskShares'],
          Array.from({ length: 17 }, () => get(base, ['selfMaskShares', 0])),
        ],
      ],
      decode,
      wire.step,
    );
  });
});

describe('other messages with one field made invalid are refused with ACCORD_WIRE_INVALID', () => {
  const decodeEvent = (w: unknown) => trainingWire.subscribeResponse.fromProto(w);

  it.each(SECAGG_STAGES)('a step call (%s)', (stage) => {
    const call = recorded.calls.find(
      (c) => c.stage === stage && (c.stage !== 'unmask' || c.dropped.length > 0),
    )!;
    const base = wire.event(trainingWire.subscribeResponse.toProto({ kind: 'step', step: call }));
    const tampers: Tamper[] = [
      ['a job id that is not a UUID v4', ['step', 'aggregation', 'jobId'], NOT_V4],
      ['an unknown stage', ['step', 'stage'], 'share_secrets'],
      ['an unknown task', ['step', 'aggregation', 'task'], 'Train'],
      ['an invalid member', ['step', 'members'], ['bank-a', 'bank b']],
      ['17 members', ['step', 'members'], Array.from({ length: 17 }, (_, i) => `bank-${i}`)],
      ['an invalid survivor', ['step', 'survivors'], ['bank-a', '']],
      ['an invalid dropped member', ['step', 'dropped'], ['Bank-c']],
    ];
    if (stage === 'share_keys')
      tampers.push(
        ['a relayed mask key of 31 bytes', ['step', 'keys', 1, 'maskKey'], bytes(31)],
        ['a relayed encryption key of 0 bytes', ['step', 'keys', 0, 'encryptionKey'], bytes(0)],
        ['a relayed key without a certificate', ['step', 'keys', 2, 'certificatePem'], ''],
      );
    if (stage === 'collect_masked_vectors')
      tampers.push(['a relayed box of 4097 bytes', ['step', 'boxes', 0, 'box'], bytes(4097)]);
    if (stage === 'unmask')
      tampers.push(
        ['an empty survivor signature', ['step', 'signatures', 0, 'signature'], bytes(0)],
        ['a survivor signature of an invalid member', ['step', 'signatures', 0, 'member'], 'x y'],
      );
    expectRefused(base, tampers, decodeEvent, wire.event);
  });

  it('an invitation: spec_json not JSON, or not a valid spec', () => {
    const spec = tinySpec();
    const base = wire.event(
      trainingWire.subscribeResponse.toProto({
        kind: 'invitation',
        invitation: {
          jobId: JOB,
          initiator: 'bank-a',
          participants: ['bank-a', 'bank-b'],
          spec,
          dataset: null,
        },
      }),
    );
    const specWith = (field: string, value: unknown) =>
      JSON.stringify({ ...JSON.parse(canonicalJson(spec)), [field]: value });
    const specJson = ['invitation', 'specJson'];
    expectRefused(
      base,
      [
        ['spec_json not JSON', specJson, '{"kind": "horizontal",'],
        ['spec_json empty', specJson, ''],
        ['spec_json a JSON array', specJson, '[]'],
        ['zero rounds', specJson, specWith('rounds', 0)],
        ['an unknown model', specJson, specWith('model', { type: 'forest' })],
        ['an unknown field', specJson, specWith('notes', 'hello')],
        ['the label among the features', specJson, specWith('label', 'income')],
        ['no features', specJson, specWith('features', [])],
        ['a seed that is not 32 bytes of hex', specJson, specWith('initSeed', 'ab')],
        ['minParticipants 1', specJson, specWith('minParticipants', 1)],
        ['the nil UUID as job id', ['invitation', 'jobId'], '00000000-0000-0000-0000-000000000000'],
        ['one participant', ['invitation', 'participants'], ['bank-a']],
        ['an invalid initiator', ['invitation', 'initiator'], 'Bank A'],
        ['a dataset name of 65 characters', ['invitation', 'dataset'], 'd'.repeat(65)],
      ],
      decodeEvent,
      wire.event,
    );
  });

  it('an aggregate and an end', () => {
    const aggregate = wire.event(
      trainingWire.subscribeResponse.toProto({
        kind: 'aggregate',
        aggregate: {
          aggregation: { jobId: JOB, task: 'stats', round: 0 },
          sum: Float64Array.from([1, 2]),
          contributors: ['bank-a', 'bank-b'],
        },
      }),
    );
    expectRefused(
      aggregate,
      [
        ['a sum of 12 bytes', ['aggregate', 'sum'], bytes(12)],
        ['an invalid contributor', ['aggregate', 'contributors'], ['bank-a', 'Bank-B']],
        ['an unknown task', ['aggregate', 'aggregation', 'task'], 'score'],
      ],
      decodeEvent,
      wire.event,
    );
    const failed = wire.event(
      trainingWire.subscribeResponse.toProto({
        kind: 'end',
        end: {
          jobId: JOB,
          outcome: 'failed',
          error: new AccordError('ACCORD_TRAINING_LOST'),
          by: 'bank-b',
          fingerprints: {},
        },
      }),
    );
    expectRefused(
      failed,
      [
        ['failed without an error', ['end', 'error'], bytes(0)],
        ['done with an error', ['end', 'outcome'], 'done'],
        ['an unknown outcome', ['end', 'outcome'], 'exploded'],
        ['an invalid member', ['end', 'by'], 'BANK'],
        ['a job id that is not a UUID', ['end', 'jobId'], 'x'],
      ],
      decodeEvent,
      wire.event,
    );
  });

  it('an event that names no kind', () => {
    expectWireInvalid(() => decodeEvent({}));
    expectWireInvalid(() => decodeEvent({ event: 'reveal', reveal: {} }));
    expectWireInvalid(() => decodeEvent(wire.event({})));
  });

  it('open, respond and cancel', () => {
    const spec = tinySpec();
    const open = trainingWire.openRequest.toProto({
      jobId: JOB,
      peers: ['bank-b'],
      spec,
      peerDatasets: {},
      fingerprint: '23'.repeat(32),
    });
    expectRefused(
      open,
      [
        ['no peers', ['peers'], []],
        ['16 peers', ['peers'], Array.from({ length: 16 }, (_, i) => `bank-${i}`)],
        ['spec_json not JSON', ['specJson'], 'rounds: 3'],
        ['spec_json not a spec', ['specJson'], '{"kind":"vertical"}'],
        ['a dataset for an invalid member', ['peerDatasets'], { 'Bank B': 'loans' }],
        ['a job id that is not a UUID v4', ['jobId'], NOT_V4],
      ],
      (w) => trainingWire.openRequest.fromProto(w),
      wire.open,
    );
    const r = trainingWire.respondRequest;
    const accept = r.toProto({
      kind: 'accept',
      jobId: JOB,
      specDigest: specDigest(spec),
      fingerprint: '45'.repeat(32),
    });
    expectRefused(
      accept,
      [
        ['both an acceptance and a decline', ['declineCode'], 'ACCORD_TRAINING_DECLINED'],
        ['an acceptance without a fingerprint', ['datasetFingerprint'], ''],
        ['a fingerprint that is not a SHA-256', ['datasetFingerprint'], 'abc'],
        ['neither', ['acceptSpecDigest'], ''],
        ['a digest that is not lowercase SHA-256 hex', ['acceptSpecDigest'], specDigest(spec).toUpperCase()],
        ['a digest one character short', ['acceptSpecDigest'], specDigest(spec).slice(1)],
        ['no job id', ['jobId'], ''],
      ],
      (w) => r.fromProto(w),
      wire.respond,
    );
    const decline = r.toProto({ kind: 'decline', jobId: JOB, code: 'ACCORD_TRAINING_POLICY_REFUSED' });
    expectRefused(
      decline,
      [
        ['a decline code outside the registry', ['declineCode'], 'ACCORD_NOT_A_CODE'],
        ['a decline code that is not a code', ['declineCode'], 'no thanks'],
      ],
      (w) => r.fromProto(w),
      wire.respond,
    );
    const cancel = trainingWire.cancelRequest.toProto({ jobId: JOB, code: 'ACCORD_TRAINING_CANCELLED' });
    expectRefused(
      cancel,
      [
        ['a code outside the registry', ['code'], 'ACCORD_BECAUSE'],
        ['no code', ['code'], ''],
        ['a job id that is not a UUID v4', ['jobId'], 'job'],
      ],
      (w) => trainingWire.cancelRequest.fromProto(w),
      wire.cancel,
    );
  });
});
