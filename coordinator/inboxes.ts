/**
 * One server stream per connected member, over which the coordinator pushes PSI events. Delivery waits for the
 * stream to drain when its buffer is full, so a slow receiver slows the sender's `Send` calls (end-to-end
 * back-pressure) instead of growing memory here.
 */
import type * as grpc from '@grpc/grpc-js';
import { AccordError } from '../../primitives/errors/index.js';
import { psiWire } from '../../platform/wire/psi.js';
import type { PsiEvent } from '../../primitives/psi/session-protocol.js';
import type { PeerIdentity } from '../../platform/grpc/peer-gate.js';

type Inbox = grpc.ServerWritableStream<unknown, unknown>;

/** Ends an inbox stream at once with `error`'s gRPC status and message. */
export function endInbox(stream: Inbox, error: AccordError): void {
  stream.destroy(Object.assign(new Error(error.message), { code: error.grpcStatus }));
}

export class Inboxes {
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

  isConnected(member: string): boolean {
    return this.streams.has(member);
  }

  async deliver(member: string, event: PsiEvent): Promise<void> {
    const stream = this.streams.get(member);
    if (!stream) throw new AccordError('ACCORD_MEMBER_OFFLINE', { member });
    if (!stream.write(psiWire.subscribeResponse.toProto(event))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          stream.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          stream.off('drain', onDrain);
          reject(new AccordError('ACCORD_PSI_PEER_LOST', { member }));
        };
        stream.once('drain', onDrain);
        stream.once('close', onClose);
      });
    }
  }

  closeAll(): void {
    for (const stream of this.streams.values()) stream.end();
    this.streams.clear();
    this.peers.clear();
  }
}
