/** The consortium's signal kinds: built-ins then configured extras, and what the coordinator config refuses. */
import { describe, expect, it } from 'vitest';
import { parseCoordinatorConfig } from '../../../platform/config/index.js';
import { consortiumWire } from '../../../platform/wire/consortium.js';
import { checkSignals } from '../../../node/signals/signals-service.js';
import { AccordError } from '../../../primitives/errors/index.js';
import {
  announcedKinds,
  BUILT_IN_KINDS,
  consortiumKinds,
  MAX_EXTRA_FLAG_KINDS,
  SIGNAL_KINDS,
} from '../../../primitives/signals/kinds.js';

const coordinator = (signals: object) => ({
  kind: 'coordinator',
  tls: { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' },
  members: ['bank-a'],
  dataDir: 'data',
  signals,
});

function problemsOf(raw: unknown): string {
  try {
    parseCoordinatorConfig(raw, null);
  } catch (err) {
    expect(err).toBeInstanceOf(AccordError);
    expect((err as AccordError).code).toBe('ACCORD_CONFIG_INVALID');
    return (err as AccordError).message;
  }
  throw new Error('the config was accepted');
}

describe('signal kind registry', () => {
  it('orders the built-ins first, then the extras in config order; extras are flags', () => {
    const kinds = consortiumKinds(['synthetic_identity', 'account_takeover']);
    expect(kinds.all).toEqual([
      'application',
      'telecom_scam',
      'mule_account',
      'confirmed_fraud',
      'synthetic_identity',
      'account_takeover',
    ]);
    expect(kinds.flags).toEqual([
      'telecom_scam',
      'mule_account',
      'confirmed_fraud',
      'synthetic_identity',
      'account_takeover',
    ]);
    expect(kinds.all.filter((k) => kinds.isWindowed(k))).toEqual(['application']);
    expect(kinds.isKind('synthetic_identity')).toBe(true);
    expect(kinds.isKind('gossip')).toBe(false);
    expect(kinds.isKind(7)).toBe(false);
    expect(Object.isFrozen(kinds.all)).toBe(true);
  });

  it('without extras holds exactly the built-ins, which know no extra', () => {
    expect(consortiumKinds([]).all).toEqual([...SIGNAL_KINDS]);
    expect(BUILT_IN_KINDS.all).toEqual([...SIGNAL_KINDS]);
    expect(BUILT_IN_KINDS.isKind('synthetic_identity')).toBe(false);
  });

  it('refuses a bad list even when called without the config schema', () => {
    expect(() => consortiumKinds(['telecom_scam'])).toThrow(/built-in/);
    expect(() => consortiumKinds(['a_b', 'a_b'])).toThrow(/twice/);
    expect(() => consortiumKinds(['Bad-Kind'])).toThrow(/must be a lowercase letter/);
  });

  it('takes a node’s list from the registration answer, and the built-ins from an older coordinator', () => {
    expect(announcedKinds([...SIGNAL_KINDS, 'synthetic_identity']).flags.at(-1)).toBe('synthetic_identity');
    expect(announcedKinds([])).toBe(BUILT_IN_KINDS);
  });
});

describe('coordinator config: signals.extraFlagKinds', () => {
  it('defaults to none', () => {
    expect(parseCoordinatorConfig(coordinator({}), null).signals.extraFlagKinds).toEqual([]);
  });

  it('accepts well-formed new kinds and freezes them', () => {
    const config = parseCoordinatorConfig(
      coordinator({ extraFlagKinds: ['synthetic_identity', 'k9'] }),
      null,
    );
    expect(config.signals.extraFlagKinds).toEqual(['synthetic_identity', 'k9']);
    expect(Object.isFrozen(config.signals.extraFlagKinds)).toBe(true);
  });

  it('lists every bad entry under its field path: shape, built-in clash, duplicate', () => {
    const message = problemsOf(
      coordinator({
        extraFlagKinds: ['ok_kind', 'Synthetic', 'mule_account', 'ok_kind', '9lives', 'x'.repeat(33)],
      }),
    );
    expect(message).toContain('signals.extraFlagKinds.1: must be a lowercase letter');
    expect(message).toContain('signals.extraFlagKinds.2: mule_account is a built-in kind');
    expect(message).toContain('signals.extraFlagKinds.3: ok_kind is listed twice');
    expect(message).toContain('signals.extraFlagKinds.4: must be a lowercase letter');
    expect(message).toContain('signals.extraFlagKinds.5: must be a lowercase letter');
    expect(message).not.toContain('signals.extraFlagKinds.0');
    expect(problemsOf(coordinator({ extraFlagKinds: ['ok_kind', 7] }))).toContain(
      'signals.extraFlagKinds.1: Invalid input: expected string',
    );
  });

  it('refuses more than the maximum number of extras', () => {
    const many = Array.from({ length: MAX_EXTRA_FLAG_KINDS + 1 }, (_, i) => `kind_${i}`);
    expect(problemsOf(coordinator({ extraFlagKinds: many }))).toContain(
      `signals.extraFlagKinds: at most ${MAX_EXTRA_FLAG_KINDS} extra kinds`,
    );
  });
});

describe('consortium wire: the kinds in the registration answer', () => {
  const ack = {
    member: 'bank-a',
    consortium: 'accord',
    heartbeatIntervalMs: 2_000,
    serverTimeMs: 5,
    signalKinds: [...SIGNAL_KINDS, 'synthetic_identity'],
  };

  it('round-trips them in order', () => {
    const wire = consortiumWire.registerResponse.toProto(ack);
    expect(consortiumWire.registerResponse.fromProto(wire)).toEqual(ack);
  });

  it('refuses malformed or repeated kinds with ACCORD_WIRE_INVALID', () => {
    for (const signalKinds of [['Not A Kind'], ['application', 'application']]) {
      let error: unknown;
      try {
        consortiumWire.registerResponse.fromProto({ ...ack, signalKinds });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AccordError);
      expect((error as AccordError).code).toBe('ACCORD_WIRE_INVALID');
    }
  });
});

describe('node-side kind check', () => {
  const now = 1_800_000_000_000;
  const signal = { idKind: 'phone' as const, id: '+447700900123', kind: 'synthetic_identity' };
  const refusal = (kinds: Parameters<typeof checkSignals>[2]) => {
    try {
      checkSignals([{ ...signal, kind: 'application' }, signal], now, kinds);
    } catch (err) {
      return err as AccordError;
    }
    return null;
  };

  it('refuses a kind the node’s list lacks, listing the kinds it knows', () => {
    const error = refusal(BUILT_IN_KINDS);
    expect(error?.code).toBe('ACCORD_SIGNAL_KIND_UNKNOWN');
    expect(error?.params).toMatchObject({ index: 1, known: SIGNAL_KINDS.join(', ') });
  });

  it('accepts it once the coordinator announced it', () => {
    expect(refusal(announcedKinds([...SIGNAL_KINDS, 'synthetic_identity']))).toBeNull();
  });
});
