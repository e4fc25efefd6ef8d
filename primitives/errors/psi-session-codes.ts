import { defineErrors, GrpcCode as G } from './define.js';

/** Errors of PSI sessions and jobs (`ACCORD_PSI_*`), apart from the point-level ones in psi-codes.ts. */
export const psiSessionErrors = defineErrors({
  ACCORD_PSI_JOB_NOT_FOUND: {
    message: 'PSI job {job} does not exist on this node',
    hint: 'List jobs with GET /v1/psi.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_PSI_SESSION_NOT_FOUND: {
    message: 'PSI session {session} is not open at the coordinator',
    hint: 'The session ended or never started; start a new job.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_PSI_SESSION_EXISTS: {
    message: 'PSI session {session} already exists',
    hint: 'Use a fresh job id.',
    http: 409,
    grpc: G.ALREADY_EXISTS,
  },
  ACCORD_PSI_PEER_INVALID: {
    message: 'invalid PSI peer list: {problem}',
    hint: 'Name 1 to 15 other consortium members, each once, not yourself.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_PSI_NOT_PARTICIPANT: {
    message: 'member {member} is not a participant of PSI session {session}',
    hint: 'Only invited members may answer or send points in a session.',
    http: 403,
    grpc: G.PERMISSION_DENIED,
  },
  ACCORD_PSI_DECLINED: {
    message: 'member {member} declined the PSI session ({reason})',
    hint: 'Ask the peer bank to accept (its admin can accept pending invitations), or check the dataset name.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_TERMS_MISMATCH: {
    message: 'member {member} agreed to {field} {actual}, but the session uses {expected}',
    hint: 'A peer may only accept the terms it was invited with; the session was stopped.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_PROTOCOL_VIOLATION: {
    message: 'PSI protocol violation by {member}: {problem}',
    hint: 'The peer runs an incompatible version or misbehaves; the session was stopped.',
    http: 502,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_SET_SIZE_MISMATCH: {
    message: 'member {member} sent {actual} points for a set of {expected}',
    hint: 'A party must answer with exactly as many points as it received; the session was stopped.',
    http: 502,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_PEER_LOST: {
    message: 'member {member} disconnected during the PSI session',
    hint: 'Retry when the member is back online.',
    http: 503,
    grpc: G.UNAVAILABLE,
  },
  ACCORD_PSI_SESSION_LOST: {
    message: 'the connection to the coordinator was lost during the PSI session',
    hint: 'Retry the job when the coordinator is reachable.',
    http: 503,
    grpc: G.UNAVAILABLE,
  },
  ACCORD_PSI_INTERRUPTED: {
    message: 'the node stopped while the PSI job was running',
    hint: 'Start the job again; nothing of the interrupted run was kept.',
    http: 409,
    grpc: G.ABORTED,
  },
  ACCORD_PSI_CANCELLED: {
    message: 'the PSI job was cancelled by {by}',
    hint: 'Start a new job if needed.',
    http: 409,
    grpc: G.CANCELLED,
  },
  ACCORD_PSI_TIMEOUT: {
    message: 'PSI session timed out waiting for {what}',
    hint: 'Check that every peer is online and accepts invitations, then retry.',
    http: 504,
    grpc: G.DEADLINE_EXCEEDED,
  },
  ACCORD_PSI_ID_KIND_MISMATCH: {
    message: 'dataset {dataset} holds {actual} identifiers, but the job intersects {expected}',
    hint: 'Use a dataset whose id kind matches, or set idKind to the dataset kind.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_PSI_JOB_FINISHED: {
    message: 'PSI job {job} has already finished ({state})',
    hint: 'Only running or waiting jobs can be cancelled.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_RESULT_UNAVAILABLE: {
    message: 'PSI job {job} has no alignment ({reason})',
    hint: 'Alignments exist for finished intersection-mode jobs on nodes that learn the result.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_ALIGNMENT_STALE: {
    message:
      'dataset {dataset} is not the version PSI job {job} aligned (it was re-imported since, or the job predates dataset versions): its row keys no longer name the same customers',
    hint: 'Run the PSI job again over the dataset as it is now and use the new job as the alignment (scoring, vertical training).',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_SET_TOO_LARGE: {
    message: 'member {member} announced a set larger than the {limit} rows a PSI session allows',
    hint: 'Intersect a smaller dataset (or a filtered one), or ask the consortium operator to raise psi.maxSetSize.',
    http: 413,
    grpc: G.RESOURCE_EXHAUSTED,
  },
  ACCORD_PSI_SIZE_RATIO_EXCEEDED: {
    message: 'the set sizes in this PSI session differ by a factor of {ratio}, more than the {cap} allowed',
    hint: 'A party with a far larger set than its partner could pull the partner’s customer list. Intersect sets of comparable size, or have every party raise its cap (psi.partners.<member>.maxSizeRatio on a node, psi.maxSizeRatio at the coordinator).',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_PSI_CAPACITY_EXCEEDED: {
    message: 'the coordinator has no room for another {points} points right now',
    hint: 'Other sessions hold the coordinator’s PSI memory (psi.maxPointsInMemory); retry when they finish.',
    http: 503,
    grpc: G.RESOURCE_EXHAUSTED,
  },
  ACCORD_PSI_LIMIT_REACHED: {
    message: 'PSI session limit reached: {what} (limit {limit})',
    hint: 'Wait for running sessions to finish or for the 24-hour window to move on; the consortium operator sets the limits (psi.perMember at the coordinator).',
    http: 429,
    grpc: G.RESOURCE_EXHAUSTED,
  },
  ACCORD_PSI_PARTNER_BUDGET_EXCEEDED: {
    message:
      'the rows {partner} brought against this dataset in {days} days would exceed {ratio} times its size',
    hint: 'Each session in intersection mode tells a partner which of its candidates are this bank’s customers, so the rows one partner may bring are capped per week (psi.partners.<member>.weeklyRowsRatio). Wait, or ask the bank to raise it.',
    http: 429,
    grpc: G.RESOURCE_EXHAUSTED,
  },
  ACCORD_PSI_POLICY_REFUSED: {
    message: 'this bank’s PSI policy does not allow {what} with {partner}',
    hint: 'A bank lists in psi.partners which members may intersect against which datasets, in which modes; ask its admin to add what you need, or stay within it.',
    http: 403,
    grpc: G.PERMISSION_DENIED,
  },
  ACCORD_PSI_INVITATION_NOT_FOUND: {
    message: 'no pending PSI invitation {job}',
    hint: 'List pending invitations with GET /v1/psi/invitations.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
});
