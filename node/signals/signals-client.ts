/**
 * The node's gRPC client for the coordinator's Signals service (protocol: coordinator/signals/signals-service.ts).
 * Speaks domain types; wire conversion is `platform/wire/signals.ts`. It sends only blinded elements and tokens.
 */
import type * as grpc from '@grpc/grpc-js';
import { callUnary, createMtlsClient } from '../../platform/grpc/client.js';
import { serviceOf } from '../../platform/grpc/proto.js';
import type { NewSignal } from '../../platform/store/signal-types.js';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import {
  type QueryHit,
  SIGNALS_PROTO,
  SIGNALS_SERVICE,
  signalsWire as wire,
} from '../../platform/wire/signals.js';
import type { SignalAggregates } from '../../shared/signals/protocol.js';

export class SignalsClient {
  private readonly client: grpc.Client;

  constructor(address: string, serverName: string, tls: TlsMaterial) {
    this.client = createMtlsClient(serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE), address, serverName, tls);
  }

  /** OPRF step 2 at the coordinator: E_i = B_i^k_c, in order. */
  async evaluate(blinded: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const response = await callUnary(this.client, 'evaluate', wire.evaluateRequest.toProto(blinded), 60_000);
    return wire.evaluateResponse.fromProto(response, blinded.length);
  }

  async publish(signals: readonly NewSignal[]): Promise<string[]> {
    const response = await callUnary(this.client, 'publish', wire.publishRequest.toProto(signals), 60_000);
    return wire.publishResponse.fromProto(response);
  }

  async retract(signalIds: readonly string[]): Promise<number> {
    const response = await callUnary(this.client, 'retract', wire.retractRequest.toProto(signalIds));
    return wire.retractResponse.fromProto(response);
  }

  async query(token: Uint8Array): Promise<SignalAggregates> {
    const response = await callUnary(this.client, 'query', wire.queryRequest.toProto(token));
    return wire.queryResponse.fromProto(response);
  }

  async queryBatch(tokens: readonly Uint8Array[]): Promise<QueryHit[]> {
    const response = await callUnary(
      this.client,
      'queryBatch',
      wire.queryBatchRequest.toProto(tokens),
      60_000,
    );
    return wire.queryBatchResponse.fromProto(response);
  }

  close(): void {
    this.client.close();
  }
}
