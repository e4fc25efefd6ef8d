/**
 * The bank's side of fraud-signal sharing. Protocol and what each party learns: `primitives/oprf/fraud-token.ts`
 * (step 1 runs here) and `coordinator/signals/signals-service.ts` (publish / query / retract). Per call:
 *
 *  1. normalise every identifier (`normaliseId`); validate the whole request (kinds: the consortium's list from the
 *     latest registration; times) before any RPC;
 *  2. member elements M = H(x)^k_m: from the LRU cache, else computed here (no round trip);
 *  3. Publish / Query / QueryBatch with member elements only; the raw identifier never leaves this process;
 *  4. audit locally with the identifier masked (HMAC under a node-local key from the settings store).
 *
 * The plaintext path (`insecurePlaintextBenchmark`) replaces step 2 by an unkeyed SHA-256: anyone can compute it for
 * a guessed identifier, so it exists only as the benchmark's anchor and is refused unless explicitly allowed.
 */
import type { Audit } from '../../platform/audit/audit-log.js';
import { createHash, randomBytes } from 'node:crypto';
import { maskIdentifier } from '../../primitives/audit/mask.js';
import { AccordError } from '../../primitives/errors/index.js';
import { type IdKind, normaliseId } from '../../primitives/identity/normalise.js';
import { memberElementBatch } from '../../primitives/oprf/fraud-token.js';
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
import { unpack } from '../../platform/wire/signals.js';
import type { MemberKey } from '../../primitives/oprf/member-key.js';
import { APPLICATION_KIND, type SignalKinds } from '../../primitives/signals/kinds.js';
import {
  MAX_PUBLISH_BATCH,
  MAX_RPC_BATCH,
  type SignalAggregates,
} from '../../primitives/signals/protocol.js';
import type { SettingsStore } from '../../platform/store/types.js';
import type { SignalsClient } from './signals-client.js';
import { Coalescer } from './coalescer.js';
import type { TokenCache } from './token-cache.js';

/** How far ahead of this node's clock a signal time may be (the coordinator checks again with its own setting). */
export const NODE_CLOCK_SKEW_MS = 300_000;
const MASK_KEY_SETTING = 'signals.maskKey';
const EMPTY: SignalAggregates = Object.freeze({
  applications: Object.freeze({ d1: 0, d7: 0, d30: 0 }),
  flags: Object.freeze([]) as readonly never[],
});

export interface IdentifierInput {
  readonly idKind: IdKind;
  readonly id: string;
}

export interface SignalInput extends IdentifierInput {
  readonly kind: string;
  /** Unix ms; defaults to now. */
  readonly atMs?: number;
}

export interface NormalisedId {
  readonly idKind: IdKind;
  readonly normalised: string;
}

/** Batches at least this large are computed on the crypto workers (smaller ones cost less than the hand-off). */
const WORKER_BATCH = 64;

export interface NodeSignalsDeps {
  /** The node's crypto worker pool, for large batches; without it everything runs on the event loop. */
  readonly workers?: CryptoWorkerPool;
  readonly member: string;
  readonly memberKey: MemberKey;
  readonly client: SignalsClient;
  readonly cache: TokenCache;
  readonly settings: SettingsStore;
  readonly audit: Audit;
  /** The consortium's kinds from the latest registration (built-ins before it): `CoordinatorLink.signalKinds`. */
  readonly kinds: () => SignalKinds;
  readonly now?: () => number;
}

/** Re-raises an identifier error with the index of the failing entry (the value is never echoed). */
function atIndex(err: unknown, index: number): never {
  if (
    err instanceof AccordError &&
    (err.code === 'ACCORD_ID_INVALID' || err.code === 'ACCORD_ID_KIND_UNKNOWN')
  ) {
    const reason = typeof err.params['reason'] === 'string' ? err.params['reason'] : '';
    throw err.withParams({ reason: `${reason} (entry ${index})`, index });
  }
  throw err;
}

/** Normalises every identifier; throws the first failure with its index. */
export function normaliseAll(inputs: readonly IdentifierInput[]): NormalisedId[] {
  return inputs.map((input, i) => {
    try {
      return { idKind: input.idKind, normalised: normaliseId(input.idKind, input.id) };
    } catch (err) {
      return atIndex(err, i);
    }
  });
}

/**
 * Checks kinds (against `kinds`, the consortium's list as this node knows it) and times of a whole publish batch
 * (node side); throws the first failure with its index. The coordinator checks again with its own list and clock.
 */
export function checkSignals(inputs: readonly SignalInput[], nowMs: number, kinds: SignalKinds): void {
  if (inputs.length > MAX_PUBLISH_BATCH)
    throw new AccordError('ACCORD_SIGNAL_BATCH_TOO_LARGE', { size: inputs.length, limit: MAX_PUBLISH_BATCH });
  inputs.forEach((s, i) => {
    if (!kinds.isKind(s.kind))
      throw new AccordError('ACCORD_SIGNAL_KIND_UNKNOWN', {
        at: ` at index ${i}`,
        index: i,
        known: kinds.all.join(', '),
      });
    if (s.atMs !== undefined && s.atMs > nowMs + NODE_CLOCK_SKEW_MS)
      throw new AccordError('ACCORD_SIGNAL_TIME_FUTURE', {
        at: ` at index ${i}`,
        index: i,
        skewMs: NODE_CLOCK_SKEW_MS,
      });
  });
}

/** BENCHMARK ONLY: the unkeyed token a consortium without privacy would use. Anyone can compute it. */
export function plaintextToken(id: NormalisedId): Uint8Array {
  return createHash('sha256').update(id.idKind).update('\0').update(id.normalised).digest();
}

export class NodeSignals {
  private maskKey: Uint8Array | null = null;
  private readonly now: () => number;
  /** Concurrent single queries share QueryBatch RPCs (one per kind of element: keyed or plaintext). */
  private readonly queries: Coalescer<Uint8Array, SignalAggregates>;
  private readonly plaintextQueries: Coalescer<Uint8Array, SignalAggregates>;

  constructor(private readonly deps: NodeSignalsDeps) {
    this.now = deps.now ?? Date.now;
    const coalesced = (insecurePlaintext: boolean) =>
      new Coalescer<Uint8Array, SignalAggregates>(async (elements) => {
        if (elements.length === 1) return [await deps.client.query(elements[0]!, insecurePlaintext)];
        const out: SignalAggregates[] = elements.map(() => EMPTY);
        for (const hit of await deps.client.queryBatch(elements, insecurePlaintext))
          out[hit.index] = hit.aggregates;
        return out;
      }, MAX_RPC_BATCH);
    this.queries = coalesced(false);
    this.plaintextQueries = coalesced(true);
  }

  /** Loads (or creates, on first start) the node-local key that masks identifiers in the audit log. */
  async init(): Promise<void> {
    const stored = await this.deps.settings.putIfAbsent(MASK_KEY_SETTING, randomBytes(32).toString('base64'));
    this.maskKey = Buffer.from(stored, 'base64');
  }

  mask(id: NormalisedId): string {
    if (!this.maskKey) throw new Error('NodeSignals.init() was not called');
    return maskIdentifier(this.maskKey, id.idKind, id.normalised);
  }

  /** Masked identifiers of a batch, space-separated (audit details hold scalars only). */
  private maskAll(ids: readonly NormalisedId[]): string {
    return ids.map((id) => this.mask(id)).join(' ');
  }

  private auditOk(
    action: string,
    ids: readonly NormalisedId[],
    details: Record<string, string | number> = {},
  ): Promise<void> {
    return this.deps.audit({
      actor: this.deps.member,
      action,
      target: ids.length === 1 ? this.mask(ids[0]!) : `ids:${ids.length}`,
      outcome: 'ok',
      details: ids.length === 1 ? details : { ...details, ids: this.maskAll(ids) },
    });
  }

  private auditFailed(action: string, ids: readonly NormalisedId[], err: unknown): Promise<void> {
    return this.deps.audit({
      actor: this.deps.member,
      action,
      target: ids.length === 1 ? this.mask(ids[0]!) : `ids:${ids.length}`,
      outcome: 'failed',
      details: {
        code: err instanceof AccordError ? err.code : 'ACCORD_INTERNAL',
        ...(ids.length > 1 ? { ids: this.maskAll(ids) } : {}),
      },
    });
  }

  /**
   * Step 1 for many identifiers: member elements M = H(x)^k_m, from the cache or computed here; large batches
   * (screening, batch publish) go to the node's crypto workers so they use every core and leave the event loop free.
   */
  async elementsOf(ids: readonly NormalisedId[], plaintext = false): Promise<Uint8Array[]> {
    if (plaintext) return ids.map(plaintextToken);
    const { cache, memberKey } = this.deps;
    const elements: Uint8Array[] = new Array(ids.length);
    const missing: number[] = [];
    const keys: string[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      keys[i] = cache.keyOf(id.idKind, id.normalised);
      const hit = cache.get(keys[i]!);
      if (hit) elements[i] = hit;
      else missing.push(i);
    }
    const inputs = missing.map((i) => ({ kind: ids[i]!.idKind, normalisedId: ids[i]!.normalised }));
    const computed =
      this.deps.workers && inputs.length >= WORKER_BATCH
        ? unpack(await this.deps.workers.memberElements(memberKey, inputs))
        : memberElementBatch(inputs, memberKey);
    missing.forEach((i, j) => {
      elements[i] = computed[j]!;
      cache.set(keys[i]!, computed[j]!);
    });
    return elements;
  }

  /**
   * Publishes signals (all or nothing); returns their ids in order. `historical`: a bulk import of past signals (an
   * admin's action), which the coordinator accepts back to the retention period instead of the live limit.
   */
  async publish(
    inputs: readonly SignalInput[],
    options: { plaintext?: boolean; historical?: boolean } = {},
  ): Promise<string[]> {
    const { plaintext = false, historical = false } = options;
    const nowMs = this.now();
    checkSignals(inputs, nowMs, this.deps.kinds());
    const ids = normaliseAll(inputs);
    const elements = await this.elementsOf(ids, plaintext);
    const action = plaintext
      ? 'signals:publish-plaintext-benchmark'
      : historical
        ? 'signals:publish-historical'
        : 'signals:publish';
    try {
      const signalIds = await this.deps.client.publish(
        inputs.map((s, i) => ({ element: elements[i]!, kind: s.kind, atMs: s.atMs ?? nowMs })),
        { insecurePlaintext: plaintext, historical },
      );
      await this.auditOk(action, ids, { signals: signalIds.length });
      return signalIds;
    } catch (err) {
      await this.auditFailed(action, ids, err);
      throw err;
    }
  }

  async retract(signalIds: readonly string[]): Promise<number> {
    try {
      const n = await this.deps.client.retract(signalIds);
      await this.deps.audit({
        actor: this.deps.member,
        action: 'signals:retract',
        target: `signals:${signalIds.length}`,
        outcome: 'ok',
        details: { signalIds: signalIds.join(' ') },
      });
      return n;
    } catch (err) {
      await this.auditFailed('signals:retract', [], err);
      throw err;
    }
  }

  /** Aggregates over other members' signals for one identifier. */
  async query(input: IdentifierInput, plaintext = false): Promise<SignalAggregates> {
    const [id] = normaliseAll([input]);
    const [element] = await this.elementsOf([id!], plaintext);
    const action = plaintext ? 'signals:query-plaintext-benchmark' : 'signals:query';
    try {
      const aggregates = await (plaintext ? this.plaintextQueries : this.queries).submit(element!);
      await this.auditOk(action, [id!]);
      return aggregates;
    } catch (err) {
      await this.auditFailed(action, [id!], err);
      throw err;
    }
  }

  /** Records this bank's application for the identifier and answers what the other members saw. */
  async recordApplication(
    input: IdentifierInput & { atMs?: number },
  ): Promise<{ signalId: string; aggregates: SignalAggregates }> {
    const nowMs = this.now();
    const signal: SignalInput = { ...input, kind: APPLICATION_KIND, atMs: input.atMs ?? nowMs };
    checkSignals([signal], nowMs, this.deps.kinds());
    const [id] = normaliseAll([input]);
    const [element] = await this.elementsOf([id!]);
    try {
      const [signalIds, aggregates] = await Promise.all([
        this.deps.client.publish([{ element: element!, kind: APPLICATION_KIND, atMs: signal.atMs! }]),
        this.queries.submit(element!),
      ]);
      await this.auditOk('signals:application', [id!], { signalId: signalIds[0]! });
      return { signalId: signalIds[0]!, aggregates };
    } catch (err) {
      await this.auditFailed('signals:application', [id!], err);
      throw err;
    }
  }

  /** One screening chunk: member elements, then QueryBatch; returns hits with indices relative to the chunk. */
  async screenChunk(
    ids: readonly NormalisedId[],
  ): Promise<Array<{ index: number; aggregates: SignalAggregates }>> {
    const elements = await this.elementsOf(ids);
    try {
      const hits = await this.deps.client.queryBatch(elements);
      await this.auditOk('signals:query-batch', ids, { hits: hits.length });
      return hits;
    } catch (err) {
      await this.auditFailed('signals:query-batch', ids, err);
      throw err;
    }
  }
}
