/**
 * A node's connection to one of the coordinator's job services (PSI, training): the mutual-TLS client and its inbox
 * stream, made once here so that each service's client only adds its own calls.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TlsMaterial } from '../tls/credentials.js';
import { createMtlsClient } from './client.js';
import { InboxSubscription } from './inbox-subscription.js';
import { serviceOf } from './proto.js';

export interface CoordinatorServiceOptions<E> {
  readonly proto: string;
  readonly service: string;
  /** host:port of the coordinator. */
  readonly address: string;
  /** Name the coordinator's certificate must carry. */
  readonly serverName: string;
  readonly tls: TlsMaterial;
  readonly wire: {
    readonly subscribeRequest: { toProto(): unknown };
    readonly subscribeResponse: { fromProto(message: unknown): E };
  };
  /** The error handed to the inbox's `onDisconnect`. */
  readonly lost: () => AccordError;
  /** What to call the service in logs. */
  readonly what: string;
  readonly log: Logger;
  /** See InboxOptions.silenceMs. */
  readonly silenceMs?: number | undefined;
}

export function connectCoordinatorService<E>(options: CoordinatorServiceOptions<E>): {
  client: grpc.Client;
  inbox: InboxSubscription<E>;
} {
  const client = createMtlsClient(
    serviceOf(options.proto, options.service),
    options.address,
    options.serverName,
    options.tls,
  );
  const inbox = new InboxSubscription<E>({
    client,
    decode: (m) => options.wire.subscribeResponse.fromProto(m),
    request: options.wire.subscribeRequest.toProto(),
    lost: options.lost,
    what: options.what,
    log: options.log,
    silenceMs: options.silenceMs,
  });
  return { client, inbox };
}
