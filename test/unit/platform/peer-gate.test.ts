/**
 * The coordinator's revocation gate (platform/grpc/peer-gate.ts) over real mutual TLS in-process: a revoked member's
 * call is refused before its handler runs, and a stream opened BEFORE the revocation gets no message through after
 * it (a member cannot open calls early and send their requests once it is revoked).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMtlsClient } from '../../../platform/grpc/client.js';
import { fromServiceError } from '../../../platform/grpc/errors.js';
import { MultiplexedCalls } from '../../../platform/grpc/multiplexed-client.js';
import { multiplexedHandler, OpenStreams } from '../../../platform/grpc/multiplexed-server.js';
import { revocationInterceptor } from '../../../platform/grpc/peer-gate.js';
import { peerCertificatesParsed } from '../../../platform/grpc/peer-certificate.js';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { bindServer, serverCredentials } from '../../../platform/grpc/server.js';
import { coordinatorAndMemberTls } from '../../helpers/test-pki.js';
import { SIGNALS_PROTO, SIGNALS_SERVICE, signalsWire as wire } from '../../../platform/wire/signals.js';
import type { SignalAggregates } from '../../../primitives/signals/protocol.js';
import { silentLog } from '../../helpers/log.js';

const log = silentLog;

describe('revocation gate', () => {
  const { serverTls, clientTls } = coordinatorAndMemberTls('gate-test', 'bank-c');
  const Signals = serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE);
  let revoked = false;
  let handled = 0;
  const refusals: string[] = [];
  let server: grpc.Server;
  let client: grpc.Client & {
    queryStream(): grpc.ClientDuplexStream<unknown, unknown>;
    query(r: unknown, cb: (err: grpc.ServiceError | null) => void): void;
  };

  beforeAll(async () => {
    server = new grpc.Server({
      interceptors: [
        revocationInterceptor(
          { check: (peer) => revoked && peer.member === 'bank-c' },
          (p) => refusals.push(p.member),
          log,
        ),
      ],
    });
    const options = {
      name: 'Test.Query',
      auditSuccess: false,
      decode: wire.queryRequest.fromProto,
      encode: wire.queryResponse.toProto,
      handle: async (): Promise<SignalAggregates> => {
        handled++;
        return { applications: { d1: 1, d7: 0, d30: 0 }, flags: [] };
      },
    };
    server.addService(Signals.service, {
      queryStream: multiplexedHandler(options, async () => {}, log, new OpenStreams()),
      query: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        handled++;
        cb(null, wire.queryResponse.toProto({ applications: { d1: 1, d7: 0, d30: 0 }, flags: [] }));
      },
    });
    const port = await bindServer(server, '127.0.0.1', 0, serverCredentials(serverTls));
    client = createMtlsClient(Signals, `127.0.0.1:${port}`, 'coordinator', clientTls);
  });
  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  const request = () =>
    wire.queryRequest.toProto({ items: new Uint8Array(32).fill(1), insecurePlaintext: false });

  it('refuses every call of a revoked member before its handler, with ACCORD_MEMBER_REVOKED', async () => {
    const unary = () =>
      new Promise<grpc.ServiceError | null>((resolve) => client.query(request(), (err) => resolve(err)));
    expect(await unary()).toBeNull();
    revoked = true;
    const before = handled;
    const err = await unary();
    expect(fromServiceError(err).code).toBe('ACCORD_MEMBER_REVOKED');
    expect(handled).toBe(before);
    expect(refusals).toContain('bank-c');
    revoked = false;
  });

  it('lets no message of a stream opened before the revocation through after it', async () => {
    const calls = new MultiplexedCalls(() => client.queryStream(), 2_000);
    try {
      // The stream is open and has served a call: its headers passed the gate while the member was in good standing.
      expect(wire.queryResponse.fromProto(await calls.call(request())).applications.d1).toBe(1);
      revoked = true;
      const before = handled;
      await expect(calls.call(request())).rejects.toMatchObject({ code: 'ACCORD_MEMBER_REVOKED' });
      expect(handled).toBe(before);
    } finally {
      revoked = false;
      calls.close();
    }
  });

  it('parses the peer certificate once per connection, not once per call (grpc-js internals still reached)', async () => {
    const unary = () =>
      new Promise<grpc.ServiceError | null>((resolve) => client.query(request(), (err) => resolve(err)));
    expect(await unary()).toBeNull();
    const before = peerCertificatesParsed();
    for (let i = 0; i < 20; i++) expect(await unary()).toBeNull();
    // The gate reads the member on every call; over one kept-alive connection that is no new parse.
    expect(peerCertificatesParsed()).toBe(before);
  });
});
