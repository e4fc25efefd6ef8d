/**
 * Calls multiplexed on one gRPC stream (platform/grpc/multiplexed-*.ts), over real mutual TLS on loopback with the
 * real Signals contract: answers find their callers in any order, a failed call fails alone, deadlines hold, a
 * peer restart fails the calls in flight and the next call opens a new stream, and every call is audited with the
 * member named by the client certificate.
 */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMtlsClient } from '../../../platform/grpc/client.js';
import { MultiplexedCalls } from '../../../platform/grpc/multiplexed-client.js';
import { multiplexedHandler, OpenStreams } from '../../../platform/grpc/multiplexed-server.js';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { bindServer, serverCredentials } from '../../../platform/grpc/server.js';
import type { Logger } from '../../../platform/log/logger.js';
import { coordinatorAndMemberTls } from '../../helpers/test-pki.js';
import { SIGNALS_PROTO, SIGNALS_SERVICE, signalsWire as wire } from '../../../platform/wire/signals.js';
import type { AuditDraft } from '../../../primitives/audit/chain.js';
import { AccordError } from '../../../primitives/errors/index.js';
import type { SignalAggregates } from '../../../primitives/signals/protocol.js';

/** The element's first byte says what the test server does; the second is echoed as d1. */
const Behaviour = { answer: 0, slow: 1, refuse: 2, hang: 3, crash: 4 } as const;

function element(behaviour: number, echo: number): Uint8Array {
  const e = new Uint8Array(32);
  e[0] = behaviour;
  e[1] = echo;
  return e;
}

describe('multiplexed calls over one stream', () => {
  // Errors logged locally (never sent): the test checks an internal error lands here and not on the wire.
  const logged: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (msg, fields) => logged.push({ msg, ...(fields ? { fields } : {}) }),
    child: () => log,
  };
  const audits: AuditDraft[] = [];
  const { serverTls, clientTls } = coordinatorAndMemberTls();
  const Signals = serviceOf(SIGNALS_PROTO, SIGNALS_SERVICE);
  let server: grpc.Server;
  let port = 0;
  let client: grpc.Client;
  let calls: MultiplexedCalls;
  let open: OpenStreams;
  let streamsOpened = 0;

  async function startServer(): Promise<void> {
    server = new grpc.Server();
    open = new OpenStreams();
    server.addService(Signals.service, {
      queryStream: multiplexedHandler<{ items: Uint8Array }, SignalAggregates>(
        {
          name: 'Test.Query',
          decode: wire.queryRequest.fromProto,
          encode: wire.queryResponse.toProto,
          handle: async ({ items }) => {
            const [behaviour, echo] = [items[0]!, items[1]!];
            if (behaviour === Behaviour.slow) await new Promise((r) => setTimeout(r, 150));
            if (behaviour === Behaviour.refuse)
              throw new AccordError('ACCORD_RATE_LIMITED', { what: 'queries', limit: 1 });
            if (behaviour === Behaviour.hang) await new Promise(() => {});
            if (behaviour === Behaviour.crash) throw new Error('secret internal detail');
            return { applications: { d1: echo, d7: 0, d30: 0 }, flags: [] };
          },
        },
        async (draft) => void audits.push(draft),
        log,
        open,
      ),
    });
    port = await bindServer(server, '127.0.0.1', port, serverCredentials(serverTls));
  }

  const query = async (e: Uint8Array): Promise<SignalAggregates> =>
    wire.queryResponse.fromProto(
      await calls.call(wire.queryRequest.toProto({ items: e, insecurePlaintext: false })),
    );

  beforeAll(async () => {
    await startServer();
    client = createMtlsClient(Signals, `127.0.0.1:${port}`, 'coordinator', clientTls);
    const c = client as unknown as { queryStream(): grpc.ClientDuplexStream<unknown, unknown> };
    calls = new MultiplexedCalls(() => {
      streamsOpened++;
      return c.queryStream();
    }, 400);
  });

  afterAll(() => {
    calls.close();
    client.close();
    server.forceShutdown();
  });

  it('gives every caller its own answer, whatever order the answers come back in', async () => {
    const slow = query(element(Behaviour.slow, 200));
    const fast = await Promise.all(Array.from({ length: 50 }, (_, i) => query(element(Behaviour.answer, i))));
    expect(fast.map((a) => a.applications.d1)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await slow).applications.d1).toBe(200);
  });

  it('fails only the call that failed, with its registry error, and keeps the stream for the others', async () => {
    const results = await Promise.allSettled([
      query(element(Behaviour.answer, 1)),
      query(element(Behaviour.refuse, 2)),
      query(element(Behaviour.crash, 3)),
      query(element(Behaviour.answer, 4)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const refused = (results[1] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(AccordError);
    expect(refused).toMatchObject({ code: 'ACCORD_RATE_LIMITED', params: { what: 'queries', limit: 1 } });
    // Anything that is not a registry error crosses as ACCORD_INTERNAL, without its message.
    const crashed = (results[2] as PromiseRejectedResult).reason as AccordError;
    expect(crashed.code).toBe('ACCORD_INTERNAL');
    expect(JSON.stringify(crashed)).not.toContain('secret internal detail');
    expect(logged.some((l) => (l.fields?.['err'] as Error)?.message === 'secret internal detail')).toBe(true);
    expect((await query(element(Behaviour.answer, 5))).applications.d1).toBe(5);
  });

  it('audits every call with the member from the client certificate', async () => {
    audits.length = 0;
    await query(element(Behaviour.answer, 9));
    await query(element(Behaviour.refuse, 9)).catch(() => {});
    expect(audits).toEqual([
      expect.objectContaining({ actor: 'bank-a', action: 'rpc:Test.Query', outcome: 'ok' }),
      expect.objectContaining({
        actor: 'bank-a',
        action: 'rpc:Test.Query',
        outcome: 'failed',
        details: { code: 'ACCORD_RATE_LIMITED' },
      }),
    ]);
  });

  it('fails a call at its deadline and drops nothing else', async () => {
    const before = streamsOpened;
    const hung = query(element(Behaviour.hang, 0));
    const answered = query(element(Behaviour.answer, 7));
    await expect(hung).rejects.toMatchObject({ code: 'ACCORD_COORDINATOR_UNAVAILABLE' });
    expect((await answered).applications.d1).toBe(7);
    expect(calls.inFlight).toBe(0);
    // Answers still arrive on this stream: it is kept.
    await query(element(Behaviour.answer, 6));
    expect(streamsOpened).toBe(before);
  });

  it('drops a stream on which nothing came back before a deadline, and dials again for the next call', async () => {
    await query(element(Behaviour.answer, 1));
    const before = streamsOpened;
    await expect(query(element(Behaviour.hang, 0))).rejects.toMatchObject({
      code: 'ACCORD_COORDINATOR_UNAVAILABLE',
    });
    expect((await query(element(Behaviour.answer, 8))).applications.d1).toBe(8);
    expect(streamsOpened).toBe(before + 1);
  });

  it('fails the calls in flight when the peer goes away, and opens a new stream for the next call', async () => {
    const inFlight = query(element(Behaviour.slow, 1));
    server.forceShutdown();
    await expect(inFlight).rejects.toBeInstanceOf(AccordError);
    expect(calls.inFlight).toBe(0);
    await startServer();
    // The channel reconnects on its own schedule; the first calls after a restart may still meet the old one.
    let answer: SignalAggregates | null = null;
    for (let attempt = 0; attempt < 50 && !answer; attempt++) {
      answer = await query(element(Behaviour.answer, 42)).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return null;
      });
    }
    expect(answer?.applications.d1).toBe(42);
  });

  it('ends open streams for a shutdown: calls in flight are answered, new ones fail fast', async () => {
    expect((await query(element(Behaviour.answer, 1))).applications.d1).toBe(1);
    const inFlight = query(element(Behaviour.slow, 2));
    await new Promise((r) => setTimeout(r, 20));
    open.endAll();
    expect((await inFlight).applications.d1).toBe(2);
    await expect(query(element(Behaviour.answer, 3))).rejects.toMatchObject({
      code: 'ACCORD_COORDINATOR_UNAVAILABLE',
    });
    // With every stream ended, a graceful shutdown completes without being forced.
    const graceful = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1_000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(graceful).toBe(true);
  });

  it('stops reading from a client that does not read its answers, and catches up when it does', async () => {
    const N = 20_000;
    let handled = 0;
    const slowReader = new grpc.Server();
    slowReader.addService(Signals.service, {
      queryStream: multiplexedHandler<{ items: Uint8Array }, SignalAggregates>(
        {
          name: 'Test.Query',
          auditSuccess: false,
          decode: wire.queryRequest.fromProto,
          encode: wire.queryResponse.toProto,
          handle: async () => {
            handled++;
            return { applications: { d1: 1, d7: 0, d30: 0 }, flags: [] };
          },
        },
        async () => {},
        log,
        new OpenStreams(),
        8,
      ),
    });
    const slowPort = await bindServer(slowReader, '127.0.0.1', 0, serverCredentials(serverTls));
    // A raw HTTP/2 client that never reads its answers (grpc-js clients always drain the socket).
    const session = http2.connect(`https://127.0.0.1:${slowPort}`, {
      ca: clientTls.caPem,
      cert: clientTls.certPem,
      key: clientTls.keyPem,
      servername: 'coordinator',
    });
    session.on('error', () => {}); // the forced shutdown below drops the connection
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/accord.v1.Signals/QueryStream',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.on('error', () => {});
      stream.pause();
      const serialize = (
        Signals.service as unknown as Record<string, { requestSerialize(v: unknown): Buffer }>
      )['QueryStream']!.requestSerialize;
      const request = wire.queryRequest.toProto({
        items: element(Behaviour.answer, 1),
        insecurePlaintext: false,
      });
      const frames: Buffer[] = [];
      for (let callId = 1; callId <= N; callId++) {
        const message = serialize({ callId, request });
        const prefix = Buffer.alloc(5);
        prefix.writeUInt32BE(message.length, 1);
        frames.push(prefix, message);
      }
      stream.write(Buffer.concat(frames));
      await new Promise((r) => setTimeout(r, 1_500));
      // Only as many answers as the flow-control windows hold (plus the in-flight cap) were produced, not all N.
      expect(handled).toBeLessThan(N / 2);
      stream.resume();
      for (let waited = 0; handled < N && waited < 10_000; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
      expect(handled).toBe(N);
    } finally {
      session.destroy();
      slowReader.forceShutdown();
    }
  });

  it('holds each member to its cap of open streams, and ends a revoked member’s streams at once', async () => {
    const capped = new OpenStreams(1);
    const capServer = new grpc.Server();
    capServer.addService(Signals.service, {
      queryStream: multiplexedHandler<{ items: Uint8Array }, SignalAggregates>(
        {
          name: 'Test.Query',
          auditSuccess: false,
          decode: wire.queryRequest.fromProto,
          encode: wire.queryResponse.toProto,
          handle: async () => ({ applications: { d1: 1, d7: 0, d30: 0 }, flags: [] }),
        },
        async (draft) => void audits.push(draft),
        log,
        capped,
      ),
    });
    const capPort = await bindServer(capServer, '127.0.0.1', 0, serverCredentials(serverTls));
    const streamsOf = () => {
      const c = createMtlsClient(
        Signals,
        `127.0.0.1:${capPort}`,
        'coordinator',
        clientTls,
      ) as unknown as grpc.Client & {
        queryStream(): grpc.ClientDuplexStream<unknown, unknown>;
      };
      return { client: c, calls: new MultiplexedCalls(() => c.queryStream(), 2_000) };
    };
    const ask = async (m: MultiplexedCalls) =>
      wire.queryResponse.fromProto(
        await m.call(
          wire.queryRequest.toProto({ items: element(Behaviour.answer, 1), insecurePlaintext: false }),
        ),
      );
    const first = streamsOf();
    const second = streamsOf();
    try {
      expect((await ask(first.calls)).applications.d1).toBe(1);
      // The same member's second stream is refused, coded and audited; the first keeps working.
      await expect(ask(second.calls)).rejects.toMatchObject({ code: 'ACCORD_STREAMS_LIMIT_REACHED' });
      expect(
        audits.some((a) => a.outcome === 'refused' && a.details['code'] === 'ACCORD_STREAMS_LIMIT_REACHED'),
      ).toBe(true);
      expect((await ask(first.calls)).applications.d1).toBe(1);
      // Revoked: its open stream ends now, with the coded error, and nobody else's.
      const ended = capped.endWhere(
        (peer) => peer.member === 'bank-a',
        (peer) => new AccordError('ACCORD_MEMBER_REVOKED', { member: peer.member }),
      );
      expect(ended).toBe(1);
      expect(
        capped.endWhere(
          () => true,
          () => new AccordError('ACCORD_INTERNAL'),
        ),
      ).toBe(0);
    } finally {
      first.calls.close();
      second.calls.close();
      first.client.close();
      second.client.close();
      capServer.forceShutdown();
    }
  });
});
