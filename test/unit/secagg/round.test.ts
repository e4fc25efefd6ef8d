/**
 * Full rounds in process: the unmasked sum equals the plain sum over the survivors exactly in the ring, with
 * participants dropping at every stage, and the round fails with ACCORD_SECAGG_TOO_FEW_SURVIVORS when too many do.
 */
import { describe, expect, it } from 'vitest';
import {
  chooseFixedPoint,
  decodeFixedPointSum,
  encodeFixedPoint,
  fixedPointErrorBound,
} from '../../../primitives/secagg/fixed-point.js';
import { thrown } from '../../helpers/thrown.js';
import { type DropStage, type Drops, names, plainSum, RoundDriver, randomInputs } from './harness.js';

const LANES = 257;

function expectSum(n: number, drops: Drops, lanes = LANES, extra: { neighbours?: number } = {}) {
  const participants = names(n);
  const driver = new RoundDriver({ session: 'job-1', round: 3, participants, lanes, ...extra });
  const inputs = randomInputs(participants, lanes);
  const result = driver.run(inputs, drops);
  const gone = new Set([...(drops.setup ?? []), ...(drops.keys ?? []), ...(drops.shares ?? [])]);
  const expected = participants.filter((m) => !gone.has(m));
  expect(result.survivors).toEqual(expected);
  expect(result.sum).toEqual(plainSum(inputs, expected, lanes));
  return driver;
}

describe('a full round', () => {
  it.each([3, 5, 10])('sums %i participants exactly with nobody dropping', (n) => {
    const driver = expectSum(n, {});
    expect(driver.plan.neighbourCount).toBe(n - 1);
    expect(driver.plan.threshold).toBe(Math.floor(n / 2) + 1);
  });

  const stages: DropStage[] = ['setup', 'keys', 'shares', 'vector', 'signature'];
  // The most each size tolerates at one stage: t = q = floor(n/2) + 1 must remain.
  const cases: [number, number][] = [
    [3, 1],
    [5, 2],
    [10, 4],
  ];
  for (const [n, most] of cases) {
    it.each(stages)(`sums ${n} participants when ${most} drop at stage %s`, (stage) => {
      expectSum(n, { [stage]: names(n).slice(1, 1 + most) });
    });
  }

  it('sums when participants drop at several stages of one round', () => {
    const m = names(10);
    // After: 1 gone before its vector (dropped), 1 silent after its vector, 1 silent after signing (both survivors).
    expectSum(10, { shares: [m[2]!], vector: [m[5]!], signature: [m[9]!] });
    expectSum(10, { setup: [m[0]!], keys: [m[4]!], vector: [m[7]!] });
  });

  it('counts a participant that drops after sending its vector, and not one that drops before', () => {
    const m = names(5);
    const driver = expectSum(5, { shares: [m[1]!], signature: [m[3]!] });
    expect(driver.clients.get(m[3]!)!.stage).toBe('done');
  });

  it('uses the sparse SecAgg+ graph for larger rounds and still sums exactly with 10% dropping', () => {
    const m = names(30);
    const driver = expectSum(30, { keys: [m[3]!], shares: [m[11]!], vector: [m[20]!] }, 64);
    expect(driver.plan.neighbourCount).toBeLessThan(29);
    expect(driver.plan.neighbourCount % 2).toBe(0);
  });

  it('sums a fixed-point encoding of real-valued updates within the quantisation bound', () => {
    const participants = names(5);
    const codec = chooseFixedPoint({ clip: 4, maxParticipants: 5 });
    const values = participants.map(() =>
      Float64Array.from({ length: 100 }, () => (Math.random() - 0.5) * 10),
    );
    const encoded = values.map((v) => encodeFixedPoint(v, codec));
    const inputs = new Map(participants.map((m, i) => [m, encoded[i]!.lanes]));
    const driver = new RoundDriver({ session: 'job-2', round: 1, participants, lanes: 100 });
    const decoded = decodeFixedPointSum(driver.run(inputs).sum, codec);
    const bound = fixedPointErrorBound(5, codec.fractionBits);
    for (let i = 0; i < 100; i++) {
      const clamped = values.reduce((s, v) => s + Math.max(-4, Math.min(4, v[i]!)), 0);
      expect(Math.abs(decoded[i]! - clamped)).toBeLessThanOrEqual(bound);
    }
    expect(encoded.reduce((s, e) => s + e.clipped, 0)).toBeGreaterThan(0);
  });
});

describe('too few survivors', () => {
  const tooFew = (fn: () => unknown) => expect(thrown(fn).code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');

  it('fails at setup when fewer than the threshold send keys', () => {
    const m = names(5);
    const driver = new RoundDriver({ session: 's', round: 1, participants: m, lanes: 8 });
    tooFew(() => driver.setup(m.slice(0, 3)));
  });

  it('fails at share keys, collection, consistency and unmask when too many go silent', () => {
    const m = names(5);
    const inputs = randomInputs(m, 8);
    const drop = m.slice(0, 3);

    let d = new RoundDriver({ session: 's', round: 1, participants: m, lanes: 8 });
    tooFew(() => d.shareKeys(d.setup(), drop));

    d = new RoundDriver({ session: 's', round: 1, participants: m, lanes: 8 });
    let boxes = d.shareKeys(d.setup());
    tooFew(() => d.collect(boxes, inputs, drop));

    d = new RoundDriver({ session: 's', round: 1, participants: m, lanes: 8 });
    boxes = d.shareKeys(d.setup());
    const survivors = d.collect(boxes, inputs);
    tooFew(() => d.consistency(survivors, drop));

    d = new RoundDriver({ session: 's', round: 1, participants: m, lanes: 8 });
    const requests = d.consistency(d.collect(d.shareKeys(d.setup()), inputs));
    tooFew(() => d.unmask(requests, drop));
  });

  it('honours minSurvivors above the quorum', () => {
    const m = names(5);
    const driver = new RoundDriver({ session: 's', round: 1, participants: m, lanes: 8, minSurvivors: 5 });
    expect(driver.plan.minSurvivors).toBe(5);
    expect(driver.plan.quorum).toBe(5); // every survivor must sign the survivor list
    tooFew(() => driver.setup([m[0]!]));
  });
});
