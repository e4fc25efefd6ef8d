/**
 * The node's side of the coordinator's Scoring service: `ask` (a label holder's request to a partner, answered with
 * the partner's reply), `answer` (this node's reply to a request from its inbox) and the inbox stream (reopened with
 * back-off when it drops). Converts wire messages at this edge; the scoring code sees only domain types.
 */
import type * as grpc from '@grpc/grpc-js';
import type { NodeConfig } from '../../platform/config/index.js';
import { callUnary } from '../../platform/grpc/client.js';
import { connectCoordinatorService } from '../../platform/grpc/coordinator-service.js';
import type { InboxHandlers, InboxSubscription } from '../../platform/grpc/inbox-subscription.js';
import type { Logger } from '../../platform/log/logger.js';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import { SCORING_PROTO, SCORING_SERVICE, scoringWire as wire } from '../../platform/wire/scoring.js';
import { AccordError } from '../../primitives/errors/index.js';
import {
  SCORING_INBOX_PING_MS,
  type ScoringEvent,
  type ScoringReply,
  type ScoringRequest,
} from '../../primitives/scoring/protocol.js';

/** What the scoring code needs of the coordinator (a fake in unit tests). */
export interface ScoringTransport {
  /** Relays `request` to its partner; resolves with the reply, rejects with the partner's or relay's coded error. */
  ask(request: ScoringRequest, timeoutMs: number): Promise<ScoringReply>;
  answer(reply: ScoringReply): Promise<void>;
}

/** Room beyond the relay's own timeout for the call to come back with the relay's coded timeout. */
const CALL_MARGIN_MS = 2_000;

export class ScoringClient implements ScoringTransport {
  private readonly client: grpc.Client;
  private readonly inbox: InboxSubscription<ScoringEvent>;

  constructor(config: Readonly<NodeConfig>, tls: TlsMaterial, address: string, log: Logger) {
    ({ client: this.client, inbox: this.inbox } = connectCoordinatorService({
      proto: SCORING_PROTO,
      service: SCORING_SERVICE,
      address,
      serverName: config.coordinator.serverName,
      tls,
      wire,
      lost: () => new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'the scoring inbox closed' }),
      what: 'scoring',
      log,
      silenceMs: 3 * SCORING_INBOX_PING_MS,
    }));
  }

  ask(request: ScoringRequest, timeoutMs: number): Promise<ScoringReply> {
    return callUnary(
      this.client,
      'ask',
      wire.askRequest.toProto({ request, timeoutMs }),
      timeoutMs + CALL_MARGIN_MS,
    ).then(wire.askResponse.fromProto);
  }

  answer(reply: ScoringReply): Promise<void> {
    return callUnary(this.client, 'answer', wire.answerRequest.toProto(reply)).then(() => undefined);
  }

  get connected(): boolean {
    return this.inbox.connected;
  }

  subscribe(handlers: InboxHandlers<ScoringEvent>): void {
    this.inbox.open(handlers);
  }

  close(): void {
    this.inbox.close();
    this.client.close();
  }
}
