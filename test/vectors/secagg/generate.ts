/**
 * Regenerates the secure-aggregation known-answer vectors in this folder from primitives/secagg, refusing to write
 * any value that the independent references (test/unit/secagg/reference.ts) do not reproduce. Run once:
 *   node --import tsx test/vectors/secagg/generate.ts
 * The vectors are a protocol fixture: if one ever needs to change, every partner bank must upgrade together.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { encodeFixedPoint, encodeWide } from '../../../primitives/secagg/fixed-point.js';
import { pairwiseSeed, X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { planRound } from '../../../primitives/secagg/neighbours.js';
import { expandMask } from '../../../primitives/secagg/prg.js';
import {
  selfMaskCommitment,
  signedKeysMessage,
  survivorsMessage,
} from '../../../primitives/secagg/protocol.js';
import { combine, PRIME, splitWithCoefficientsForTesting } from '../../../primitives/secagg/shamir.js';
import { SECAGG_LABEL } from '../../../primitives/secagg/stages.js';
import { RFC7748, refLanes, refShare } from '../../unit/secagg/reference.js';

const here = new URL('./', import.meta.url);
const write = (name: string, value: unknown) =>
  writeFileSync(new URL(name, here), JSON.stringify(value, null, 2) + '\n');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const counting = (n: number, start = 0) =>
  new Uint8Array(Array.from({ length: n }, (_, i) => (start + i) & 0xff));

function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`reference disagrees on ${what}; vectors not written`);
}

// ------------------------------------------------------------------------------------------------------------------
// PRG

const prgCases = [
  { seed: hex(counting(32)), label: SECAGG_LABEL.SELF_MASK, lanes: 8 },
  { seed: hex(counting(32)), label: SECAGG_LABEL.PAIR_MASK, lanes: 8 },
  { seed: hex(counting(32, 0xa0)), label: SECAGG_LABEL.PAIR_MASK, lanes: 5 },
  { seed: hex(new Uint8Array(32)), label: 'accord/secagg/v1/test', lanes: 1 },
  { seed: hex(counting(32, 7)), label: SECAGG_LABEL.SELF_MASK, lanes: 1000 },
  { seed: hex(counting(32, 7)), label: SECAGG_LABEL.SELF_MASK, lanes: 0 },
  // Crosses the 8192-lane chunks the keystream is produced in.
  { seed: hex(counting(32, 0x33)), label: SECAGG_LABEL.PAIR_MASK, lanes: 20_001 },
];
const prg = prgCases.map((c) => {
  const lanes = expandMask(fromHex(c.seed), c.lanes, c.label);
  check(
    `PRG ${c.label}`,
    JSON.stringify([...lanes]) === JSON.stringify(refLanes(fromHex(c.seed), c.label, c.lanes)),
  );
  return {
    ...c,
    iv: createHash('sha256').update(c.label).digest().subarray(0, 16).toString('hex'),
    firstLanes: [...lanes.subarray(0, 8)],
    sha256: createHash('sha256')
      .update(new Uint8Array(lanes.buffer, lanes.byteOffset, lanes.byteLength))
      .digest('hex'),
  };
});
write('prg.json', {
  description:
    'expandMask(seed, lanes, label): AES-256-CTR keystream under key = seed, initial counter block = SHA-256(label)[0..16] (128-bit big-endian counter), read as little-endian u32 lanes. firstLanes: up to the first 8 lanes; sha256: of all lanes as little-endian bytes.',
  vectors: prg,
});

// ------------------------------------------------------------------------------------------------------------------
// Key agreement, signed keys, survivor list

const params = {
  session: 'job-2024-0001',
  round: 7,
  participants: ['bank-c', 'bank-a', 'bank-b'],
  lanes: 1000,
};
const plan = planRound(params);
const alice = X25519KeyPair.fromSecretForTesting(fromHex(RFC7748.alicePrivate));
const bob = X25519KeyPair.fromSecretForTesting(fromHex(RFC7748.bobPrivate));
check(
  'X25519 public keys',
  hex(alice.publicKey) === RFC7748.alicePublic && hex(bob.publicKey) === RFC7748.bobPublic,
);
check('X25519 shared secret', hex(alice.sharedSecret(bob.publicKey)) === RFC7748.shared);
const context = { session: params.session, round: params.round, a: 'bank-b', b: 'bank-a' };
const seedAB = pairwiseSeed(alice, bob.publicKey, context);
check(
  'pairwise seed symmetry',
  hex(seedAB) === hex(pairwiseSeed(bob, alice.publicKey, { ...context, a: 'bank-a', b: 'bank-b' })),
);
const selfMaskSeed = counting(32, 0x40);
const keys = {
  member: 'bank-b',
  encryptionKey: alice.publicKey,
  maskKey: bob.publicKey,
  selfMaskCommitment: selfMaskCommitment(plan, 'bank-b', selfMaskSeed),
};
write('signed-keys.json', {
  description:
    'Round plan digest, self-mask commitment, the bytes a participant signs for its round keys (signedKeysMessage) and for the survivor list (survivorsMessage), and the pairwise mask seed, for the RFC 7748 section 6.1 key pairs (test-only keys: encryption key = Alice, mask key = Bob). Every field in the messages is u32be(length) || bytes, after the label encoded the same way.',
  plan: {
    ...params,
    sortedParticipants: plan.participants,
    neighbourCount: plan.neighbourCount,
    threshold: plan.threshold,
    quorum: plan.quorum,
    minSurvivors: plan.minSurvivors,
    digest: hex(plan.digest),
  },
  keys: {
    member: keys.member,
    encryptionSecret: RFC7748.alicePrivate,
    encryptionKey: hex(keys.encryptionKey),
    maskSecret: RFC7748.bobPrivate,
    maskKey: hex(keys.maskKey),
    selfMaskSeed: hex(selfMaskSeed),
    selfMaskCommitment: hex(keys.selfMaskCommitment),
  },
  signedKeysMessage: hex(signedKeysMessage(plan, keys)),
  survivors: ['bank-a', 'bank-b'],
  survivorsMessage: hex(survivorsMessage(plan, ['bank-a', 'bank-b'])),
  pairwiseSeed: { context, sharedSecret: RFC7748.shared, seed: hex(seedAB) },
});

// ------------------------------------------------------------------------------------------------------------------
// Shamir

const shamirCases = [
  { secret: hex(counting(32)), coefficients: [] as bigint[], xs: [1, 2, 3] },
  { secret: hex(counting(32, 0x80)), coefficients: [5n], xs: [1, 2, 3] },
  { secret: hex(new Uint8Array(32).fill(0xff)), coefficients: [PRIME - 1n, 1n << 300n], xs: [1, 2, 3, 4, 5] },
  {
    secret: hex(counting(32, 0x11)),
    coefficients: [12345678901234567890n, PRIME - 2n, 7n],
    xs: [3, 9, 17, 42, 4294967295],
  },
];
const shamir = shamirCases.map((c) => {
  const shares = splitWithCoefficientsForTesting(fromHex(c.secret), c.coefficients, c.xs).map(hex);
  for (const [i, x] of c.xs.entries()) {
    check(`Shamir share ${x}`, shares[i] === refShare(fromHex(c.secret), c.coefficients, x));
  }
  return {
    secret: c.secret,
    threshold: c.coefficients.length + 1,
    coefficients: c.coefficients.map((k) => k.toString(16)),
    xs: c.xs,
    shares,
  };
});
const good = shamir[2]!.shares;
const invalidShamir = [
  { name: 'repeated x', shares: [good[0], good[0], good[1]] },
  { name: 'share too short', shares: [good[0]!.slice(0, -2), good[1], good[2]] },
  { name: 'x = 0', shares: [`00000000${good[0]!.slice(8)}`, good[1], good[2]] },
  { name: 'y >= p', shares: [`${good[0]!.slice(0, 8)}${'ff'.repeat(66)}`, good[1], good[2]] },
  // The share at x = 3 of another polynomial (the last case's first share).
  { name: 'inconsistent shares', shares: [good[0], good[1], shamir[3]!.shares[0]] },
  { name: 'no shares', shares: [] as string[] },
];
for (const v of invalidShamir) {
  let threw = false;
  try {
    combine(v.shares.map((s) => fromHex(s!)));
  } catch {
    threw = true;
  }
  check(`invalid Shamir case ${v.name}`, threw);
}
write('shamir.json', {
  description:
    'Shamir sharing over GF(2^521 - 1) with fixed coefficients (test only: splitWithCoefficientsForTesting). f(X) = secret + sum_k coefficients[k-1] X^k (coefficients hex); share = u32be(x) || f(x) as 66 bytes big-endian. Any threshold shares combine to the secret.',
  vectors: shamir,
  invalid: invalidShamir,
});

// ------------------------------------------------------------------------------------------------------------------
// Fixed point

const fixedCases = [
  { values: [0, 1, -1, 0.5, -0.5, 1.25, -2.75, 3.999999, -4, 4], clip: 4, fractionBits: 16 },
  {
    values: [5, -5, 1e300, -1e300, Number.MAX_VALUE, 0.000001, -0.000001, 2 ** -17, -(2 ** -17)],
    clip: 4,
    fractionBits: 16,
  },
  { values: [0.1, 0.2, 0.3, -0.7, 1000, -1000], clip: 1000, fractionBits: 20 },
  { values: [-0, 0.49, 0.5, 0.51, -0.49, -0.5, -0.51, 1.5, -1.5], clip: 10, fractionBits: 0 },
];
const fixed = fixedCases.map((c) => {
  const { lanes, clipped } = encodeFixedPoint(Float64Array.from(c.values), c);
  return { ...c, lanes: [...lanes], clipped };
});
const wideCases = [
  { values: [0, 1, -1, 0.5, -0.5, 123456.789, -123456.789], fractionBits: 8, limbs: 3 },
  { values: [2 ** 60, -(2 ** 60), 1e15, -1e15, 2 ** 100], fractionBits: 4, limbs: 8 },
  { values: [32767, -32767, 0.25], fractionBits: 0, limbs: 1 },
];
const wide = wideCases.map((c) => ({ ...c, lanes: [...encodeWide(Float64Array.from(c.values), c)] }));
write('fixed-point.json', {
  description:
    "encodeFixedPoint: round(clamp(v, -clip, clip) * 2^fractionBits) as 32-bit two's complement lanes (Math.round: halves toward +infinity), clipped = values outside [-clip, clip]. encodeWide: round(v * 2^fractionBits) mod 2^(16 * limbs), 16-bit limbs least significant first, one lane each.",
  fixed,
  wide,
  invalid: [
    { name: 'NaN value', codec: 'fixed', values: ['NaN'], clip: 1, fractionBits: 8 },
    { name: 'clip too wide for one value', codec: 'fixed', values: [1], clip: 2 ** 20, fractionBits: 12 },
    { name: 'wide value out of range', codec: 'wide', values: [32768], fractionBits: 0, limbs: 1 },
    { name: 'wide infinity', codec: 'wide', values: ['Infinity'], fractionBits: 0, limbs: 4 },
  ],
});
console.log('secagg vectors written');
