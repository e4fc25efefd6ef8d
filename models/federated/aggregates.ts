/**
 * What each aggregation of a horizontal job sums (primitives/training/job-protocol.ts), and how its values are
 * encoded in the ring Z/2^32 that secure aggregation masks. Both sides use this one module: a member encodes its
 * contribution, the coordinator decodes the sum. Lane counts follow from the spec alone, so the coordinator knows the
 * length every vector must have without seeing any data.
 *
 *  stats: per numeric column [Σx, Σx², n], per categorical column [values sent to "other"] (models/preprocessing.ts),
 *         then [training rows, positive labels]. Wide codec (128-bit integers, 2^-16 resolution): raw feature values
 *         may be large and the sums cover every row.
 *  train: fedAvgContribution(parameters, rows, totalRows) (P + 1 values: parameters x weight, then the weight), then
 *         the member's loss x weight. Narrow codec: values clipped to [-clip, clip] (the spec's clip), as many
 *         fraction bits as 16 members x clip allow; the member counts what it clipped and reports it in eval.
 *  eval:  the score histogram of the validation rows (EVAL_BINS bins per label), the log-loss sum, then the values
 *         the member clipped in this round's train vector. Wide codec (64-bit integers, 2^-16 resolution).
 */
import {
  chooseFixedPoint,
  decodeFixedPointSum,
  decodeWideSum,
  encodeFixedPoint,
  encodeWide,
} from '../../primitives/secagg/fixed-point.js';
import { AccordError } from '../../primitives/errors/index.js';
import { planRound, type RoundPlan } from '../../primitives/secagg/neighbours.js';
import {
  type AggregationId,
  type AggregationTask,
  aggregationKey,
} from '../../primitives/training/job-protocol.js';
import { TRAINING_MAX_PARTIES, type HorizontalSpec as TrainingSpec } from '../../primitives/training/spec.js';
import { EVAL_BINS } from '../metrics.js';
import { parameterCount } from '../network.js';
import { localStatsLayout } from '../preprocessing.js';

const STATS_CODEC = { fractionBits: 16, limbs: 8 } as const;
const EVAL_CODEC = { fractionBits: 16, limbs: 4 } as const;

/** Network inputs the spec's columns produce: 1 per numeric column, categories + 1 per categorical. */
export function specWidth(spec: TrainingSpec): number {
  let width = 0;
  for (const f of spec.features) width += f.kind === 'numeric' ? 1 : f.categories.length + 1;
  return width;
}

/** Values (before encoding) of each task's vector. */
export function aggregationValues(spec: TrainingSpec, task: AggregationTask): number {
  switch (task) {
    case 'stats':
      return localStatsLayout(spec.features).length + 2;
    case 'train':
      return parameterCount(spec.model, specWidth(spec)) + 2;
    case 'eval':
      return 2 * EVAL_BINS + 2;
  }
}

function trainCodec(spec: TrainingSpec) {
  return chooseFixedPoint({ clip: spec.clip, maxParticipants: TRAINING_MAX_PARTIES });
}

/** Lanes of each task's masked vector. */
export function aggregationLanes(spec: TrainingSpec, task: AggregationTask): number {
  const values = aggregationValues(spec, task);
  if (task === 'stats') return values * STATS_CODEC.limbs;
  if (task === 'eval') return values * EVAL_CODEC.limbs;
  return values;
}

/** A member's contribution as ring lanes; `clipped` counts values the narrow codec clamped (train only). */
export function encodeAggregate(
  spec: TrainingSpec,
  task: AggregationTask,
  values: Float64Array,
): { lanes: Uint32Array; clipped: number } {
  const expected = aggregationValues(spec, task);
  if (values.length !== expected)
    throw new RangeError(`a ${task} contribution has ${values.length} values, expected ${expected}`);
  if (task === 'stats') return { lanes: encodeWide(values, STATS_CODEC), clipped: 0 };
  if (task === 'eval') return { lanes: encodeWide(values, EVAL_CODEC), clipped: 0 };
  return encodeFixedPoint(values, trainCodec(spec));
}

/** The sum's values, from the unmasked ring sum. */
export function decodeAggregate(spec: TrainingSpec, task: AggregationTask, lanes: Uint32Array): Float64Array {
  if (lanes.length !== aggregationLanes(spec, task))
    throw new RangeError(`a ${task} sum has ${lanes.length} lanes, expected ${aggregationLanes(spec, task)}`);
  if (task === 'stats') return decodeWideSum(lanes, STATS_CODEC);
  if (task === 'eval') return decodeWideSum(lanes, EVAL_CODEC);
  return decodeFixedPointSum(lanes, trainCodec(spec));
}

/**
 * The SecAgg+ round plan of one aggregation (neighbours, threshold, vector length), computed the same way by the
 * coordinator and by every member from the spec and the members taking part; its digest is bound into every
 * signature of the round, so a member that was told another plan refuses. Throws ACCORD_SECAGG_TOO_FEW_SURVIVORS
 * when fewer members than minParticipants take part.
 */
export function aggregationPlan(
  spec: TrainingSpec,
  id: AggregationId,
  members: readonly string[],
): RoundPlan {
  if (members.length < Math.max(2, spec.minParticipants))
    throw new AccordError('ACCORD_SECAGG_TOO_FEW_SURVIVORS', {
      round: id.round,
      survivors: members.length,
      needed: Math.max(2, spec.minParticipants),
    });
  return planRound({
    session: aggregationKey(id),
    round: id.round,
    participants: members,
    lanes: aggregationLanes(spec, id.task),
    minSurvivors: spec.minParticipants,
  });
}
