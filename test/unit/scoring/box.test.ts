/**
 * The receive window of a scoring channel (primitives/scoring/box.ts): boxes relayed out of order open, a box seen
 * before or older than the window is ACCORD_SCORING_REPLAYED, and a forged box (it does not authenticate) moves
 * nothing.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ScoringChannel } from '../../../primitives/scoring/box.js';
import { X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { thrown } from '../../helpers/thrown.js';

function pair() {
  const modelJob = randomUUID();
  const [l, p] = [X25519KeyPair.generate(), X25519KeyPair.generate()];
  const common = { modelJob } as const;
  const asker = ScoringChannel.agree({
    ...common,
    self: 'bank-a',
    peer: 'bank-b',
    role: 'requester',
    mine: l,
    peerKey: p.publicKey,
  });
  const partner = ScoringChannel.agree({
    ...common,
    self: 'bank-b',
    peer: 'bank-a',
    role: 'responder',
    mine: p,
    peerKey: l.publicKey,
  });
  const place = { alignment: 'al', count: 1 } as const;
  const seal = () => {
    const requestId = randomUUID();
    return { requestId, box: asker.sealRequest({ ...place, requestId }, Uint32Array.of(7)) };
  };
  const open = ({ requestId, box }: { requestId: string; box: Uint8Array }) =>
    partner.openRequest(
      { ...place, requestId, from: 'bank-a', to: 'bank-b', modelJob, channel: asker.id },
      box,
    );
  return { seal, open };
}

describe('the receive window of a scoring channel', () => {
  it('opens boxes out of order once each, and refuses one seen before or older than the window', () => {
    const { seal, open } = pair();
    const boxes = Array.from({ length: 5 }, seal);
    for (const i of [3, 0, 4, 1]) expect([...open(boxes[i]!)]).toEqual([7]);
    for (const i of [3, 0])
      expect(() => open(boxes[i]!)).toThrow(expect.objectContaining({ code: 'ACCORD_SCORING_REPLAYED' }));
    // A forged box (its tag flipped) does not open and moves nothing: box 2 still opens.
    const forged = Uint8Array.from(boxes[2]!.box);
    forged[forged.length - 1]! ^= 1;
    expect(() => open({ ...boxes[2]!, box: forged })).toThrow(
      expect.objectContaining({ code: 'ACCORD_SCORING_BOX_INVALID' }),
    );
    expect([...open(boxes[2]!)]).toEqual([7]);
    // Far ahead: what is now older than the window is refused even though it was never opened.
    const late = seal();
    for (let i = 0; i < REPLAY_WINDOW; i++) seal();
    expect([...open(seal())]).toEqual([7]);
    const refused = thrown(() => open(late));
    expect(refused).toMatchObject({ code: 'ACCORD_SCORING_REPLAYED', params: { from: 'bank-a' } });
  });
});
