/**
 * Inbox streams between a real gRPC server and client over mutual TLS (the Training service's Subscribe): a stream
 * the coordinator ends reaches the member as an error, so it subscribes again; a member that hears nothing for its
 * silence limit subscribes again on its own; a delivery to a member that does not read ends that stream when its
 * deadline passes, and tells the owner.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endInbox, Inboxes } from '../../../coordinator/inboxes.js';
import { createMtlsClient } from '../../../platform/grpc/client.js';
import { InboxSubscription } from '../../../platform/grpc/inbox-subscription.js';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { bindServer, serverCredentials } from '../../../platform/grpc/server.js';
import { TRAINING_PROTO, TRAINING_SERVICE, trainingWire as wire } from '../../../platform/wire/training.js';
import { AccordError } from '../../../primitives/errors/index.js';
import type { TrainingEvent } from '../../../primitives/training/job-protocol.js';
import { silentLog } from '../../helpers/log.js';
import { coordinatorAndMemberTls } from '../../helpers/test-pki.js';
import { waitFor } from '../../helpers/wait.js';

type Inbox = grpc.ServerWritableStream<unknown, unknown>;

describe('inbox streams', () => {
  const { serverTls, clientTls } = coordinatorAndMemberTls();
  const Training = serviceOf(TRAINING_PROTO, TRAINING_SERVICE);
  const inboxes = new Inboxes<TrainingEvent>(
    wire.subscribeResponse.toProto,
    () => new AccordError('ACCORD_TRAINING_LOST'),
  );
  /** Every Subscribe call the server received, newest last. */
  const opened: Inbox[] = [];
  let server: grpc.Server;
  let address = '';

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(Training.service, {
      subscribe: (call: Inbox) => {
        opened.push(call);
        inboxes.attach({ member: 'bank-a', serial: '01' }, call);
        call.on('close', () => inboxes.detach('bank-a', call));
      },
    });
    const port = await bindServer(server, '127.0.0.1', 0, serverCredentials(serverTls));
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    server.forceShutdown();
  });

  function subscription(silenceMs?: number) {
    const client = createMtlsClient(Training, address, 'coordinator', clientTls);
    const events: TrainingEvent[] = [];
    const disconnects: string[] = [];
    const inbox = new InboxSubscription<TrainingEvent>({
      client,
      decode: wire.subscribeResponse.fromProto,
      request: wire.subscribeRequest.toProto(),
      lost: () => new AccordError('ACCORD_TRAINING_LOST'),
      what: 'training',
      log: silentLog,
      silenceMs,
    });
    inbox.open({ onEvent: (e) => events.push(e), onDisconnect: (e) => disconnects.push(e.code) });
    return {
      inbox,
      events,
      disconnects,
      close: () => {
        inbox.close();
        client.close();
      },
    };
  }

  it('a stream the coordinator ends reaches the member, which subscribes again', async () => {
    const before = opened.length;
    const s = subscription();
    try {
      await waitFor('the first subscribe', () => opened.length === before + 1);
      await inboxes.deliver('bank-a', { kind: 'ping' });
      await waitFor('the ping', () => s.events.length === 1);
      endInbox(opened.at(-1)!, new AccordError('ACCORD_MEMBER_REVOKED', { member: 'bank-a' }));
      await waitFor('the member to hear of it', () => s.disconnects.length === 1);
      await waitFor('a new subscribe', () => opened.length === before + 2, 5_000);
    } finally {
      s.close();
    }
  });

  it('a member that hears nothing for its silence limit subscribes again', async () => {
    const before = opened.length;
    const s = subscription(300);
    try {
      await waitFor('the first subscribe', () => opened.length === before + 1);
      // Nothing is sent: after 300 ms and the second of grace, the member takes the stream for dead.
      await waitFor('a new subscribe', () => opened.length === before + 2, 5_000);
      expect(s.disconnects).toEqual(['ACCORD_TRAINING_LOST']);
    } finally {
      s.close();
    }
  });

  it('a delivery to a member that does not read ends that stream at its deadline and tells the owner', async () => {
    const before = opened.length;
    const s = subscription();
    const stalled: string[] = [];
    inboxes.onStalled = (member) => stalled.push(member);
    try {
      await waitFor('the first subscribe', () => opened.length === before + 1);
      s.inbox.pause();
      const big: TrainingEvent = {
        kind: 'aggregate',
        aggregate: {
          aggregation: { jobId: '8a4f2b7e-6a4d-4d1e-9a3c-2f1e0b9c8d7a', task: 'eval', round: 1 },
          sum: new Float64Array(500_000),
          contributors: ['bank-a', 'bank-b'],
        },
      };
      let refused: unknown = null;
      for (let i = 0; i < 64 && refused === null; i++)
        await inboxes.deliver('bank-a', big, 300).catch((err) => {
          refused = err;
        });
      expect((refused as AccordError | null)?.code).toBe('ACCORD_TRAINING_LOST');
      expect(stalled).toEqual(['bank-a']);
      expect(inboxes.isConnected('bank-a')).toBe(false);
    } finally {
      inboxes.onStalled = null;
      s.close();
    }
  });
});
