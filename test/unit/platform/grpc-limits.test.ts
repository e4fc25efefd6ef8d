/**
 * gRPC message size limits (platform/grpc/limits.ts) against the real contracts: the largest real message of every
 * RPC, built field by field from the protocol's maxima and encoded with the real proto files, fits its direction's
 * limit, and no limit is more than twice the largest message. A field with no declared bound (a new string, bytes,
 * list or map) fails the test, so a contract change cannot outgrow the limits unnoticed. Then, over real mutual TLS
 * in-process, a request just over the coordinator's limit is refused with RESOURCE_EXHAUSTED and never reaches the
 * handler, while one of exactly the limit does.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMtlsClient } from '../../../platform/grpc/client.js';
import {
  COORDINATOR_RECEIVE_LIMIT,
  COORDINATOR_SERVER_LIMITS,
  LARGEST_COORDINATOR_MESSAGE,
  LARGEST_NODE_REQUEST,
  NODE_CLIENT_LIMITS,
  NODE_RECEIVE_LIMIT,
  SIGNAL_KIND_MAX_CHARS,
} from '../../../platform/grpc/limits.js';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { bindServer, createCoordinatorServer, serverCredentials } from '../../../platform/grpc/server.js';
import { coordinatorAndMemberTls } from '../../helpers/test-pki.js';
import { AUDIT_ANCHORS_PAGE_MAX } from '../../../platform/wire/consortium.js';
import { PSI_PROTO, PSI_SERVICE } from '../../../platform/wire/psi.js';
import { MEMBER_NAME_PATTERN } from '../../../primitives/consortium/roles.js';
import { registry } from '../../../primitives/errors/index.js';
import { ID_KINDS } from '../../../primitives/identity/normalise.js';
import {
  PSI_BATCH_POINTS,
  PSI_MAX_PARTIES,
  PSI_MODES,
  PSI_OUTCOME,
  PSI_RESULT_BATCH,
  PSI_REVEAL,
} from '../../../primitives/psi/session-protocol.js';
import {
  MAX_EXTRA_FLAG_KINDS,
  SIGNAL_KIND_PATTERN,
  SIGNAL_KINDS,
} from '../../../primitives/signals/kinds.js';
import { MAX_PUBLISH_BATCH, MAX_RPC_BATCH, SIGNAL_ID_PATTERN } from '../../../primitives/signals/protocol.js';

const PROTO_ROOT = fileURLToPath(new URL('../../../proto', import.meta.url));
const SERVICES = [
  { file: 'consortium.proto', service: 'Consortium' },
  { file: 'psi.proto', service: 'Psi' },
  { file: 'signals.proto', service: 'Signals' },
] as const;

const longest = (values: readonly string[]) => Math.max(...values.map((v) => v.length));
const MEMBER = 63;
const SESSION_ID = 36;
const SIGNAL_ID = 36;
const HASH_HEX = 64;
const ERROR_CODE = longest(Object.keys(registry));
/** An error as `{code, params}` JSON (SessionEnd.error, a failed query on a stream): registry params are short. */
const ERROR_PAYLOAD = 4_096;
/** Names and dataset names the wire decoders accept (platform/wire/*.ts). */
const NAME = 64;
/** Capabilities a node may announce (platform/wire/consortium.ts), each at most NAME characters. */
const CAPABILITIES = 64;
/** A consortium of a thousand banks, far beyond any real one (ListMembers lists them all). */
const MEMBERS = 1_000;
const FLAG_KINDS = SIGNAL_KINDS.length - 1 + MAX_EXTRA_FLAG_KINDS;

interface Bound {
  /** Characters of a string, bytes of a bytes field. */
  readonly length?: number;
  /** Entries of a repeated or map field. */
  readonly count?: number;
  /** Characters of a map's string keys. */
  readonly keyLength?: number;
}

/** The protocol's maximum for every string, bytes, repeated and map field of every message, by Message.field. */
const BOUNDS: Readonly<Record<string, Bound>> = {
  // consortium.proto
  'RegisterRequest.nodeVersion': { length: NAME },
  'RegisterRequest.capabilities': { count: CAPABILITIES, length: NAME },
  'RegisterResponse.member': { length: MEMBER },
  'RegisterResponse.consortium': { length: 256 },
  'RegisterResponse.signalKinds': {
    count: SIGNAL_KINDS.length + MAX_EXTRA_FLAG_KINDS,
    length: SIGNAL_KIND_MAX_CHARS,
  },
  'HeartbeatRequest.auditHeadHash': { length: HASH_HEX },
  'HeartbeatResponse.coordinatorAuditHeadHash': { length: HASH_HEX },
  'ListMembersResponse.members': { count: MEMBERS },
  'Member.name': { length: MEMBER },
  'Member.status': { length: 'never_seen'.length },
  'Member.capabilities': { count: CAPABILITIES, length: NAME },
  'AuditAnchorsResponse.anchors': { count: AUDIT_ANCHORS_PAGE_MAX },
  'AuditAnchor.hash': { length: HASH_HEX },
  // psi.proto
  'OpenRequest.sessionId': { length: SESSION_ID },
  'OpenRequest.peers': { count: PSI_MAX_PARTIES - 1, length: MEMBER },
  'OpenRequest.idKind': { length: longest(ID_KINDS) },
  'OpenRequest.mode': { length: longest(PSI_MODES) },
  'OpenRequest.reveal': { length: longest(PSI_REVEAL) },
  'OpenRequest.peerDatasets': { count: PSI_MAX_PARTIES - 1, keyLength: MEMBER, length: NAME },
  'OpenResponse.invited': { count: PSI_MAX_PARTIES - 1, length: MEMBER },
  'RespondRequest.sessionId': { length: SESSION_ID },
  'Acceptance.participants': { count: PSI_MAX_PARTIES, length: MEMBER },
  'Acceptance.idKind': { length: longest(ID_KINDS) },
  'Acceptance.mode': { length: longest(PSI_MODES) },
  'Acceptance.reveal': { length: longest(PSI_REVEAL) },
  'Decline.code': { length: ERROR_CODE },
  'Invitation.sessionId': { length: SESSION_ID },
  'Invitation.initiator': { length: MEMBER },
  'Invitation.participants': { count: PSI_MAX_PARTIES, length: MEMBER },
  'Invitation.idKind': { length: longest(ID_KINDS) },
  'Invitation.mode': { length: longest(PSI_MODES) },
  'Invitation.reveal': { length: longest(PSI_REVEAL) },
  'Invitation.dataset': { length: NAME },
  'SessionStart.sessionId': { length: SESSION_ID },
  'SessionStart.ring': { count: PSI_MAX_PARTIES, length: MEMBER },
  'SessionStart.setSizes': { count: PSI_MAX_PARTIES },
  'SessionStart.learners': { count: PSI_MAX_PARTIES, length: MEMBER },
  'PointBatch.sessionId': { length: SESSION_ID },
  'PointBatch.origin': { length: MEMBER },
  'PointBatch.points': { length: PSI_BATCH_POINTS * 32 },
  'SessionResult.sessionId': { length: SESSION_ID },
  'SessionResult.positions': { length: PSI_RESULT_BATCH * 4 },
  'SessionEnd.sessionId': { length: SESSION_ID },
  'SessionEnd.outcome': { length: longest(Object.values(PSI_OUTCOME)) },
  'SessionEnd.error': { length: ERROR_PAYLOAD },
  'SessionEnd.by': { length: MEMBER },
  'SendRequest.sessionId': { length: SESSION_ID },
  'SendRequest.origin': { length: MEMBER },
  'SendRequest.points': { length: PSI_BATCH_POINTS * 32 },
  'CancelRequest.sessionId': { length: SESSION_ID },
  'CancelRequest.code': { length: ERROR_CODE },
  // signals.proto
  'SignalEntry.element': { length: 32 },
  'SignalEntry.kind': { length: SIGNAL_KIND_MAX_CHARS },
  'PublishRequest.signals': { count: MAX_PUBLISH_BATCH },
  'PublishResponse.signalIds': { count: MAX_PUBLISH_BATCH, length: SIGNAL_ID },
  'RetractRequest.signalIds': { count: MAX_PUBLISH_BATCH, length: SIGNAL_ID },
  'QueryRequest.element': { length: 32 },
  'Flag.kind': { length: SIGNAL_KIND_MAX_CHARS },
  'Aggregates.flags': { count: FLAG_KINDS },
  'QueryStreamResponse.error': { length: ERROR_PAYLOAD },
  'QueryBatchRequest.elements': { length: MAX_RPC_BATCH * 32 },
  'QueryBatchResponse.hits': { count: MAX_RPC_BATCH },
};

function boundOf(type: protobuf.Type, field: protobuf.Field, what: keyof Bound): number {
  const value = BOUNDS[`${type.name}.${field.name}`]?.[what];
  if (value === undefined)
    throw new Error(
      `no ${what} bound declared for ${type.fullName}.${field.name}: add it here and to limits.ts`,
    );
  return value;
}

/** The largest value of one scalar or message (one element of a repeated field). */
function largestElement(type: protobuf.Type, field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Type) return largestMessage(field.resolvedType);
  if (field.resolvedType instanceof protobuf.Enum)
    throw new Error(`enum ${field.name}: not used by the contracts`);
  switch (field.type) {
    case 'string':
      return 'x'.repeat(boundOf(type, field, 'length'));
    case 'bytes':
      return Buffer.alloc(boundOf(type, field, 'length'), 0xff);
    case 'uint32':
      return 0xffff_ffff;
    case 'int32':
      return 0x7fff_ffff;
    case 'uint64':
    case 'int64':
      return Number.MAX_SAFE_INTEGER;
    case 'bool':
      return true;
    case 'double':
      return Number.MAX_VALUE;
    default:
      throw new Error(`scalar type ${field.type} of ${type.fullName}.${field.name}: add it here`);
  }
}

function largestField(type: protobuf.Type, field: protobuf.Field): unknown {
  if (field.map) {
    const count = boundOf(type, field, 'count');
    const keyLength = boundOf(type, field, 'keyLength');
    const entries = Array.from({ length: count }, (_, i) => [
      String(i).padStart(keyLength, 'k'),
      largestElement(type, field),
    ]);
    return Object.fromEntries(entries);
  }
  if (field.repeated) {
    const element = largestElement(type, field);
    return Array.from({ length: boundOf(type, field, 'count') }, () => element);
  }
  return largestElement(type, field);
}

const sizeOf = (type: protobuf.Type, value: object) => type.encode(type.fromObject(value)).finish().length;

/** Every field at its largest; of each oneof, the member that makes the message largest. */
function largestMessage(type: protobuf.Type): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of type.fieldsArray) if (!field.partOf) value[field.name] = largestField(type, field);
  for (const oneof of type.oneofsArray) {
    let best: { name: string; value: unknown; size: number } | null = null;
    for (const field of oneof.fieldsArray) {
      const candidate = largestField(type, field);
      const size = sizeOf(type, { [field.name]: candidate });
      if (!best || size > best.size) best = { name: field.name, value: candidate, size };
    }
    if (best) value[best.name] = best.value;
  }
  return value;
}

interface Largest {
  readonly rpc: string;
  readonly request: number;
  readonly response: number;
}

function largestPerRpc(): Largest[] {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => `${PROTO_ROOT}/${target}`;
  root.loadSync(
    SERVICES.map((s) => `accord/v1/${s.file}`),
    { keepCase: false },
  );
  root.resolveAll();
  const out: Largest[] = [];
  for (const { file, service } of SERVICES) {
    // Sizes as grpc-js serialises them, through the same loader the processes use (platform/grpc/proto.ts).
    const definition = serviceOf(file, service).service;
    for (const method of root.lookupService(`accord.v1.${service}`).methodsArray) {
      const wire = definition[method.name]!;
      const request = wire.requestSerialize(largestMessage(root.lookupType(method.requestType))).length;
      const response = wire.responseSerialize(largestMessage(root.lookupType(method.responseType))).length;
      out.push({ rpc: `${service}.${method.name}`, request, response });
    }
  }
  return out;
}

describe('gRPC message size limits', () => {
  const largest = largestPerRpc();
  const byRpc = Object.fromEntries(largest.map((l) => [l.rpc, l]));

  it('declares the bounds it builds from the protocol’s own patterns', () => {
    expect(SIGNAL_KIND_PATTERN.test('a'.repeat(SIGNAL_KIND_MAX_CHARS))).toBe(true);
    expect(SIGNAL_KIND_PATTERN.test('a'.repeat(SIGNAL_KIND_MAX_CHARS + 1))).toBe(false);
    expect(MEMBER_NAME_PATTERN.test('a'.repeat(MEMBER))).toBe(true);
    expect(MEMBER_NAME_PATTERN.test('a'.repeat(MEMBER + 1))).toBe(false);
    expect(SIGNAL_ID_PATTERN.test(`sig_${'0'.repeat(SIGNAL_ID - 4)}`)).toBe(true);
    expect(largest.length).toBeGreaterThanOrEqual(14);
  });

  it('fits every node request within the coordinator’s receive limit', () => {
    for (const { rpc, request } of largest) {
      expect({ rpc, fits: request <= LARGEST_NODE_REQUEST }).toEqual({ rpc, fits: true });
    }
    expect(LARGEST_NODE_REQUEST).toBeLessThan(COORDINATOR_RECEIVE_LIMIT);
    expect(COORDINATOR_SERVER_LIMITS['grpc.max_receive_message_length']).toBe(COORDINATOR_RECEIVE_LIMIT);
    expect(NODE_CLIENT_LIMITS['grpc.max_send_message_length']).toBe(COORDINATOR_RECEIVE_LIMIT);
    // The largest is a full Publish.
    expect(Math.max(...largest.map((l) => l.request))).toBe(byRpc['Signals.Publish']!.request);
  });

  it('fits every coordinator message within the node’s receive limit', () => {
    for (const { rpc, response } of largest) {
      expect({ rpc, fits: response <= LARGEST_COORDINATOR_MESSAGE }).toEqual({ rpc, fits: true });
    }
    expect(LARGEST_COORDINATOR_MESSAGE).toBeLessThan(NODE_RECEIVE_LIMIT);
    expect(NODE_CLIENT_LIMITS['grpc.max_receive_message_length']).toBe(NODE_RECEIVE_LIMIT);
    expect(COORDINATOR_SERVER_LIMITS['grpc.max_send_message_length']).toBe(NODE_RECEIVE_LIMIT);
    // The largest is a full QueryBatch answer: every hit carrying every flag kind.
    expect(Math.max(...largest.map((l) => l.response))).toBe(byRpc['Signals.QueryBatch']!.response);
  });

  it('keeps each limit within twice the largest real message of its direction', () => {
    const request = Math.max(...largest.map((l) => l.request));
    const response = Math.max(...largest.map((l) => l.response));
    expect(COORDINATOR_RECEIVE_LIMIT).toBeLessThanOrEqual(2 * request);
    expect(NODE_RECEIVE_LIMIT).toBeLessThanOrEqual(2 * response);
  });
});

describe('the coordinator’s receive limit over real mutual TLS', () => {
  const { serverTls, clientTls } = coordinatorAndMemberTls();
  const Psi = serviceOf(PSI_PROTO, PSI_SERVICE);
  const serialize = Psi.service['Send']!.requestSerialize;
  let server: grpc.Server;
  let address = '';
  let handled = 0;

  /** A Send request whose encoding is exactly `bytes` long (the points field takes up the rest). */
  function sendRequestOf(bytes: number): object {
    const base = { sessionId: randomUUID(), origin: 'bank-a', hop: 1, batchIndex: 0, count: 1, last: false };
    let points = bytes;
    for (let attempt = 0; attempt < 4; attempt++) {
      const request = { ...base, points: Buffer.alloc(points) };
      const size = serialize(request).length;
      if (size === bytes) return request;
      points -= size - bytes;
    }
    throw new Error(`no request of exactly ${bytes} bytes`);
  }

  function send(client: grpc.Client, request: object): Promise<grpc.ServiceError | null> {
    return new Promise((resolve) => {
      (
        client as unknown as {
          send(r: object, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void;
        }
      ).send(request, { deadline: Date.now() + 10_000 }, (err) => resolve(err));
    });
  }

  beforeAll(async () => {
    // The coordinator's own server (coordinator/app.ts builds it the same way); a handler that only counts.
    server = createCoordinatorServer();
    server.addService(Psi.service, {
      send: (_call: unknown, callback: grpc.sendUnaryData<object>) => {
        handled++;
        callback(null, {});
      },
    });
    address = `127.0.0.1:${await bindServer(server, '127.0.0.1', 0, serverCredentials(serverTls))}`;
  });

  afterAll(() => {
    server.forceShutdown();
  });

  it('refuses a request one byte over the limit with RESOURCE_EXHAUSTED, before the handler', async () => {
    // A client that would send anything, so that it is the server's limit that is tested.
    const client = createMtlsClient(Psi, address, 'coordinator', clientTls, {
      'grpc.max_send_message_length': -1,
    });
    try {
      const over = await send(client, sendRequestOf(COORDINATOR_RECEIVE_LIMIT + 1));
      expect(over?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(over?.details).toMatch(/^Received message larger than max/);
      expect(handled).toBe(0);
      const exact = await send(client, sendRequestOf(COORDINATOR_RECEIVE_LIMIT));
      expect(exact).toBeNull();
      expect(handled).toBe(1);
    } finally {
      client.close();
    }
  });

  it('never lets a node’s client send more than the coordinator accepts', async () => {
    const client = createMtlsClient(Psi, address, 'coordinator', clientTls);
    try {
      const before = handled;
      const over = await send(client, sendRequestOf(COORDINATOR_RECEIVE_LIMIT + 1));
      expect(over?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      // Refused by the client itself, before a byte is sent.
      expect(over?.details).toMatch(/^Attempted to send message with a size larger than/);
      expect(handled).toBe(before);
    } finally {
      client.close();
    }
  });
});
