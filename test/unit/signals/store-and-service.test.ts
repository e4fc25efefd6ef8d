/** The coordinator's signal store and service logic without gRPC: validation, retention sweep, retraction. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SignalsCoordinator, validateSignals } from '../../../coordinator/signals/signals-service.js';
import { openSqliteCoordinatorStore } from '../../../platform/store/sqlite/index.js';
import type { CoordinatorStore } from '../../../platform/store/types.js';
import { pack, signalsWire, unpack } from '../../../platform/wire/signals.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { BUILT_IN_KINDS, consortiumKinds } from '../../../primitives/signals/kinds.js';

const DAY = 86_400_000;
const token = (n: number) => new Uint8Array(32).fill(n);
const settings = { retentionDays: 90, clockSkewMs: 300_000, maxBackdateMs: 3 * DAY, kinds: BUILT_IN_KINDS };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof AccordError ? `${err.code}@${err.params['index']}` : 'other';
  }
  return 'none';
}

describe('validateSignals', () => {
  const now = 1_800_000_000_000;
  const ok = { token: token(1), kind: 'application', atMs: now };
  it('names the first failing index', () => {
    expect(codeOf(() => validateSignals([ok, { ...ok, kind: 'nope' }], now, settings))).toBe(
      'ACCORD_SIGNAL_KIND_UNKNOWN@1',
    );
    expect(codeOf(() => validateSignals([ok, ok, { ...ok, atMs: now + 300_001 }], now, settings))).toBe(
      'ACCORD_SIGNAL_TIME_FUTURE@2',
    );
    expect(codeOf(() => validateSignals([{ ...ok, atMs: now - 91 * DAY }], now, settings))).toBe(
      'ACCORD_SIGNAL_TIME_EXPIRED@0',
    );
    // A live signal may not be backdated past the limit; a historical import may, up to the retention period.
    const old = { ...ok, atMs: now - 3 * DAY - 1 };
    expect(codeOf(() => validateSignals([ok, old], now, settings))).toBe('ACCORD_SIGNAL_TIME_BACKDATED@1');
    expect(codeOf(() => validateSignals([ok, old], now, settings, true))).toBe('none');
    expect(codeOf(() => validateSignals([{ ...ok, atMs: now - 91 * DAY }], now, settings, true))).toBe(
      'ACCORD_SIGNAL_TIME_EXPIRED@0',
    );
    expect(codeOf(() => validateSignals([{ ...ok, atMs: now - 3 * DAY }], now, settings))).toBe('none');
    expect(codeOf(() => validateSignals([ok, { ...ok, atMs: now + 300_000 }], now, settings))).toBe('none');
  });

  it('accepts the consortium’s extra kinds and lists them when it refuses another', () => {
    const extra = { ...ok, kind: 'synthetic_identity' };
    expect(codeOf(() => validateSignals([ok, extra], now, settings))).toBe('ACCORD_SIGNAL_KIND_UNKNOWN@1');
    const consortium = { ...settings, kinds: consortiumKinds(['synthetic_identity']) };
    expect(codeOf(() => validateSignals([ok, extra], now, consortium))).toBe('none');
    let error: unknown;
    try {
      validateSignals([extra, { ...ok, kind: 'gossip' }], now, consortium);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AccordError);
    expect((error as AccordError).params['known']).toBe(
      'application, telecom_scam, mule_account, confirmed_fraud, synthetic_identity',
    );
    expect((error as AccordError).message).toContain('synthetic_identity');
  });
});

describe('signal store and retention', () => {
  let dir: string;
  let store: CoordinatorStore;
  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores, groups, retracts only the publisher’s signals, and sweeps expired ones', async () => {
    dir = mkdtempSync(join(tmpdir(), 'accord-signals-'));
    store = openSqliteCoordinatorStore(join(dir, 'c.db'));
    let now = 1_800_000_000_000;
    const audits: string[] = [];
    const service = new SignalsCoordinator({
      isMember: () => true,
      key: null,
      allowInsecurePlaintext: false,
      store: store.signals,
      quotas: store.quotas,
      audit: async (d) => void audits.push(d.action),
      log: {
        info() {},
        warn() {},
        error() {},
        debug() {},
        child() {
          return this;
        },
      } as never,
      now: () => now,
      settings: {
        ...settings,
        timeResolutionMs: DAY,
        quotas: {
          newElementsPerDay: 10,
          memoryDays: 30,
          perMember: {},
          enumerationAlert: { minNewElements: 5, maxHitRate: 0 },
        },
        sweepIntervalMs: 60_000,
        maxStreamsPerMember: 4,
        evaluationLimit: () => ({ perSecond: 1, burst: 1 }),
        queryLimit: () => ({ perSecond: 1, burst: 1 }),
      },
    });
    const ids = await store.signals.insert(
      'bank-b',
      [
        { token: token(1), kind: 'application', atMs: now - 89 * DAY },
        { token: token(1), kind: 'application', atMs: now - DAY },
        { token: token(1), kind: 'telecom_scam', atMs: now - 2 * DAY },
      ],
      now,
    );
    expect(ids).toHaveLength(3);
    expect(await store.signals.groups(token(1), 0)).toHaveLength(2);
    await expect(store.signals.retract('bank-c', [ids[2]!])).rejects.toMatchObject({
      code: 'ACCORD_SIGNAL_NOT_FOUND',
    });
    // All or nothing: a foreign id in the list keeps the own one too.
    await expect(store.signals.retract('bank-b', [ids[2]!, 'sig_' + '0'.repeat(32)])).rejects.toBeInstanceOf(
      AccordError,
    );
    expect(await store.signals.count()).toBe(3);
    expect(await store.signals.retract('bank-b', [ids[2]!])).toBe(1);

    now += 2 * DAY; // the 89-day-old application is now beyond retention
    expect(await service.sweep()).toBe(1);
    expect(await store.signals.count()).toBe(1);
    expect(audits).toEqual(['signals:sweep']);
  });
});

describe('signals wire', () => {
  it('round-trips packed elements and refuses wrong lengths', () => {
    const elements = [token(1), token(2), token(3)];
    const wire = signalsWire.queryBatchRequest.toProto({ items: elements, insecurePlaintext: false });
    const plain = (xs: Uint8Array[]) => xs.map((x) => [...x]);
    expect(plain(signalsWire.queryBatchRequest.fromProto(wire).items)).toEqual(plain(elements));
    expect(plain(unpack(pack(elements)))).toEqual(plain(elements));
    expect(() =>
      signalsWire.queryBatchRequest.fromProto({
        count: 4,
        elements: wire.elements,
        insecurePlaintext: false,
      }),
    ).toThrow(AccordError);
    expect(() =>
      signalsWire.queryRequest.fromProto({ element: token(1).subarray(0, 31), insecurePlaintext: false }),
    ).toThrow(AccordError);
    const agg = {
      applications: { d1: 1, d7: 2, d30: 3 },
      flags: [{ kind: 'telecom_scam', members: 2, lastSeenMs: 5 }],
    };
    expect(signalsWire.queryResponse.fromProto(signalsWire.queryResponse.toProto(agg))).toEqual(agg);
    const signals = [{ element: token(9), kind: 'application', atMs: 7 }];
    const decoded = signalsWire.publishRequest.fromProto(
      signalsWire.publishRequest.toProto({ items: signals, insecurePlaintext: true, historical: true }),
    );
    expect(decoded.insecurePlaintext).toBe(true);
    expect(decoded.historical).toBe(true);
    expect(decoded.items.map((s) => ({ ...s, element: new Uint8Array(s.element) }))).toEqual(signals);
  });
});
