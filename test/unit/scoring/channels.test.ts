/**
 * A partner's scoring channels (node/scoring/channels.ts ResponderChannels): one per (label holder, model job), the
 * latest hello's replacing the previous, so a label holder saying hello again and again keeps one channel and never
 * pushes out another label holder's. Real member certificates of a throwaway CA (harness.ts).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResponderChannels } from '../../../node/scoring/channels.js';
import { channelId, scoringKeyMessage } from '../../../primitives/scoring/box.js';
import type { SignedScoringKey } from '../../../primitives/scoring/protocol.js';
import { X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { thrown } from '../../helpers/thrown.js';
import { keysOf } from './harness.js';

const partner = new ResponderChannels('bank-b', keysOf('bank-b').signer, keysOf('bank-b').verifier);

/** `from`'s signed hello key for `modelJob` (one a sender, reused: the partner draws a fresh key each hello). */
const keys = new Map<string, { pair: X25519KeyPair; key: SignedScoringKey }>();
/** `from` says hello for `modelJob`; returns the id of the channel agreed. */
function hello(from: string, modelJob: string): Uint8Array {
  let mine = keys.get(`${from}/${modelJob}`);
  if (!mine) {
    const { signer } = keysOf(from);
    const pair = X25519KeyPair.generate();
    mine = {
      pair,
      key: {
        member: from,
        boxKey: pair.publicKey,
        signature: signer.sign(scoringKeyMessage(modelJob, from, 'bank-b', pair.publicKey)),
        certificatePem: signer.certificatePem,
      },
    };
    keys.set(`${from}/${modelJob}`, mine);
  }
  const answer = partner.accept(from, modelJob, mine.key);
  return channelId(modelJob, from, 'bank-b', mine.pair.publicKey, answer.boxKey);
}

describe("a partner's scoring channels", () => {
  it('keeps one channel per label holder and model job: a new hello replaces the old, and pushes out no other', () => {
    const [jobA, jobC] = [randomUUID(), randomUUID()];
    const ofA = hello('bank-a', jobA);
    expect(partner.get(ofA, 'bank-a', jobA).peer).toBe('bank-a');
    // bank-c (the label holder of another model) says hello over and over.
    const first = hello('bank-c', jobC);
    let last = first;
    for (let i = 0; i < 1030; i++) last = hello('bank-c', jobC);
    expect(partner.get(last, 'bank-c', jobC).peer).toBe('bank-c');
    expect(thrown(() => partner.get(first, 'bank-c', jobC))).toMatchObject({
      code: 'ACCORD_SCORING_CHANNEL_UNKNOWN',
    });
    // bank-a's channel is still there, and only for bank-a and its job.
    expect(partner.get(ofA, 'bank-a', jobA).modelJob).toBe(jobA);
    expect(thrown(() => partner.get(ofA, 'bank-c', jobA)).code).toBe('ACCORD_SCORING_CHANNEL_UNKNOWN');
    expect(thrown(() => partner.get(ofA, 'bank-a', jobC)).code).toBe('ACCORD_SCORING_CHANNEL_UNKNOWN');
  });
});
