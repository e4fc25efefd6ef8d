/**
 * The node's gRPC client for the coordinator's Signals service (protocol: coordinator/signals/signals-service.ts).
 * Speaks domain types; wire conversion is `platform/wire/signals.ts`. It sends only member elements (and, in the
 * benchmark-only plaintext mode, unkeyed hashes).
 */
import type * as grpc from '@grpc/grpc-js';
import { callUnary, createMtlsClient } from '../../platform/grpc/client.js';
import { MultiplexedCalls } from '../../platform/grpc/multiplexed-client.js';
import { serviceOf } from '../../platform/grpc/proto.js';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import {
  type QueryHit,
  type SignalSubmission,
  SIGNALS_PROTO,
  SIGNALS_SERVICE,
  signalsWire as wire,
} from '../../platform/wire/signals.js';
import type { SignalAggregates } from '../../primitives/signals/protocol.js';

export class SignalsClient {
  private readonly client: grpc.Client;
  /** Single queries share one long-lived QueryStream (a fraction of a unary call's cost each). */
  private readonly queries: MultiplexedCalls;

  constructor(address: string, serverName: string, tls: TlsMaterial) {
    this.client = createMtlsClient(serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE), address, serverName, tls);
    const client = this.client as unknown as { queryStream(): grpc.ClientDuplexStream<unknown, unknown> };
    this.queries = new MultiplexedCalls(() => client.queryStream());
  }

  async publish(
    signals: readonly SignalSubmission[],
    options: { insecurePlaintext?: boolean; historical?: boolean } = {},
  ): Promise<string[]> {
    const request = wire.publishRequest.toProto({
      items: signals,
      insecurePlaintext: options.insecurePlaintext ?? false,
      historical: options.historical ?? false,
    });
    const response = await callUnary(this.client, 'publish', request, 60_000);
    return wire.publishResponse.fromProto(response);
  }

  async retract(signalIds: readonly string[]): Promise<number> {
    const response = await callUnary(this.client, 'retract', wire.retractRequest.toProto(signalIds));
    return wire.retractResponse.fromProto(response);
  }

  async query(element: Uint8Array, insecurePlaintext = false): Promise<SignalAggregates> {
    const response = await this.queries.call(
      wire.queryRequest.toProto({ items: element, insecurePlaintext }),
    );
    return wire.queryResponse.fromProto(response);
  }

  async queryBatch(elements: readonly Uint8Array[], insecurePlaintext = false): Promise<QueryHit[]> {
    const request = wire.queryBatchRequest.toProto({ items: elements, insecurePlaintext });
    const response = await callUnary(this.client, 'queryBatch', request, 60_000);
    return wire.queryBatchResponse.fromProto(response);
  }

  close(): void {
    this.queries.close();
    this.client.close();
  }
}
