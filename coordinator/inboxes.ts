/**
 * One server stream per connected member and service (PSI, training), over which the coordinator pushes events. Delivery waits for the
 * stream to drain when its buffer is full, so a slow receiver slows the sender's `Send` calls (end-to-end
 * back-pressure) instead of growing memory here.
 */
import * as grpc from '@grpc/grpc-js';
import { errorPayload } from '../platform/grpc/errors.js';
import { type Audit, auditInBackground } from '../platform/audit/audit-log.js';
import { type PeerIdentity, peerIdentity } from '../platform/grpc/peer-gate.js';
import { peerMember } from '../platform/grpc/server.js';
import { AccordError, toAccordError } from '../primitives/errors/index.js';

type Inbox = grpc.ServerWritableStream<unknown, unknown>;

/**
 * Ends an inbox stream with `error`'s gRPC status and coded trailer, so that the member learns why and subscribes
 * again (or stops). grpc-js sends a server stream's status only when the stream ends normally after an 'error'
 * event; `destroy(err)` alone would reset nothing on the member's side and leave it holding a dead inbox. A stream
 * that cannot flush (a member not reading) is destroyed after a second.
 */
export function endInbox(stream: Inbox, error: AccordError): void {
  const metadata = new grpc.Metadata();
  metadata.set('accord-error-bin', errorPayload(error));
  stream.emit(
    'error',
    Object.assign(new Error(error.message), {
      code: error.grpcStatus,
      details: `${error.code}: ${error.message}`,
      metadata,
    }),
  );
  setTimeout(() => {
    if (!stream.writableFinished) stream.destroy();
  }, 1_000).unref();
}

export class Inboxes<E> {
  /**
   * @param encode the service's wire conversion of one event (its `subscribeResponse.toProto`)
   * @param lost the error a delivery fails with when the member's stream closes before it drains
   */
  constructor(
    private readonly encode: (event: E) => unknown,
    private readonly lost: (member: string) => AccordError,
  ) {}

  private readonly streams = new Map<string, Inbox>();
  private readonly peers = new Map<Inbox, PeerIdentity>();

  /** One inbox per member: a new one (a reconnect) replaces and ends the previous. */
  attach(peer: PeerIdentity, stream: Inbox): void {
    const previous = this.streams.get(peer.member);
    this.streams.set(peer.member, stream);
    this.peers.set(stream, peer);
    if (previous && previous !== stream) {
      this.peers.delete(previous);
      previous.end();
    }
  }

  /**
   * Ends at once, with `error`, the inbox of every peer that `matches` (a member revoked since it subscribed); its
   * close then fails the member's sessions as a lost peer would. Returns the members.
   */
  dropWhere(
    matches: (peer: PeerIdentity) => boolean,
    errorFor: (peer: PeerIdentity) => AccordError,
  ): string[] {
    const dropped: string[] = [];
    for (const [stream, peer] of this.peers) {
      if (!matches(peer)) continue;
      dropped.push(peer.member);
      endInbox(stream, errorFor(peer));
    }
    return dropped;
  }

  /** Detaches only if `stream` is still the member's current one (a reconnect may have replaced it). */
  detach(member: string, stream: Inbox): boolean {
    this.peers.delete(stream);
    if (this.streams.get(member) !== stream) return false;
    this.streams.delete(member);
    return true;
  }

  /** Members with an inbox open now. */
  connectedMembers(): string[] {
    return [...this.streams.keys()];
  }

  isConnected(member: string): boolean {
    return this.streams.has(member);
  }

  /**
   * Writes an event to the member's inbox; waits while its buffer is full. With `timeoutMs`, a stream that does not
   * drain in time (a member not reading) is ended, that stream only (a newer one of the same member is left alone):
   * the member counts as lost and subscribes again.
   */
  async deliver(member: string, event: E, timeoutMs?: number): Promise<void> {
    const stream = this.streams.get(member);
    if (!stream) throw new AccordError('ACCORD_MEMBER_OFFLINE', { member });
    if (stream.write(this.encode(event))) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        stream.off('drain', onDrain);
        stream.off('close', onClose);
      };
      const onDrain = () => {
        done();
        resolve();
      };
      const onClose = () => {
        done();
        reject(this.lost(member));
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              done();
              const error = this.lost(member);
              if (this.detach(member, stream)) this.onStalled?.(member);
              endInbox(stream, error);
              reject(error);
            }, timeoutMs);
      timer?.unref();
      stream.once('drain', onDrain);
      stream.once('close', onClose);
    });
  }

  /** Called when `deliver` ended a member's current stream for not draining (its owner treats it as lost). */
  onStalled: ((member: string) => void) | null = null;

  closeAll(): void {
    for (const stream of this.streams.values()) stream.end();
    this.streams.clear();
    this.peers.clear();
  }
}

export interface ServeInboxOptions<E> {
  readonly inboxes: Inboxes<E>;
  /** The RPC name for the audit log ("Psi.Subscribe"). */
  readonly rpc: string;
  readonly isMember: (member: string) => boolean;
  readonly isRevoked?: ((peer: PeerIdentity) => boolean) | undefined;
  readonly audit: Audit;
  /** The member's inbox is open (a first connection or a reconnect). */
  readonly onAttached?: (member: string) => void;
  /** The member's current inbox closed. */
  readonly onLost: (member: string) => void;
}

/**
 * A Subscribe call: identifies the member from its certificate, records the opening in the audit log, and only then
 * attaches the stream as the member's inbox (refusing it if the member was revoked meanwhile).
 */
export function serveInbox<E>(call: Inbox, options: ServeInboxOptions<E>): void {
  const { inboxes, rpc, audit } = options;
  let member: string;
  try {
    member = peerMember(call);
    if (!options.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
  } catch (err) {
    const accord = toAccordError(err);
    auditInBackground(audit, {
      actor: 'unidentified',
      action: `rpc:${rpc}`,
      target: '',
      outcome: 'denied',
      details: { code: accord.code },
    });
    endInbox(call, accord);
    return;
  }
  // The inbox opens only once its opening is on record.
  audit({ actor: member, action: `rpc:${rpc}`, target: 'inbox', outcome: 'ok', details: {} }).then(
    () => {
      if (call.cancelled || call.destroyed) return;
      const peer = peerIdentity(call) ?? { member, serial: '' };
      // Revoked while its opening was being recorded: the reload's sweep of open inboxes has already run.
      if (options.isRevoked?.(peer)) {
        endInbox(call, new AccordError('ACCORD_MEMBER_REVOKED', { member }));
        return;
      }
      inboxes.attach(peer, call);
      options.onAttached?.(member);
      const closed = () => {
        if (inboxes.detach(member, call)) options.onLost(member);
      };
      call.on('cancelled', closed);
      call.on('close', closed);
      call.on('error', closed);
    },
    (err: AccordError) => endInbox(call, err),
  );
}
