/**
 * A real CoordinatorJob (coordinator/training/job.ts) driven in process with three and five real members
 * (`job-harness.ts`: a SecAggParticipant each, signing with a certificate of one test CA). Each member contributes
 * known values to every aggregation; each AggregateResult must hold their sum (within the codec's resolution) over
 * exactly the members whose vectors are in it. Members drop at every point of an aggregation (inbox gone, inbox
 * reported closed, silence past the deadline), before and after their vector; misbehaviour fails the job for
 * everyone with the code that names it: a vector of the wrong length, a relayed key swapped, a share box altered,
 * too few members.
 */
import { describe, expect, it } from 'vitest';
import { aggregationLanes, aggregationPlan } from '../../../models/federated/aggregates.js';
import { memberSigner } from '../../../platform/tls/member-signature.js';
import { createAuthority } from '../../../platform/tls/issue.js';
import { X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { signedKeysMessage } from '../../../primitives/secagg/protocol.js';
import type { SecAggStage } from '../../../primitives/secagg/stages.js';
import type {
  AggregationId,
  AggregationTask,
  SignedKeys,
  StepCall,
} from '../../../primitives/training/job-protocol.js';
import { specDigest } from '../../../primitives/training/spec.js';
import { thrown } from '../../helpers/thrown.js';
import { memberTls } from '../../helpers/test-pki.js';
import {
  CONSORTIUM,
  type HarnessOptions,
  JobHarness,
  memberNames,
  type StepAction,
  fingerprintOf,
  sumBound,
  tinySpec,
  valuesOf,
} from './job-harness.js';

const [A, B, C, D, E] = memberNames(5) as [string, string, string, string, string];
const ALL3 = [A, B, C];

type Expected = readonly [task: AggregationTask, round: number, contributors: readonly string[]];

/** Every expected aggregation, in order, with its contributors; each sum is the sum of their known values. */
function expectAggregates(h: JobHarness, expected: readonly Expected[], receivers: readonly string[]): void {
  const id = (task: AggregationTask, round: number): AggregationId => ({ jobId: h.job.id, task, round });
  expect(h.aggregated).toEqual(
    expected.map(([task, round, contributors]) => ({ id: id(task, round), contributors })),
  );
  const reference = h.aggregatesOf(receivers[0]!);
  expect(reference.map((a) => a.aggregation)).toEqual(expected.map(([task, round]) => id(task, round)));
  expected.forEach(([task, round, contributors], i) => {
    const got = reference[i]!;
    expect(got.contributors).toEqual(contributors);
    const values = contributors.map((m) => valuesOf(h.spec, m, id(task, round)));
    const bound = sumBound(h.spec, task, contributors.length);
    expect(got.sum.length).toBe(values[0]!.length);
    let worst = 0;
    for (let j = 0; j < got.sum.length; j++) {
      const sum = values.reduce((s, v) => s + v[j]!, 0);
      worst = Math.max(worst, Math.abs(got.sum[j]! - sum));
    }
    expect(worst, `${task} ${round}`).toBeLessThanOrEqual(bound);
  });
  // Everyone else connected at the time got the very same sums.
  for (const m of receivers.slice(1)) {
    for (const a of h.aggregatesOf(m)) {
      const same = reference.find((r) => r.key === a.key)!;
      expect(a.contributors).toEqual(same.contributors);
      expect(Buffer.from(a.sum.buffer).equals(Buffer.from(same.sum.buffer))).toBe(true);
    }
  }
}

function expectEnds(h: JobHarness, members: readonly string[], outcome: string, code?: string): void {
  for (const m of members) {
    const ends = h.endsOf(m);
    expect(ends, m).toHaveLength(1);
    expect(ends[0]!.outcome).toBe(outcome);
    expect(ends[0]!.jobId).toBe(h.job.id);
    if (code) expect(ends[0]!.error?.code).toBe(code);
    else expect(ends[0]!.error).toBeNull();
  }
}

/** A script acting at one stage of one aggregation and answering everywhere else. */
function at(task: AggregationTask, stage: SecAggStage, action: StepAction, round = task === 'stats' ? 0 : 1) {
  return {
    onStep: (c: StepCall): StepAction =>
      c.aggregation.task === task && c.aggregation.round === round && c.stage === stage ? action : 'answer',
  };
}

describe('a job where every member answers', () => {
  it('three members, two rounds: every sum is the sum of their values, every member gets it, and done', async () => {
    const h = new JobHarness({ spec: tinySpec({ rounds: 2 }) });
    const end = await h.run();
    expect(end).toEqual({ outcome: 'done', error: null, by: null });
    expectAggregates(
      h,
      [
        ['stats', 0, ALL3],
        ['train', 1, ALL3],
        ['eval', 1, ALL3],
        ['train', 2, ALL3],
        ['eval', 2, ALL3],
      ],
      ALL3,
    );
    for (const m of ALL3) expect(h.aggregatesOf(m)).toHaveLength(5);
    expectEnds(h, ALL3, 'done');
    expect(h.stepErrors).toEqual([]);
    // The end comes after the last sum.
    expect(h.events.get(A)!.at(-1)!.kind).toBe('end');
  });

  it('five members, an MLP', async () => {
    const members = memberNames(5);
    const h = new JobHarness({
      members,
      spec: tinySpec({ model: { type: 'mlp', hidden: [4] }, minParticipants: 3 }),
    });
    expect((await h.run()).outcome).toBe('done');
    expectAggregates(
      h,
      [
        ['stats', 0, members],
        ['train', 1, members],
        ['eval', 1, members],
      ],
      members,
    );
    // Each vector had the length the spec gives, and the coordinator sent every stage to every member.
    const train = h.replies.filter(
      (r) => r.reply.stage === 'collect_masked_vectors' && r.reply.aggregation.task === 'train',
    );
    for (const { reply } of train)
      if (reply.stage === 'collect_masked_vectors')
        expect(reply.masked.length).toBe(aggregationLanes(h.spec, 'train'));
    expect(train.map((r) => r.member).sort()).toEqual(members);
  });

  it('refuses an acceptance of another spec', () => {
    const h = new JobHarness();
    const other = specDigest(tinySpec({ rounds: 2 }));
    expect(thrown(() => h.job.accept(B, other, fingerprintOf(B))).code).toBe('ACCORD_TRAINING_SPEC_MISMATCH');
    expect(h.job.accept(B, specDigest(h.spec), fingerprintOf(B))).toBe(false);
    expect(h.job.accept(C, specDigest(h.spec), fingerprintOf(C))).toBe(true);
  });
});

describe('a member that drops', () => {
  // Short deadlines: a silent member costs one stage timeout.
  const fast: HarnessOptions = { stageTimeoutMs: 200, vectorTimeoutMs: 200 };

  const afterVector: [string, StepAction][] = [
    ['its inbox is reported closed (memberLost)', 'lost'],
    ['its inbox is gone (delivery rejects)', 'gone'],
  ];
  it.each(afterVector)(
    'after sending its masked vector, when %s: its vector still counts, then it is left out',
    async (_how, action) => {
      const h = new JobHarness({ ...fast, scripts: { [C]: at('train', 'consistency_check', action) } });
      expect((await h.run()).outcome).toBe('done');
      expectAggregates(
        h,
        [
          ['stats', 0, ALL3],
          ['train', 1, ALL3],
          ['eval', 1, [A, B]],
        ],
        [A, B],
      );
      // C heard nothing of the eval, nor the end (its inbox was closed).
      expect(h.calls.filter((c) => c.member === C && c.call.aggregation.task === 'eval')).toEqual([]);
      expectEnds(h, [A, B], 'done');
      expect(h.endsOf(C)).toEqual([]);
    },
  );

  it('after sending its masked vector, when it goes silent past the deadline: counted, and back for the next', async () => {
    const h = new JobHarness({ ...fast, scripts: { [C]: at('train', 'consistency_check', 'silent') } });
    expect((await h.run()).outcome).toBe('done');
    expectAggregates(
      h,
      [
        ['stats', 0, ALL3],
        ['train', 1, ALL3],
        ['eval', 1, ALL3],
      ],
      ALL3,
    );
    // The unmask stage went to A and B only.
    const unmask = h.calls.filter((c) => c.call.stage === 'unmask' && c.call.aggregation.task === 'train');
    expect(unmask.map((c) => c.member)).toEqual([A, B]);
    expectEnds(h, ALL3, 'done');
  });

  const beforeVector: [string, SecAggStage, StepAction][] = [
    ['inbox reported closed, after its keys and boxes', 'collect_masked_vectors', 'lost'],
    ['inbox gone, after its keys and boxes', 'collect_masked_vectors', 'gone'],
    ['inbox gone, after its keys', 'share_keys', 'gone'],
    ['inbox gone, at setup', 'setup', 'gone'],
  ];
  it.each(beforeVector)(
    'before sending its masked vector (%s): the sum is over the survivors',
    async (_how, stage, action) => {
      const h = new JobHarness({ ...fast, scripts: { [C]: at('train', stage, action) } });
      expect((await h.run()).outcome).toBe('done');
      expectAggregates(
        h,
        [
          ['stats', 0, ALL3],
          ['train', 1, [A, B]],
          ['eval', 1, [A, B]],
        ],
        [A, B],
      );
      expectEnds(h, [A, B], 'done');
    },
  );

  it('before sending its vector, silent past the deadline: left out of that sum, back for the next', async () => {
    const h = new JobHarness({ ...fast, scripts: { [C]: at('train', 'collect_masked_vectors', 'silent') } });
    expect((await h.run()).outcome).toBe('done');
    expectAggregates(
      h,
      [
        ['stats', 0, ALL3],
        ['train', 1, [A, B]],
        ['eval', 1, ALL3],
      ],
      ALL3,
    );
    // Its partners were asked for the shares of its mask key, so that its pairwise masks could be removed.
    const unmask = h.calls.filter((c) => c.call.stage === 'unmask' && c.call.aggregation.task === 'train');
    for (const { call } of unmask) if (call.stage === 'unmask') expect(call.dropped).toEqual([C]);
  });

  it('and comes back: it gets the sums it missed before its next aggregation, and takes part', async () => {
    const ref: { h?: JobHarness } = {};
    const h = new JobHarness({
      ...fast,
      scripts: { [C]: at('train', 'collect_masked_vectors', 'gone') },
      onAggregated: (id) => {
        if (id.task === 'train') ref.h!.reconnect(C);
      },
    });
    ref.h = h;
    expect((await h.run()).outcome).toBe('done');
    expectAggregates(
      h,
      [
        ['stats', 0, ALL3],
        ['train', 1, [A, B]],
        ['eval', 1, ALL3],
      ],
      ALL3,
    );
    const seen = h.events.get(C)!;
    const trainSum = seen.findIndex(
      (e) => e.kind === 'aggregate' && e.aggregate.aggregation.task === 'train',
    );
    const evalSetup = seen.findIndex((e) => e.kind === 'step' && e.step.aggregation.task === 'eval');
    expect(trainSum).toBeGreaterThanOrEqual(0);
    expect(trainSum).toBeLessThan(evalSetup);
    expectEnds(h, ALL3, 'done');
  });

  it('five members, one before and one after its vector: the sum holds the four vectors sent', async () => {
    const members = memberNames(5);
    const h = new JobHarness({
      ...fast,
      members,
      scripts: {
        [D]: at('train', 'collect_masked_vectors', 'lost'),
        [E]: at('train', 'consistency_check', 'lost'),
      },
    });
    expect((await h.run()).outcome).toBe('done');
    expectAggregates(
      h,
      [
        ['stats', 0, members],
        ['train', 1, [A, B, C, E]],
        ['eval', 1, [A, B, C]],
      ],
      [A, B, C],
    );
  });

  it('answers late, after the deadline: refused to it alone, the job goes on without it', async () => {
    const members = memberNames(5);
    const h = new JobHarness({
      ...fast,
      members,
      lateMs: 300,
      scripts: {
        // C's vector comes 100 ms after the deadline, while the consistency check waits on D (silent).
        [C]: at('train', 'collect_masked_vectors', 'late'),
        [D]: at('train', 'consistency_check', 'silent'),
      },
    });
    expect((await h.run()).outcome).toBe('done');
    expectAggregates(
      h,
      [
        ['stats', 0, members],
        ['train', 1, [A, B, D, E]],
        ['eval', 1, members],
      ],
      members,
    );
    expect(h.stepErrors.map((e) => [e.member, e.error.code])).toEqual([[C, 'ACCORD_SECAGG_PROTOCOL']]);
    expectEnds(h, members, 'done');
  });

  const notInStats: [string, HarnessOptions][] = [
    [
      'silent at the statistics vector',
      { scripts: { [C]: at('stats', 'collect_masked_vectors', 'silent') } },
    ],
    ['offline for the statistics', { offline: [C] }],
  ];
  it.each(notInStats)(
    'whose rows are not in the statistics (%s) takes no part in training',
    async (_how, opts) => {
      const ref: { h?: JobHarness } = {};
      const h = new JobHarness({
        ...fast,
        ...opts,
        onAggregated: (id) => {
          if (id.task === 'stats') ref.h!.reconnect(C);
        },
      });
      ref.h = h;
      expect((await h.run()).outcome).toBe('done');
      expectAggregates(
        h,
        [
          ['stats', 0, [A, B]],
          ['train', 1, [A, B]],
          ['eval', 1, [A, B]],
        ],
        [A, B],
      );
      expect(h.calls.filter((c) => c.member === C && c.call.aggregation.task !== 'stats')).toEqual([]);
    },
  );

  it('whose inbox reopened gets the latest sums again before its next aggregation', async () => {
    const ref: { h?: JobHarness } = {};
    const h = new JobHarness({
      // C's inbox reopens as the train sum is about to go out: what went down the old stream may be lost.
      onAggregated: (id) => {
        if (id.task === 'train') ref.h!.job.memberBack(C);
      },
    });
    ref.h = h;
    expect((await h.run()).outcome).toBe('done');
    const seen = h.events.get(C)!;
    const sumsOf = (task: AggregationTask) =>
      seen.flatMap((e, i) => (e.kind === 'aggregate' && e.aggregate.aggregation.task === task ? [i] : []));
    const evalSetup = seen.findIndex((e) => e.kind === 'step' && e.step.aggregation.task === 'eval');
    expect(sumsOf('stats')).toHaveLength(2);
    expect(sumsOf('train')).toHaveLength(2);
    expect(Math.max(...sumsOf('stats'), ...sumsOf('train'))).toBeLessThan(evalSetup);
    // A and B, whose inboxes stayed open, got each once.
    for (const m of [A, B]) expect(h.aggregatesOf(m)).toHaveLength(3);
    expectAggregates(
      h,
      [
        ['stats', 0, ALL3],
        ['train', 1, ALL3],
        ['eval', 1, ALL3],
      ],
      ALL3,
    );
  });
});

describe('a job that fails', () => {
  it('on a masked vector of the wrong length: ACCORD_SECAGG_VECTOR_LENGTH naming its sender, for everyone', async () => {
    const h = new JobHarness({
      scripts: {
        [B]: {
          tamperReply: (r) =>
            r.stage === 'collect_masked_vectors' && r.aggregation.task === 'train'
              ? { ...r, masked: Uint32Array.from([...r.masked, 7]) }
              : r,
        },
      },
    });
    const end = await h.run();
    expect(end.outcome).toBe('failed');
    expect(end.error?.code).toBe('ACCORD_SECAGG_VECTOR_LENGTH');
    const lanes = aggregationLanes(h.spec, 'train');
    expect(end.error?.params).toMatchObject({ member: B, actual: lanes + 1, expected: lanes });
    expectEnds(h, ALL3, 'failed', 'ACCORD_SECAGG_VECTOR_LENGTH');
    for (const m of ALL3) expect(h.endsOf(m)[0]!.error?.params['member']).toBe(B);
    // Nothing of that aggregation was decoded or sent.
    expect(h.aggregated.map((a) => a.id.task)).toEqual(['stats']);
    for (const m of ALL3) expect(h.aggregatesOf(m).map((a) => a.aggregation.task)).toEqual(['stats']);
  });

  it('on a setup answer carrying another member’s keys: ACCORD_SECAGG_PROTOCOL', async () => {
    const h = new JobHarness({
      scripts: {
        [B]: { tamperReply: (r) => (r.stage === 'setup' ? { ...r, keys: { ...r.keys, member: C } } : r) },
      },
    });
    const end = await h.run();
    expect(end.outcome).toBe('failed');
    expect(end.error?.code).toBe('ACCORD_SECAGG_PROTOCOL');
    expect(h.stepErrors[0]).toMatchObject({ member: B, error: { code: 'ACCORD_SECAGG_PROTOCOL' } });
    expectEnds(h, ALL3, 'failed', 'ACCORD_SECAGG_PROTOCOL');
    expect(h.aggregated).toEqual([]);
  });

  const rogue = createAuthority(CONSORTIUM); // same consortium name, another key: not the consortium's CA
  const swaps: [string, (k: SignedKeys, h: JobHarness, id: AggregationId) => SignedKeys][] = [
    ['its encryption key swapped', (k) => ({ ...k, encryptionKey: X25519KeyPair.generate().publicKey })],
    ['its mask key swapped', (k) => ({ ...k, maskKey: X25519KeyPair.generate().publicKey })],
    ['its self-mask commitment swapped', (k) => ({ ...k, selfMaskCommitment: new Uint8Array(32).fill(9) })],
    [
      'new keys signed with a certificate for it from another CA',
      (k, h, id) => {
        const signer = memberSigner(memberTls(rogue, CONSORTIUM, k.member));
        const keys = { ...k, maskKey: X25519KeyPair.generate().publicKey };
        const plan = aggregationPlan(h.spec, id, h.members);
        return {
          ...keys,
          signature: signer.sign(signedKeysMessage(plan, keys)),
          certificatePem: signer.certificatePem,
        };
      },
    ],
    [
      'new keys signed by another member of the consortium (its own certificate)',
      (k, h, id) => {
        const signer = h.pki.signer(C);
        const keys = { ...k, maskKey: X25519KeyPair.generate().publicKey };
        const plan = aggregationPlan(h.spec, id, h.members);
        return {
          ...keys,
          signature: signer.sign(signedKeysMessage(plan, keys)),
          certificatePem: signer.certificatePem,
        };
      },
    ],
  ];
  it.each(swaps)(
    'on a relayed key of B with %s: A refuses with ACCORD_SECAGG_SIGNATURE_INVALID naming B',
    async (_what, swap) => {
      const ref: { h?: JobHarness } = {};
      const h = new JobHarness({
        scripts: {
          [A]: {
            tamperCall: (c) =>
              c.stage === 'share_keys' && c.aggregation.task === 'train'
                ? { ...c, keys: c.keys.map((k) => (k.member === B ? swap(k, ref.h!, c.aggregation) : k)) }
                : c,
          },
        },
      });
      ref.h = h;
      const end = await h.run();
      const err = h.participantErrors.get(A);
      expect(err?.code).toBe('ACCORD_SECAGG_SIGNATURE_INVALID');
      expect(err?.params['member']).toBe(B);
      expect([...h.participantErrors.keys()]).toEqual([A]);
      expect(end).toMatchObject({ outcome: 'failed', by: A });
      expect(end.error?.code).toBe('ACCORD_SECAGG_SIGNATURE_INVALID');
      expectEnds(h, ALL3, 'failed', 'ACCORD_SECAGG_SIGNATURE_INVALID');
      expect(h.aggregated.map((a) => a.id.task)).toEqual(['stats']);
    },
  );

  const boxTampers: [string, (c: Extract<StepCall, { stage: 'collect_masked_vectors' }>) => StepCall][] = [
    [
      'a bit flipped in a share box',
      (c) => {
        const box = c.boxes[0]!.box.slice();
        box[box.length - 1]! ^= 0x01;
        return { ...c, boxes: [{ ...c.boxes[0]!, box }, ...c.boxes.slice(1)] };
      },
    ],
    [
      'two share boxes relabelled with each other’s sender',
      (c) => ({
        ...c,
        boxes: [
          { ...c.boxes[0]!, from: c.boxes[1]!.from },
          { ...c.boxes[1]!, from: c.boxes[0]!.from },
        ],
      }),
    ],
  ];
  it.each(boxTampers)(
    'on %s: the receiver refuses with ACCORD_SECAGG_SHARE_INVALID',
    async (_what, tamper) => {
      let firstSender = '';
      const h = new JobHarness({
        scripts: {
          [A]: {
            tamperCall: (c) => {
              if (c.stage !== 'collect_masked_vectors' || c.aggregation.task !== 'train') return c;
              const tampered = tamper(c);
              if (tampered.stage === 'collect_masked_vectors') firstSender = tampered.boxes[0]!.from;
              return tampered;
            },
          },
        },
      });
      const end = await h.run();
      const err = h.participantErrors.get(A);
      expect(err?.code).toBe('ACCORD_SECAGG_SHARE_INVALID');
      expect([B, C]).toContain(err?.params['member']);
      expect(err?.params['member']).toBe(firstSender);
      expect(end).toMatchObject({ outcome: 'failed', by: A });
      expectEnds(h, ALL3, 'failed', 'ACCORD_SECAGG_SHARE_INVALID');
      // A never sent a vector for that aggregation.
      expect(h.contributed.get(`${h.job.id}/train/1`)?.has(A) ?? false).toBe(false);
    },
  );

  it('with fewer members connected than minParticipants: ACCORD_SECAGG_TOO_FEW_SURVIVORS before any step', async () => {
    const h = new JobHarness({ spec: tinySpec({ minParticipants: 3 }), offline: [C] });
    const end = await h.run();
    expect(end.outcome).toBe('failed');
    expect(end.error?.code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
    expect(end.error?.params).toMatchObject({ survivors: 2, needed: 3 });
    expect(h.calls).toEqual([]);
    expectEnds(h, [A, B], 'failed', 'ACCORD_SECAGG_TOO_FEW_SURVIVORS');
  });

  it('with one member connected of three (minParticipants 2)', async () => {
    const h = new JobHarness({ offline: [B, C] });
    const end = await h.run();
    expect(end.error?.code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
    expect(h.calls).toEqual([]);
    expectEnds(h, [A], 'failed', 'ACCORD_SECAGG_TOO_FEW_SURVIVORS');
  });

  it('when a drop leaves fewer survivors than minParticipants mid-aggregation', async () => {
    const h = new JobHarness({
      spec: tinySpec({ minParticipants: 3 }),
      scripts: { [C]: at('train', 'collect_masked_vectors', 'lost') },
    });
    const end = await h.run();
    expect(end.outcome).toBe('failed');
    expect(end.error?.code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
    expect(h.aggregated.map((a) => a.id.task)).toEqual(['stats']);
    expectEnds(h, [A, B], 'failed', 'ACCORD_SECAGG_TOO_FEW_SURVIVORS');
  });
});
