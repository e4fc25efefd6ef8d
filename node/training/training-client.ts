/**
 * The node's side of the coordinator's Training service: unary calls, and the inbox stream (reopened with back-off
 * when it drops). Converts wire messages at this edge; the job code sees only domain types.
 */
import type * as grpc from '@grpc/grpc-js';
import type { NodeConfig } from '../../platform/config/index.js';
import { callUnary } from '../../platform/grpc/client.js';
import { connectCoordinatorService } from '../../platform/grpc/coordinator-service.js';
import type { InboxHandlers, InboxSubscription } from '../../platform/grpc/inbox-subscription.js';
import type { Logger } from '../../platform/log/logger.js';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import { TRAINING_PROTO, TRAINING_SERVICE, trainingWire as wire } from '../../platform/wire/training.js';
import { AccordError } from '../../primitives/errors/index.js';
import {
  type StepReply,
  TRAINING_INBOX_PING_MS,
  type TrainingAnswer,
  type TrainingCancel,
  type TrainingEvent,
  type TrainingOpen,
} from '../../primitives/training/job-protocol.js';
import type { VerticalReply } from '../../primitives/vertical/protocol.js';

export class TrainingClient {
  private readonly client: grpc.Client;
  private readonly inbox: InboxSubscription<TrainingEvent>;

  constructor(config: Readonly<NodeConfig>, tls: TlsMaterial, address: string, log: Logger) {
    ({ client: this.client, inbox: this.inbox } = connectCoordinatorService({
      proto: TRAINING_PROTO,
      service: TRAINING_SERVICE,
      address,
      serverName: config.coordinator.serverName,
      tls,
      wire,
      lost: () => new AccordError('ACCORD_TRAINING_LOST'),
      what: 'training',
      log,
      silenceMs: 3 * TRAINING_INBOX_PING_MS,
    }));
  }

  open(request: TrainingOpen): Promise<{ invited: string[] }> {
    return callUnary(this.client, 'open', wire.openRequest.toProto(request)).then(
      wire.openResponse.fromProto,
    );
  }

  respond(answer: TrainingAnswer): Promise<void> {
    return callUnary(this.client, 'respond', wire.respondRequest.toProto(answer)).then(() => undefined);
  }

  step(reply: StepReply): Promise<void> {
    return callUnary(this.client, 'step', wire.stepRequest.toProto(reply), 120_000).then(() => undefined);
  }

  vertical(reply: VerticalReply): Promise<void> {
    return callUnary(this.client, 'vertical', wire.verticalRequest.toProto(reply), 120_000).then(
      () => undefined,
    );
  }

  cancel(request: TrainingCancel): Promise<void> {
    return callUnary(this.client, 'cancel', wire.cancelRequest.toProto(request)).then(() => undefined);
  }

  get connected(): boolean {
    return this.inbox.connected;
  }

  subscribe(handlers: InboxHandlers<TrainingEvent>): void {
    this.inbox.open(handlers);
  }

  close(): void {
    this.inbox.close();
    this.client.close();
  }
}
