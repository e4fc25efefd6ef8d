/**
 * What a misbehaving coordinator (or participant) gets: refusals, with the registry code that names the culprit and
 * without any secret, share or vector value in the message.
 */
import { describe, expect, it } from 'vitest';
import type { AccordError } from '../../../primitives/errors/index.js';
import { SecAggClient } from '../../../primitives/secagg/client.js';
import { X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { planRound } from '../../../primitives/secagg/neighbours.js';
import { signedKeysMessage, type UnmaskRequest } from '../../../primitives/secagg/protocol.js';
import { thrown } from '../../helpers/thrown.js';
import { names, RoundDriver, randomInputs } from './harness.js';

const LANES = 16;

function fresh(n = 5) {
  const participants = names(n);
  const driver = new RoundDriver({ session: 'job-9', round: 2, participants, lanes: LANES });
  return { driver, m: participants, inputs: randomInputs(participants, LANES) };
}

/** An error's rendered text holds only names, numbers and fixed words. */
function expectNoSecrets(err: AccordError) {
  expect(err.message).not.toMatch(/[0-9a-f]{16}/i);
  for (const value of Object.values(err.params)) {
    expect(typeof value === 'number' || /^[\w\s’'.,-]*$/.test(value)).toBe(true);
  }
}

describe('share boxes', () => {
  it('refuses a tampered box, naming its sender', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const mine = boxesFor.get(m[0]!)!;
    const box = mine[1]!.box.slice();
    box[20]! ^= 1;
    mine[1] = { ...mine[1]!, box };
    const err = thrown(() => driver.clients.get(m[0]!)!.maskedVector(inputs.get(m[0]!)!, mine));
    expect(err.code).toBe('ACCORD_SECAGG_SHARE_INVALID');
    expect(err.params.member).toBe(mine[1]!.from);
    expectNoSecrets(err);
    // The client is spent: no second attempt with other boxes.
    expect(thrown(() => driver.clients.get(m[0]!)!.maskedVector(inputs.get(m[0]!)!, [])).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });

  it('refuses a box re-addressed by the relay (the associated data binds both names)', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    // The box m1 -> m2, delivered to m0 as if m1 had addressed it there.
    const stolen = boxesFor.get(m[2]!)!.find((b) => b.from === m[1])!;
    const forged = boxesFor.get(m[0]!)!.map((b) => (b.from === m[1] ? { ...stolen, to: m[0]! } : b));
    const err = thrown(() => driver.clients.get(m[0]!)!.maskedVector(inputs.get(m[0]!)!, forged));
    expect(err.code).toBe('ACCORD_SECAGG_SHARE_INVALID');
    expect(err.params.member).toBe(m[1]);
  });

  it('refuses a box from a stranger or a duplicate', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const mine = boxesFor.get(m[0]!)!;
    const err = thrown(() =>
      driver.clients.get(m[0]!)!.maskedVector(inputs.get(m[0]!)!, [...mine, mine[0]!]),
    );
    expect(err.code).toBe('ACCORD_SECAGG_PROTOCOL');
  });

  it('refuses to mask with fewer than t - 1 partners (the coordinator withholding boxes)', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const err = thrown(() =>
      driver.clients.get(m[0]!)!.maskedVector(inputs.get(m[0]!)!, boxesFor.get(m[0]!)!.slice(0, 1)),
    );
    expect(err.code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
  });
});

describe('signed round keys', () => {
  it('refuses a mask key swapped by the relay: the signature check fails and names the member', () => {
    const { driver, m } = fresh();
    const keysFor = driver.setup();
    const attacker = X25519KeyPair.generate();
    const forged = keysFor
      .get(m[0]!)!
      .map((k) => (k.member === m[3] ? { ...k, maskKey: attacker.publicKey } : k));
    const err = thrown(() => driver.clients.get(m[0]!)!.shareKeys(forged, driver.pki.verify));
    expect(err.code).toBe('ACCORD_SECAGG_SIGNATURE_INVALID');
    expect(err.params.member).toBe(m[3]);
    expectNoSecrets(err);
  });

  it('refuses keys signed under another plan (a coordinator telling one member a lower threshold)', () => {
    const { driver, m } = fresh();
    const keysFor = driver.setup();
    // m4 was told threshold 5 instead of 3: its keys are signed over another plan digest.
    const otherPlan = planRound({ session: 'job-9', round: 2, participants: m, lanes: LANES, threshold: 5 });
    const liar = new SecAggClient(otherPlan, m[4]!);
    const { keys, toSign } = liar.advertiseKeys();
    const signed = { ...keys, signature: driver.pki.sign(m[4]!, toSign) };
    const forged = keysFor.get(m[0]!)!.map((k) => (k.member === m[4] ? signed : k));
    const err = thrown(() => driver.clients.get(m[0]!)!.shareKeys(forged, driver.pki.verify));
    expect(err.code).toBe('ACCORD_SECAGG_SIGNATURE_INVALID');
    expect(err.params.member).toBe(m[4]);
  });

  it('refuses a low-order public key even when its owner signed it', () => {
    const { driver, m } = fresh();
    const keysFor = driver.setup();
    const lowOrder = new Uint8Array(32); // u = 0
    const k4 = keysFor.get(m[0]!)!.find((k) => k.member === m[4])!;
    const bad = { ...k4, maskKey: lowOrder };
    const resigned = { ...bad, signature: driver.pki.sign(m[4]!, signedKeysMessage(driver.plan, bad)) };
    const forged = keysFor.get(m[0]!)!.map((k) => (k.member === m[4] ? resigned : k));
    const err = thrown(() => driver.clients.get(m[0]!)!.shareKeys(forged, driver.pki.verify));
    expect(err.code).toBe('ACCORD_SECAGG_SIGNATURE_INVALID');
    expect(err.params.member).toBe(m[4]);
  });

  it('refuses its own keys altered in the relay', () => {
    const { driver, m } = fresh();
    const keysFor = driver.setup();
    const forged = keysFor
      .get(m[0]!)!
      .map((k) => (k.member === m[0] ? { ...k, maskKey: X25519KeyPair.generate().publicKey } : k));
    expect(thrown(() => driver.clients.get(m[0]!)!.shareKeys(forged, driver.pki.verify)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });
});

describe('masked vectors', () => {
  it('refuses a vector of the wrong length, naming the member, and still takes the right one', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const err = thrown(() => driver.server.receiveMaskedVector(m[1]!, new Uint32Array(LANES + 1)));
    expect(err.code).toBe('ACCORD_SECAGG_VECTOR_LENGTH');
    expect(err.params).toEqual({ member: m[1], actual: LANES + 1, expected: LANES });
    const y = driver.clients.get(m[1]!)!.maskedVector(inputs.get(m[1]!)!, boxesFor.get(m[1]!)!);
    driver.server.receiveMaskedVector(m[1]!, y);
  });

  it('never masks twice in a round (two vectors under one mask would reveal their difference)', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const client = driver.clients.get(m[1]!)!;
    client.maskedVector(inputs.get(m[1]!)!, boxesFor.get(m[1]!)!);
    expect(thrown(() => client.maskedVector(inputs.get(m[1]!)!, boxesFor.get(m[1]!)!)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });

  it('refuses a repeated vector and one from a member that sent no shares', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const y = driver.clients.get(m[1]!)!.maskedVector(inputs.get(m[1]!)!, boxesFor.get(m[1]!)!);
    driver.server.receiveMaskedVector(m[1]!, y);
    expect(thrown(() => driver.server.receiveMaskedVector(m[1]!, y)).code).toBe('ACCORD_SECAGG_PROTOCOL');
    expect(thrown(() => driver.server.receiveMaskedVector('stranger', y)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });
});

describe('unmask: never both secrets of one participant', () => {
  function atUnmask() {
    const { driver, m, inputs } = fresh();
    // m4 drops before sending its vector: survivors reveal its mask-key shares, never its seed shares.
    const survivors = driver.collect(driver.shareKeys(driver.setup()), inputs, [m[4]!]);
    const requests = driver.consistency(survivors);
    return { driver, m, requests };
  }

  it('refuses a request that lists a participant as both survivor and dropped', () => {
    const { driver, m, requests } = atUnmask();
    const honest = requests.get(m[0]!)!;
    const both: UnmaskRequest = { ...honest, dropped: [...honest.dropped, m[1]!].sort() };
    const err = thrown(() => driver.clients.get(m[0]!)!.unmask(both, driver.pki.verify));
    expect(err.code).toBe('ACCORD_SECAGG_PROTOCOL');
    expect(err.message).toContain('both secrets');
  });

  it('answers one request only: a second asking for the other secret is refused', () => {
    const { driver, m, requests } = atUnmask();
    const client = driver.clients.get(m[0]!)!;
    const first = client.unmask(requests.get(m[0]!)!, driver.pki.verify);
    expect(first.maskKeyShares.map((s) => s.owner)).toEqual([m[4]]);
    expect(first.selfMaskShares.map((s) => s.owner)).not.toContain(m[4]);
    const flipped: UnmaskRequest = { ...requests.get(m[0]!)!, dropped: [m[1]!] };
    expect(thrown(() => client.unmask(flipped, driver.pki.verify)).code).toBe('ACCORD_SECAGG_PROTOCOL');
  });

  it('refuses a survivor list other than the one it signed (a coordinator telling members different stories)', () => {
    const { driver, m, requests } = atUnmask();
    const honest = requests.get(m[0]!)!;
    const other: UnmaskRequest = { ...honest, survivors: honest.survivors.filter((s) => s !== m[1]) };
    expect(thrown(() => driver.clients.get(m[0]!)!.unmask(other, driver.pki.verify)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });

  it('refuses being listed as dropped itself, and a partner left out of both lists', () => {
    const { driver, m, requests } = atUnmask();
    const honest = requests.get(m[0]!)!;
    const self: UnmaskRequest = { ...honest, dropped: [m[0]!, ...honest.dropped] };
    expect(thrown(() => driver.clients.get(m[0]!)!.unmask(self, driver.pki.verify)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
    const omitted: UnmaskRequest = { ...requests.get(m[1]!)!, dropped: [] };
    expect(thrown(() => driver.clients.get(m[1]!)!.unmask(omitted, driver.pki.verify)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });

  it('needs a quorum of valid signatures on the survivor list', () => {
    const { driver, m, requests } = atUnmask();
    const honest = requests.get(m[0]!)!;
    const few: UnmaskRequest = { ...honest, signatures: honest.signatures.slice(0, 2) };
    expect(thrown(() => driver.clients.get(m[0]!)!.unmask(few, driver.pki.verify)).code).toBe(
      'ACCORD_SECAGG_TOO_FEW_SURVIVORS',
    );
    const forged: UnmaskRequest = {
      ...requests.get(m[1]!)!,
      signatures: honest.signatures.map((s, i) => (i === 1 ? { ...s, signature: new Uint8Array(64) } : s)),
    };
    const err = thrown(() => driver.clients.get(m[1]!)!.unmask(forged, driver.pki.verify));
    expect(err.code).toBe('ACCORD_SECAGG_SIGNATURE_INVALID');
    expect(err.params.member).toBe(honest.signatures[1]!.member);
  });

  it('refuses to sign a survivor list naming a neighbour whose shares never arrived', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    const client = driver.clients.get(m[0]!)!;
    // The relay withheld m1's box from m0 (m0 still has t - 1 = 2 partners), then lists m1 as a survivor.
    client.maskedVector(
      inputs.get(m[0]!)!,
      boxesFor.get(m[0]!)!.filter((b) => b.from !== m[1]),
    );
    expect(thrown(() => client.consistencyCheck(m)).code).toBe('ACCORD_SECAGG_PROTOCOL');
  });
});

describe('a coordinator telling members different survivor lists', () => {
  it('cannot collect a quorum of signatures on two lists, so it never gets t shares of both secrets of one member', () => {
    const { driver, m, inputs } = fresh();
    const boxesFor = driver.shareKeys(driver.setup());
    for (const [member, boxes] of boxesFor) {
      driver.clients.get(member)!.maskedVector(inputs.get(member)!, boxes);
    }
    // Victim m4 sent its vector. C tells m0, m1 that m4 dropped (to collect shares of its mask key) and m2, m3, m4
    // that it survived (to collect shares of its self-mask seed).
    const withoutVictim = m.slice(0, 4);
    const lists = new Map<string, readonly string[]>([
      [m[0]!, withoutVictim],
      [m[1]!, withoutVictim],
      [m[2]!, m],
      [m[3]!, m],
      [m[4]!, m],
    ]);
    const signatures = new Map<string, { member: string; signature: Uint8Array }[]>();
    for (const [member, list] of lists) {
      const signature = driver.pki.sign(member, driver.clients.get(member)!.consistencyCheck(list));
      const key = list.join();
      signatures.set(key, [...(signatures.get(key) ?? []), { member, signature }]);
    }
    // Each member signs once; 2 + 3 signers: the shorter list lacks the quorum of 3, so its holders reveal nothing.
    const err = thrown(() =>
      driver.clients
        .get(m[0]!)!
        .unmask(
          { survivors: withoutVictim, dropped: [m[4]!], signatures: signatures.get(withoutVictim.join())! },
          driver.pki.verify,
        ),
    );
    expect(err.code).toBe('ACCORD_SECAGG_TOO_FEW_SURVIVORS');
    // Offering the other list's signatures instead is refused: not the list m1 signed.
    const err2 = thrown(() =>
      driver.clients
        .get(m[1]!)!
        .unmask({ survivors: m, dropped: [], signatures: signatures.get(m.join())! }, driver.pki.verify),
    );
    expect(err2.code).toBe('ACCORD_SECAGG_PROTOCOL');
  });
});

describe('reconstruction', () => {
  it('fails loudly when a survivor sends a wrong share', () => {
    const { driver, m, inputs } = fresh();
    const requests = driver.consistency(driver.collect(driver.shareKeys(driver.setup()), inputs));
    for (const [member, request] of requests) {
      const response = driver.clients.get(member)!.unmask(request, driver.pki.verify);
      if (member === m[0]) {
        const share = response.selfMaskShares[1]!.share;
        share[40]! ^= 0xff;
      }
      driver.server.receiveUnmask(member, response);
    }
    const err = thrown(() => driver.server.finish());
    expect(err.code).toBe('ACCORD_SECAGG_RECONSTRUCTION_FAILED');
    expectNoSecrets(err);
  });

  it('refuses a share at another participant’s x-coordinate', () => {
    const { driver, m, inputs } = fresh();
    const requests = driver.consistency(driver.collect(driver.shareKeys(driver.setup()), inputs));
    const r0 = driver.clients.get(m[0]!)!.unmask(requests.get(m[0]!)!, driver.pki.verify);
    const r1 = driver.clients.get(m[1]!)!.unmask(requests.get(m[1]!)!, driver.pki.verify);
    const stolen = {
      ...r1,
      selfMaskShares: r1.selfMaskShares.map((s, i) => ({ ...s, share: r0.selfMaskShares[i]!.share })),
    };
    const err = thrown(() => driver.server.receiveUnmask(m[1]!, stolen));
    expect(err.code).toBe('ACCORD_SECAGG_SHARE_INVALID');
    expect(err.params.member).toBe(m[1]);
  });

  it('refuses messages out of stage', () => {
    const { driver, m } = fresh();
    expect(thrown(() => driver.server.endShareKeys()).code).toBe('ACCORD_SECAGG_PROTOCOL');
    expect(thrown(() => driver.clients.get(m[0]!)!.shareKeys([], driver.pki.verify)).code).toBe(
      'ACCORD_SECAGG_PROTOCOL',
    );
  });
});
