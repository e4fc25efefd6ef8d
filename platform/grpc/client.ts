/**
 * gRPC clients over mutual TLS. The server's certificate must chain to the consortium CA and name `serverName`
 * (checked instead of the address host, so loopback ports work). Calls return promises and throw AccordErrors.
 */
import * as grpc from '@grpc/grpc-js';
import type { AccordError } from '../../primitives/errors/index.js';
import type { TlsMaterial } from '../tls/credentials.js';
import { fromServiceError } from './errors.js';
import { NODE_CLIENT_LIMITS } from './limits.js';
import { wireRecorderInterceptors } from './wire-recorder.js';

export function createMtlsClient<T extends grpc.Client>(
  ctor: grpc.ServiceClientConstructor,
  address: string,
  serverName: string,
  tls: TlsMaterial,
  options: grpc.ChannelOptions = {},
): T {
  const credentials = grpc.credentials.createSsl(tls.caPem, tls.keyPem, tls.certPem);
  return new ctor(address, credentials, {
    'grpc.ssl_target_name_override': serverName,
    'grpc.default_authority': serverName,
    // Sized to the protocol's largest message each way (limits.ts): receive what the coordinator sends at most.
    ...NODE_CLIENT_LIMITS,
    'grpc.keepalive_time_ms': 20_000,
    'grpc.enable_channelz': 0,
    'grpc.enable_retries': 0,
    ...options,
    // Recording (privacy tests) stays on whatever interceptors a caller adds.
    interceptors: [...wireRecorderInterceptors(), ...((options['interceptors'] as grpc.Interceptor[]) ?? [])],
  }) as unknown as T;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

/** Calls `method` on `client`; rejects with the peer's AccordError (or a transport one). */
export function callUnary<Res>(
  client: grpc.Client,
  method: string,
  request: unknown,
  deadlineMs = 10_000,
): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, response) => {
      if (err) reject(fromServiceError(err) satisfies AccordError);
      else resolve(response as Res);
    });
  });
}
