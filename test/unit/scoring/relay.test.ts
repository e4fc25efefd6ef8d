/**
 * The coordinator's Scoring relay (coordinator/scoring/scoring-relay.ts) through its gRPC handlers, with real
 * `Inboxes` and fake calls and inbox streams (a member is named by the certificate its call presents):
 *  - requests waiting between one asker and one partner, and in all, are capped: one more fails at once with
 *    ACCORD_SCORING_BUSY; an asker that cancels its call frees its place at once;
 *  - a waiting request fails at once (ACCORD_MEMBER_OFFLINE), not at its timeout, when the partner's inbox stalls
 *    (does not drain) or is replaced by a newer one (a reconnect);
 *  - an answer reaches the asker and frees its place.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Inboxes } from '../../../coordinator/inboxes.js';
import { Membership } from '../../../coordinator/membership.js';
import { ScoringRelay } from '../../../coordinator/scoring/scoring-relay.js';
import { scoringWire as wire } from '../../../platform/wire/scoring.js';
import { AccordError } from '../../../primitives/errors/index.js';
import type { ScoringEvent, ScoringRequest } from '../../../primitives/scoring/protocol.js';
import { silentLog } from '../../helpers/log.js';

const certOf = (member: string) => ({ sslPeerCertificate: { subject: { CN: member }, serialNumber: '01' } });

/** A member's inbox stream as the relay writes to it; `full` makes writes wait for a drain that never comes. */
class FakeInbox extends EventEmitter {
  readonly written: unknown[] = [];
  full = false;
  cancelled = false;
  destroyed = false;
  writableFinished = false;
  constructor(readonly member: string) {
    super();
  }
  getAuthContext() {
    return certOf(this.member);
  }
  write(message: unknown): boolean {
    this.written.push(message);
    return !this.full;
  }
  end(): void {
    this.writableFinished = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

let relay: ScoringRelay;
let handlers: grpc.UntypedServiceImplementation;
afterEach(() => relay?.close());

/** What the relay audited (in the background). */
const audited: { action: string; actor: string; target: string; details: Record<string, unknown> }[] = [];

function start(limits: { perPair?: number; total?: number; drainMs?: number }) {
  audited.length = 0;
  relay = new ScoringRelay({
    membership: new Membership(['bank-a', 'bank-b', 'bank-c'], 60_000),
    inboxes: new Inboxes<ScoringEvent>(
      wire.subscribeResponse.toProto,
      (member) => new AccordError('ACCORD_MEMBER_OFFLINE', { member }),
    ),
    audit: async (entry) => {
      audited.push(entry as (typeof audited)[number]);
    },
    log: silentLog,
    limits,
  });
  handlers = relay.handlers();
}

async function subscribe(member: string): Promise<FakeInbox> {
  const inbox = new FakeInbox(member);
  (handlers['subscribe'] as (call: unknown) => void)(inbox);
  await new Promise((resolve) => setImmediate(resolve));
  return inbox;
}

const request = (to: string): ScoringRequest => ({
  stage: 'partials',
  requestId: randomUUID(),
  from: 'bank-a',
  to,
  modelJob: randomUUID(),
  alignment: randomUUID(),
  count: 1,
  channel: new Uint8Array(16).fill(1),
  box: new Uint8Array(40).fill(2),
});

/** An Ask call of `asker`; `outcome` settles with the reply's kind or the error's code. */
function ask(asker: string, r: ScoringRequest, timeoutMs = 10_000) {
  const call = Object.assign(new EventEmitter(), {
    request: wire.askRequest.toProto({ request: r, timeoutMs }),
    getAuthContext: () => certOf(asker),
  });
  const outcome = new Promise<string>((resolve) =>
    (handlers['ask'] as grpc.handleUnaryCall<unknown, unknown>)(
      call as unknown as grpc.ServerUnaryCall<unknown, unknown>,
      (err, response) =>
        resolve(err ? String(err.details).split(':')[0]! : wire.askResponse.fromProto(response).kind),
    ),
  );
  return { call, outcome };
}

/** The outcome if it settles within `ms`, else 'waiting'. */
const within = (outcome: Promise<string>, ms: number) =>
  Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('waiting'), ms))]);

describe('the Scoring relay', () => {
  it('caps requests per pair and in all, failing fast, and frees a place when the asker cancels', async () => {
    start({ perPair: 3, total: 5 });
    await subscribe('bank-b');
    await subscribe('bank-c');
    const toB = [0, 1, 2].map(() => ask('bank-a', request('bank-b')));
    await new Promise((resolve) => setImmediate(resolve));
    expect(relay.waiting('bank-a', 'bank-b')).toBe(3);
    expect(await within(ask('bank-a', request('bank-b')).outcome, 500)).toBe('ACCORD_SCORING_BUSY');
    // Another pair still has room, up to the total.
    const toC = [0, 1].map(() => ask('bank-a', request('bank-c')));
    await new Promise((resolve) => setImmediate(resolve));
    expect(relay.waiting()).toBe(5);
    expect(await within(ask('bank-c', request('bank-b')).outcome, 500)).toBe('ACCORD_SCORING_BUSY');
    // The asker cancels one call: its place is free at once.
    toB[0]!.call.emit('cancelled');
    expect(await within(toB[0]!.outcome, 500)).not.toBe('waiting');
    expect(relay.waiting('bank-a', 'bank-b')).toBe(2);
    const again = ask('bank-a', request('bank-b'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(relay.waiting('bank-a', 'bank-b')).toBe(3);
    for (const w of [...toB.slice(1), ...toC, again]) expect(await within(w.outcome, 5)).toBe('waiting');
  });

  it('fails the requests waiting on an inbox at once when it stalls or is replaced', async () => {
    start({ drainMs: 100 });
    // Stalls: the first request was written, the second waits for a drain that never comes.
    const stalled = await subscribe('bank-b');
    const written = ask('bank-a', request('bank-b'));
    await new Promise((resolve) => setImmediate(resolve));
    stalled.full = true;
    const blocked = ask('bank-a', request('bank-b'));
    expect(await within(written.outcome, 1_000)).toBe('ACCORD_MEMBER_OFFLINE');
    expect(await within(blocked.outcome, 1_000)).toBe('ACCORD_MEMBER_OFFLINE');
    expect(relay.waiting()).toBe(0);
    // Replaced: bank-b subscribes again while a request sits in its old inbox.
    await subscribe('bank-b');
    const lost = ask('bank-a', request('bank-b'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(relay.waiting()).toBe(1);
    await subscribe('bank-b');
    expect(await within(lost.outcome, 1_000)).toBe('ACCORD_MEMBER_OFFLINE');
    expect(relay.waiting()).toBe(0);
  });

  it('relays an answer to the asker and frees its place', async () => {
    start({});
    await subscribe('bank-b');
    const r = request('bank-b');
    const asked = ask('bank-a', r);
    await new Promise((resolve) => setImmediate(resolve));
    const call = {
      request: wire.answerRequest.toProto({
        kind: 'box',
        requestId: r.requestId,
        from: 'bank-b',
        to: 'bank-a',
        box: new Uint8Array(48).fill(3),
      }),
      getAuthContext: () => certOf('bank-b'),
      on: () => undefined,
    };
    const answered = new Promise((resolve) =>
      (handlers['answer'] as grpc.handleUnaryCall<unknown, unknown>)(
        call as unknown as grpc.ServerUnaryCall<unknown, unknown>,
        (err) => resolve(err ?? 'ok'),
      ),
    );
    expect(await answered).toBe('ok');
    expect(await asked.outcome).toBe('box');
    expect(relay.waiting()).toBe(0);
    // Relayed partials are audited as counts per asker and partner, once a second (here: at close), not one by one.
    expect(audited.filter((e) => e.action === 'scoring:partials')).toHaveLength(0);
    relay.close();
    expect(audited.filter((e) => e.action === 'scoring:partials')).toMatchObject([
      { actor: 'bank-a', target: 'member:bank-b', details: { requests: 1, positions: 1, bytes: 48 } },
    ]);
  });
});
