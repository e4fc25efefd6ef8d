/**
 * Refused TLS handshakes are audited per source and window (platform/grpc/refused-handshakes.ts), driven by a fake
 * clock (no real waiting): the first refusal of a quiet source is written at once, a flood from it becomes one entry
 * per window with its count and reasons, sources beyond the cap fold into `other sources`, the timer is unref'd, and
 * `close()` writes what is pending. Then, on a real mutual-TLS gRPC server, refusals are counted under the client's
 * address (read before the refused handshake closes the socket).
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { serviceOf } from '../../../platform/grpc/proto.js';
import { auditRefusedHandshakes, bindServer, serverCredentials } from '../../../platform/grpc/server.js';
import { createAuthority } from '../../../platform/tls/issue.js';
import {
  type HandshakeClock,
  OTHER_SOURCES,
  REFUSED_HANDSHAKE_MAX_SOURCES,
  REFUSED_HANDSHAKE_WINDOW_MS,
  RefusedHandshakes,
  reasonOf,
} from '../../../platform/grpc/refused-handshakes.js';
import type { AuditDraft } from '../../../primitives/audit/chain.js';
import { silentLog } from '../../helpers/log.js';
import { coordinatorAndMemberTls, memberTls } from '../../helpers/test-pki.js';

const W = REFUSED_HANDSHAKE_WINDOW_MS;
const UNKNOWN_CA = 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA';
const NO_CERT = 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE';

/** Timers that fire only when the test moves time forward; records whether each was unref'd. */
class FakeClock implements HandshakeClock {
  private time = 1_000_000;
  private timers: Array<{ at: number; run: () => void; unrefed: boolean; cleared: boolean }> = [];

  now(): number {
    return this.time;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const timer = {
      at: this.time + ms,
      run,
      unrefed: false,
      cleared: false,
      unref() {
        timer.unrefed = true;
      },
    };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    (handle as { cleared: boolean }).cleared = true;
  }
  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cleared && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.cleared = true;
      this.time = Math.max(this.time, due.at);
      due.run();
    }
    this.time = until;
  }
  get pending(): number {
    return this.timers.filter((t) => !t.cleared).length;
  }
  get allUnrefed(): boolean {
    return this.timers.every((t) => t.unrefed);
  }
}

function setup(options: { maxSources?: number } = {}) {
  const clock = new FakeClock();
  const entries: AuditDraft[] = [];
  const refused = new RefusedHandshakes(async (draft) => void entries.push(draft), { clock, ...options });
  return { clock, entries, refused };
}

const entry = (target: string, refused: number, reasons: string) => ({
  actor: 'unidentified',
  action: 'tls:handshake',
  target,
  outcome: 'refused',
  details: { refused, reasons, windowMs: W },
});

describe('refused TLS handshakes', () => {
  it('writes the first refusal of a quiet source at once', () => {
    const { entries, refused } = setup();
    refused.record('10.0.0.1', UNKNOWN_CA);
    expect(entries).toEqual([entry('10.0.0.1', 1, UNKNOWN_CA)]);
  });

  it('turns a flood from one source into one entry per window, with the count and the distinct reasons', () => {
    const { clock, entries, refused } = setup();
    refused.record('10.0.0.1', UNKNOWN_CA);
    for (let i = 0; i < 500; i++) refused.record('10.0.0.1', i % 2 ? UNKNOWN_CA : NO_CERT);
    clock.advance(W - 1);
    expect(entries).toHaveLength(1);
    clock.advance(1);
    expect(entries).toEqual([
      entry('10.0.0.1', 1, UNKNOWN_CA),
      entry('10.0.0.1', 500, `${NO_CERT},${UNKNOWN_CA}`),
    ]);
    // The flood goes on for ten more windows: ten more entries, never two within a window.
    for (let window = 0; window < 10; window++) {
      for (let i = 0; i < 1_000; i++) refused.record('10.0.0.1', NO_CERT);
      clock.advance(W);
    }
    expect(entries).toHaveLength(12);
    expect(entries.slice(2).every((e) => e.details['refused'] === 1_000)).toBe(true);
  });

  it('forgets a source quiet for a window, stops its timer, and writes its next refusal at once', () => {
    const { clock, entries, refused } = setup();
    refused.record('10.0.0.1', NO_CERT);
    clock.advance(W);
    expect(entries).toHaveLength(1);
    expect(refused.trackedSources).toBe(0);
    expect(clock.pending).toBe(0);
    clock.advance(10 * W);
    refused.record('10.0.0.1', NO_CERT);
    expect(entries).toEqual([entry('10.0.0.1', 1, NO_CERT), entry('10.0.0.1', 1, NO_CERT)]);
  });

  it('keeps sources apart, each in its own window', () => {
    const { clock, entries, refused } = setup();
    refused.record('10.0.0.1', NO_CERT);
    clock.advance(W / 2);
    refused.record('10.0.0.2', NO_CERT);
    refused.record('10.0.0.1', NO_CERT);
    refused.record('10.0.0.2', NO_CERT);
    clock.advance(W / 2);
    expect(entries.map((e) => [e.target, e.details['refused']])).toEqual([
      ['10.0.0.1', 1],
      ['10.0.0.2', 1],
      ['10.0.0.1', 1],
    ]);
    clock.advance(W / 2);
    expect(entries.map((e) => [e.target, e.details['refused']]).at(-1)).toEqual(['10.0.0.2', 1]);
  });

  it('bounds the sources per window: beyond the cap they fold into one `other sources` entry', () => {
    const { clock, entries, refused } = setup();
    for (let i = 0; i < REFUSED_HANDSHAKE_MAX_SOURCES + 250; i++) refused.record(`2001:db8::${i}`, NO_CERT);
    expect(refused.trackedSources).toBe(REFUSED_HANDSHAKE_MAX_SOURCES + 1);
    expect(entries).toHaveLength(REFUSED_HANDSHAKE_MAX_SOURCES + 1);
    expect(entries.at(-1)).toEqual(entry(OTHER_SOURCES, 1, NO_CERT));
    clock.advance(W);
    expect(entries.at(-1)).toEqual(entry(OTHER_SOURCES, 249, NO_CERT));
    expect(entries).toHaveLength(REFUSED_HANDSHAKE_MAX_SOURCES + 2);
    // A window later every source is quiet and forgotten: new ones are tracked again.
    clock.advance(W);
    refused.record('192.0.2.7', UNKNOWN_CA);
    expect(entries.at(-1)).toEqual(entry('192.0.2.7', 1, UNKNOWN_CA));
    expect(refused.trackedSources).toBe(1);
  });

  it("unref's its timer, so it never keeps the process alive", () => {
    const { clock, refused } = setup();
    refused.record('10.0.0.1', NO_CERT);
    refused.record('10.0.0.1', NO_CERT);
    clock.advance(W);
    expect(clock.pending).toBe(1);
    expect(clock.allUnrefed).toBe(true);
  });

  it('writes every pending count on close, without waiting for the window, and ignores later refusals', async () => {
    const { clock, entries, refused } = setup({ maxSources: 1 });
    refused.record('10.0.0.1', NO_CERT);
    refused.record('10.0.0.1', UNKNOWN_CA);
    refused.record('10.0.0.2', NO_CERT);
    refused.record('10.0.0.3', NO_CERT);
    expect(entries).toHaveLength(2);
    await refused.close();
    expect(entries.slice(2)).toEqual([entry('10.0.0.1', 1, UNKNOWN_CA), entry(OTHER_SOURCES, 1, NO_CERT)]);
    expect(clock.pending).toBe(0);
    refused.record('10.0.0.1', NO_CERT);
    clock.advance(2 * W);
    expect(entries).toHaveLength(4);
  });

  it('waits on close for entries still being written', async () => {
    const clock = new FakeClock();
    const written: AuditDraft[] = [];
    let release = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const refused = new RefusedHandshakes(
      async (draft) => {
        await slow;
        written.push(draft);
      },
      { clock },
    );
    refused.record('10.0.0.1', NO_CERT);
    const closed = refused.close();
    expect(written).toHaveLength(0);
    release();
    await closed;
    expect(written).toHaveLength(1);
  });

  it('names at most eight distinct reasons in one entry, and counts every refusal', () => {
    const { clock, entries, refused } = setup();
    refused.record('10.0.0.1', 'R0');
    for (let i = 0; i < 20; i++) refused.record('10.0.0.1', `R${i}`);
    clock.advance(W);
    expect(entries.at(-1)?.details).toEqual({ refused: 20, reasons: 'R0,R1,R2,R3,R4,R5,R6,R7', windowMs: W });
  });

  it('names reasons by error code, or a short comma-free form of the message', () => {
    expect(reasonOf(Object.assign(new Error('x'), { code: UNKNOWN_CA }))).toBe(UNKNOWN_CA);
    expect(reasonOf(new Error('socket hang up, twice'))).toBe('socket_hang_up_twice');
  });
});

describe('refused handshakes on a real gRPC server', () => {
  it('counts refusals under the client address: one entry at once, the rest on close', async () => {
    const { serverTls: tls } = coordinatorAndMemberTls();
    // A certificate of the same name from another CA.
    const foreign = memberTls(createAuthority('test-consortium'), 'test-consortium', 'bank-a');
    const log = silentLog;
    const entries: AuditDraft[] = [];
    const server = new grpc.Server();
    const Consortium = serviceOf('consortium.proto', 'Consortium');
    server.addService(Consortium.service, {});
    const port = await bindServer(server, '127.0.0.1', 0, serverCredentials(tls));
    const refused = auditRefusedHandshakes(server, async (draft) => void entries.push(draft), log);
    const attempt = (credentials: grpc.ChannelCredentials) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const client = new Consortium(`127.0.0.1:${port}`, credentials, {
          'grpc.ssl_target_name_override': 'coordinator',
        });
        (
          client as unknown as {
            listMembers(r: object, o: object, cb: (err: grpc.ServiceError | null) => void): void;
          }
        ).listMembers({}, { deadline: Date.now() + 5_000 }, (err) => {
          client.close();
          resolve(err);
        });
      });
    try {
      const noCertificate = await attempt(grpc.credentials.createSsl(tls.caPem));
      const otherCa = await attempt(grpc.credentials.createSsl(tls.caPem, foreign.keyPem, foreign.certPem));
      expect([noCertificate?.code, otherCa?.code]).toEqual([
        grpc.status.UNAVAILABLE,
        grpc.status.UNAVAILABLE,
      ]);
      await new Promise((r) => setTimeout(r, 100));
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        action: 'tls:handshake',
        outcome: 'refused',
        details: { refused: 1 },
      });
      expect(entries[0]!.target).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      await refused.close();
      expect(entries).toHaveLength(2);
      expect(entries[1]!.target).toBe(entries[0]!.target);
      expect(entries[1]!.details['refused']).toBeGreaterThanOrEqual(1);
    } finally {
      server.forceShutdown();
      await refused.close();
    }
  });
});
