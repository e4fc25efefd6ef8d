import { defineErrors, GrpcCode as G } from './define.js';

/** Vertical federated training errors (`ACCORD_VERTICAL_*`): alignment, the parties' boxes and the stage order. */
export const verticalErrors = defineErrors({
  ACCORD_VERTICAL_ALIGNMENT_INVALID: {
    message: 'alignment {alignment} cannot align this job: {problem}',
    hint: 'Name a finished PSI job in intersection mode, revealing to all, whose participants are exactly the members of this training job; run one with POST /v1/psi first.',
    http: 400,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_VERTICAL_ROW_COUNT_MISMATCH: {
    message: '{member} aligned {rows} rows, the label holder {expected}',
    hint: 'Every party must train on the same aligned rows; the parties used different alignments or one of them changed its data. Run the PSI job again and start a new training job.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_VERTICAL_BATCH_TOO_SMALL: {
    message:
      'a training batch of {rows} rows is too small for {columns} gradient columns (at least {needed} rows)',
    hint: 'With fewer rows than a few per column a party could solve its gradient sums for the residuals, and so the labels; raise batchSize, or use fewer columns.',
    http: 400,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_VERTICAL_VALIDATION_TOO_LARGE: {
    message: '{rows} validation rows are more than the {limit} a vertical job evaluates',
    hint: 'Lower validation.fraction; the validation rows are scored every epoch, a ciphertext of 8 192 rows at a time.',
    http: 400,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_VERTICAL_KEY_INVALID: {
    message: 'the box key of {member} does not verify: {reason}',
    hint: 'Each party signs its box key with its member certificate; a key that does not verify was swapped in transit or comes from an unknown certificate.',
    http: 400,
    grpc: G.PERMISSION_DENIED,
  },
  ACCORD_VERTICAL_BOX_INVALID: {
    message: 'a box from {from} does not open: {reason}',
    hint: 'Boxes between parties are authenticated and bound to their job, batch and stage; the sender or the relay is misbehaving.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_VERTICAL_PARTY_LOST: {
    message: '{member} left the job in epoch {epoch}',
    hint: 'Every party of a vertical job holds columns the model needs at every step, so the job cannot go on without it; bring the member back online and start a new job.',
    http: 409,
    grpc: G.UNAVAILABLE,
  },
  ACCORD_VERTICAL_PROTOCOL: {
    message: 'vertical training step refused: {reason}',
    hint: 'A message arrived out of order, repeated, or with the wrong shape; the sender or the relay is misbehaving or runs another version.',
    http: 400,
    grpc: G.FAILED_PRECONDITION,
  },
});
