/**
 * What both kinds of vertical run (vertical-run.ts: logistic regression; tree-run.ts: boosted trees) do alike: open
 * the box channels to the other parties from the signed keys the coordinator relays, record a round's metrics in the
 * job, and name the model's lineage when a part is registered.
 */
import type { ModelLineage, RoundReport, TrainingJobRecord } from '../../platform/store/training-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { X25519KeyPair } from '../../primitives/secagg/key-agreement.js';
import type { VerticalSpec } from '../../primitives/training/spec.js';
import { boxKeyMessage, PartyChannel } from '../../primitives/vertical/channel.js';
import type { EpochMetrics, SignedBoxKey } from '../../primitives/vertical/protocol.js';
import type { VerticalData } from './vertical-data.js';
import type { VerticalRunDeps } from './vertical-run.js';

/**
 * A channel to every other party of `job`, each from its signed box key (checked against the consortium CA);
 * ACCORD_VERTICAL_KEY_INVALID naming the party whose key is missing, unsigned or unusable.
 */
export function partyChannels(
  deps: Pick<VerticalRunDeps, 'self' | 'verifier'>,
  job: TrainingJobRecord,
  boxKey: X25519KeyPair,
  keys: readonly SignedBoxKey[],
): Map<string, PartyChannel> {
  const byMember = new Map(keys.map((k) => [k.member, k]));
  const channels = new Map<string, PartyChannel>();
  for (const member of job.participants.filter((m) => m !== deps.self)) {
    const key = byMember.get(member);
    if (!key) throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason: 'it is missing' });
    const reason = deps.verifier(
      member,
      key.certificatePem,
      boxKeyMessage(job.id, member, job.specDigest, key.boxKey),
      key.signature,
    );
    if (reason) throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason });
    try {
      channels.set(member, new PartyChannel(deps.self, member, boxKey, key.boxKey));
    } catch {
      throw new AccordError('ACCORD_VERTICAL_KEY_INVALID', { member, reason: 'not a usable X25519 key' });
    }
  }
  return channels;
}

/** The job's record after round `round` (an epoch or a tree) with `metrics` (null: not published to this party). */
export function recordRound(
  deps: Pick<VerticalRunDeps, 'jobs'>,
  job: TrainingJobRecord,
  data: VerticalData,
  evaluatedBy: string,
  round: number,
  metrics: EpochMetrics | null,
): Promise<TrainingJobRecord> {
  const report: RoundReport | null = metrics
    ? {
        round,
        members: job.participants,
        evaluatedBy: [evaluatedBy],
        loss: metrics.logLoss,
        metrics,
        clipped: 0,
      }
    : null;
  return deps.jobs.update(job.id, {
    round,
    history: report ? [...job.history.filter((h) => h.round !== round), report] : job.history,
    local: {
      trainingRows: data.trainingRows.length,
      validationRows: data.validationRows.length,
      missingValues: data.missingValues,
      otherValues: data.otherValues,
    },
  });
}

/** The lineage of a vertical job's part: the job, its parties, this party's data and every party's fingerprint. */
export function verticalLineage(
  job: TrainingJobRecord,
  spec: VerticalSpec,
  data: VerticalData,
  fingerprints: Readonly<Record<string, string>>,
): ModelLineage {
  return {
    job: job.id,
    initiator: job.initiator,
    participants: job.participants,
    finalMembers: job.participants,
    dataset: { name: data.dataset, fingerprint: data.fingerprint, rows: data.alignedRows },
    fingerprints: { ...fingerprints },
    spec,
  };
}
