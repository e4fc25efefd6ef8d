/** RingStreams (primitives/psi/session-protocol.ts): the stream checks the coordinator and every member apply. */
import { describe, expect, it } from 'vitest';
import { RingStreams } from '../../../primitives/psi/session-protocol.js';

const batch = (batchIndex: number, count: number, last: boolean, origin = 'bank-a', hop = 1) => ({
  origin,
  hop,
  batchIndex,
  count,
  last,
});

describe('RingStreams', () => {
  it('accepts batches in order up to exactly the announced size, per (origin, hop)', () => {
    const streams = new RingStreams();
    expect(streams.accept(batch(0, 3, false), 5)).toBeNull();
    expect(streams.accept(batch(0, 5, true, 'bank-a', 2), 5)).toBeNull(); // another hop: its own stream
    expect(streams.accept(batch(1, 2, true), 5)).toBeNull();
  });

  it('names what is wrong: out of order, after the last, beyond the size, short at the end', () => {
    const streams = new RingStreams();
    expect(streams.accept(batch(1, 1, false), 5)).toEqual({ problem: 'order', received: 1 });
    expect(streams.accept(batch(0, 6, false), 5)).toEqual({ problem: 'over', received: 6 });
    expect(streams.accept(batch(0, 4, true), 5)).toEqual({ problem: 'short', received: 4 });
    expect(streams.accept(batch(0, 5, true), 5)).toBeNull();
    expect(streams.accept(batch(1, 0, true), 5)).toEqual({ problem: 'order', received: 5 });
  });
});
