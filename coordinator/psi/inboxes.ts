/**
 * One server stream per connected member, over which the coordinator pushes PSI events. Delivery waits for the
 * stream to drain when its buffer is full, so a slow receiver slows the sender's `Send` calls (end-to-end
 * back-pressure) instead of growing memory here.
 */
import type * as grpc from '@grpc/grpc-js';
import { AccordError } from '../../primitives/errors/index.js';
import { psiWire } from '../../platform/wire/psi.js';
import type { PsiEvent } from '../../primitives/psi/session-protocol.js';

export class Inboxes {
  private readonly streams = new Map<string, grpc.ServerWritableStream<unknown, unknown>>();

  attach(member: string, stream: grpc.ServerWritableStream<unknown, unknown>): void {
    const previous = this.streams.get(member);
    this.streams.set(member, stream);
    if (previous && previous !== stream) previous.end();
  }

  /** Detaches only if `stream` is still the member's current one (a reconnect may have replaced it). */
  detach(member: string, stream: grpc.ServerWritableStream<unknown, unknown>): boolean {
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
  }
}
