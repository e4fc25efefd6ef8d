import { defineErrors, GrpcCode as G } from './define.js';

/**
 * Scoring errors (`ACCORD_SCORING_*`): the model and population checks of a scoring job, real-time scoring, and the
 * partial-logit requests a vertical label holder sends its partners (primitives/scoring/protocol.ts). No message
 * names a customer, a feature value, a partial logit or a score.
 */
export const scoringErrors = defineErrors({
  ACCORD_SCORING_MODEL_UNKNOWN: {
    message: 'model: no registered model {model} on this node',
    hint: 'List the registered models with GET /v1/models and name one by its id.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_SCORING_MODEL_NOT_DECIDING: {
    message:
      "model: {model} is a feature holder's part of a vertical model; only the label holder {labelHolder} scores it",
    hint: "A feature holder's part gives a partial logit, not a score: the label holder's node scores the joint model and asks this node for its part.",
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_SCORING_POPULATION_INVALID: {
    message: 'population.{field}: {problem}',
    hint: 'A horizontal model scores a dataset holding every column it reads; a vertical model scores the rows of a finished PSI intersection between exactly its parties (by default its training alignment).',
    http: 400,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_SCORING_JOB_NOT_FOUND: {
    message: 'no scoring job {job}',
    hint: 'List scoring jobs with GET /v1/scoring.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_SCORING_INTERRUPTED: {
    message: 'the node stopped while the scoring job was running',
    hint: 'Its partial scores were deleted; start the job again.',
    http: 409,
    grpc: G.ABORTED,
  },
  ACCORD_SCORING_ERASURE_BLOCKED: {
    message: 'the erasure must wait: scoring job {job} is running over a dataset that holds the customer',
    hint: 'A running job would write the customer’s score back after the erasure; retry when it ends (GET /v1/scoring/{job}). Nothing was erased.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_SCORING_CUSTOMER_NOT_FOUND: {
    message: 'customer: not in the population of model {model} ({population})',
    hint: 'Real-time scoring finds a customer by the id column of the dataset the model scores (a vertical model: among the rows its alignment shares with every partner).',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_SCORING_PARTIAL_UNAVAILABLE: {
    message: 'no partial logit of {member}: {reason}',
    hint: 'The partner did not answer within the deadline and no batch scoring job kept its partial for this customer; raise deadlineMs, bring the partner back, or run a batch job of the model (POST /v1/scoring).',
    http: 503,
    grpc: G.UNAVAILABLE,
  },
  ACCORD_SCORING_PEER_TIMEOUT: {
    message: '{member} did not answer the scoring request within {ms} ms',
    hint: 'The partner is slow or its node is down; a real-time score falls back to its batch partial, a batch job fails and can be started again.',
    http: 504,
    grpc: G.DEADLINE_EXCEEDED,
  },
  ACCORD_SCORING_REQUEST_REFUSED: {
    message: '{member} refused to score its part: {reason}',
    hint: 'A partner scores its part only for the label holder of the model, over a finished intersection between exactly the model’s parties that it learned, and only positions inside it.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_SCORING_KEY_INVALID: {
    message: 'the scoring key of {member} does not verify: {reason}',
    hint: 'Each party signs its scoring box key with its member certificate; a key that does not verify was swapped in transit or comes from an unknown certificate.',
    http: 502,
    grpc: G.PERMISSION_DENIED,
  },
  ACCORD_SCORING_BOX_INVALID: {
    message: 'a scoring box from {from} does not open: {reason}',
    hint: 'Scoring boxes are authenticated and bound to their request, model job, alignment, positions, sender and receiver; the sender or the relay is misbehaving.',
    http: 502,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SCORING_PARTIAL_INVALID: {
    message: '{member} answered a partial logit that is {problem}',
    hint: 'A partial logit is a finite number of moderate size (a linear projection of standardised features); the partner’s part or node is faulty or misbehaving. Its answer was not used; ask its operators.',
    http: 502,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_SCORING_REPLAYED: {
    message: 'a scoring box from {from} was replayed: {reason}',
    hint: 'Each box of a scoring channel opens once: a box seen before, or older than the channel’s receive window, is refused without being answered. The relay (or a party) is misbehaving.',
    http: 409,
    grpc: G.ALREADY_EXISTS,
  },
  ACCORD_SCORING_CHANNEL_UNKNOWN: {
    message: '{member} holds no scoring channel {channel}',
    hint: 'The partner restarted since the channel was agreed; the label holder agrees a new one and asks again.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_SCORING_BUSY: {
    message: 'too many scoring requests in flight {scope} (at most {limit})',
    hint: 'The relay caps the requests waiting between two members and in all, and a partner the requests it works on or queues; back off and retry (a batch job can be started again, a real-time score falls back to the batch partial).',
    http: 429,
    grpc: G.RESOURCE_EXHAUSTED,
  },
  ACCORD_SCORING_PROTOCOL: {
    message: 'scoring message refused: {reason}',
    hint: 'A request or answer arrived unexpected, repeated, or from the wrong member; the sender or the relay is misbehaving or runs another version.',
    http: 400,
    grpc: G.FAILED_PRECONDITION,
  },
});
