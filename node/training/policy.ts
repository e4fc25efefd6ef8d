/**
 * This bank's training policy as a pure rule (config: `training.partners`): a job over local dataset D for purpose P
 * is allowed only if EVERY other participant is a listed partner that may train on D for P. Every participant learns
 * the pooled statistics and the model, both of which say something about D.
 */
import { ANY_DATASET } from '../../platform/config/psi-schema.js';
import type { TrainingPartnerPolicy } from '../../platform/config/training-schema.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { TrainingPurpose } from '../../primitives/training/spec.js';

/** Throws ACCORD_TRAINING_POLICY_REFUSED naming the first partner and what it may not do. */
export function trainingAllowed(
  partners: Readonly<Record<string, TrainingPartnerPolicy>>,
  others: readonly string[],
  dataset: string,
  purpose: TrainingPurpose,
  columns: readonly string[],
): void {
  for (const partner of others) {
    const policy = partners[partner];
    if (!policy) throw new AccordError('ACCORD_TRAINING_POLICY_REFUSED', { what: 'any training', partner });
    if (!policy.datasets.includes(ANY_DATASET) && !policy.datasets.includes(dataset))
      throw new AccordError('ACCORD_TRAINING_POLICY_REFUSED', { what: `dataset ${dataset}`, partner });
    if (!policy.purposes.includes(purpose))
      throw new AccordError('ACCORD_TRAINING_POLICY_REFUSED', { what: `purpose ${purpose}`, partner });
    const unlisted = policy.columns ? columns.find((c) => !policy.columns!.includes(c)) : undefined;
    if (unlisted !== undefined)
      throw new AccordError('ACCORD_TRAINING_POLICY_REFUSED', { what: `column ${unlisted}`, partner });
  }
}
