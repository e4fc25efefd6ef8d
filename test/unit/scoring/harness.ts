/**
 * Joint scoring in one process: one ScoringService per bank over its own SQLite store, joined by an in-memory relay
 * that behaves as the coordinator's (coordinator/scoring/scoring-relay.ts: it sets each message's sender, routes the
 * reply back by request id, and gives up at the timeout or at once for a member that is down). Hooks let a test
 * change a request or a reply in flight, as a misbehaving relay would. Member keys are real certificates of a
 * throwaway consortium CA.
 */
import { memberSigner, memberVerifier } from '../../../platform/tls/member-signature.js';
import { auditTo } from '../../../platform/audit/audit-log.js';
import { createAuthority } from '../../../platform/tls/issue.js';
import type { NodeStore } from '../../../platform/store/types.js';
import { AccordError } from '../../../primitives/errors/index.js';
import type { ScoringReply, ScoringRequest } from '../../../primitives/scoring/protocol.js';
import { RequesterChannels, ResponderChannels } from '../../../node/scoring/channels.js';
import type { PartialsDeps } from '../../../node/scoring/partials.js';
import type { ScoringTransport } from '../../../node/scoring/scoring-client.js';
import { ScoringService, type ScoringServiceDeps } from '../../../node/scoring/scoring-service.js';
import { silentLog } from '../../helpers/log.js';
import { memberTls } from '../../helpers/test-pki.js';

export class MemoryRelay {
  readonly services = new Map<string, ScoringService>();
  readonly down = new Set<string>();
  /** Every request and reply as relayed (after the hooks). */
  readonly seen: Array<ScoringRequest | ScoringReply> = [];
  onRequest: ((r: ScoringRequest) => ScoringRequest) | null = null;
  onReply: ((r: ScoringReply) => ScoringReply) | null = null;
  /** How long a request takes to reach its partner (ms), as a slow link or a busy partner would. */
  delay: ((r: ScoringRequest) => number) | null = null;
  readonly #pending = new Map<
    string,
    { to: string; resolve: (r: ScoringReply) => void; reject: (e: AccordError) => void }
  >();

  transport(member: string): ScoringTransport {
    return {
      ask: (request, timeoutMs) =>
        new Promise<ScoringReply>((resolve, reject) => {
          const to = request.to;
          if (this.down.has(to) || !this.services.has(to))
            return reject(new AccordError('ACCORD_MEMBER_OFFLINE', { member: to }));
          const relayed = this.onRequest
            ? this.onRequest({ ...request, from: member })
            : { ...request, from: member };
          this.seen.push(relayed);
          const timer = setTimeout(() => {
            this.#pending.delete(relayed.requestId);
            reject(new AccordError('ACCORD_SCORING_PEER_TIMEOUT', { member: to, ms: timeoutMs }));
          }, timeoutMs);
          this.#pending.set(relayed.requestId, {
            to,
            resolve: (r) => {
              clearTimeout(timer);
              resolve(r);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          const ms = this.delay?.(relayed) ?? 0;
          const deliver = () => this.services.get(to)?.onEvent({ kind: 'request', request: relayed });
          if (ms > 0) setTimeout(deliver, ms);
          else deliver();
        }),
      answer: async (reply) => {
        const pending = this.#pending.get(reply.requestId);
        if (!pending || pending.to !== member)
          throw new AccordError('ACCORD_SCORING_PROTOCOL', { reason: 'unexpected' });
        this.#pending.delete(reply.requestId);
        const relayed = this.onReply ? this.onReply({ ...reply, from: member }) : { ...reply, from: member };
        this.seen.push(relayed);
        if (relayed.kind === 'error') pending.reject(AccordError.fromWire(relayed.code, relayed.params));
        else pending.resolve(relayed);
      },
    };
  }
}

const ca = createAuthority('scoring-test');
const tlsOf = new Map<string, ReturnType<typeof memberTls>>();
export function keysOf(member: string) {
  let tls = tlsOf.get(member);
  if (!tls) {
    tls = memberTls(ca, 'scoring-test', member);
    tlsOf.set(member, tls);
  }
  return { signer: memberSigner(tls), verifier: memberVerifier(tls.caPem) };
}

/** A ScoringService for `member` over `store`, joined to `relay`. */
export function serviceFor(
  relay: MemoryRelay,
  member: string,
  store: NodeStore,
  options: Pick<ScoringServiceDeps, 'partnerLimits'> = {},
): ScoringService {
  const service = new ScoringService({
    self: member,
    store,
    audit: auditTo(store.audit, silentLog),
    log: silentLog,
    transport: relay.transport(member),
    ...keysOf(member),
    ...options,
  });
  relay.services.set(member, service);
  return service;
}

/**
 * `asker`'s side of a partials request to a faulty or lying `partner`: a real channel (hello included) and a reply box
 * that opens, holding what `answer` gives for the positions asked (`width` values a position, row-major).
 */
export function fakePartner(
  asker: string,
  partner: string,
  store: NodeStore,
  answer: (positions: Uint32Array) => { values: Float64Array; width: number },
): PartialsDeps {
  const theirs = keysOf(partner);
  const channels = new ResponderChannels(partner, theirs.signer, theirs.verifier);
  const transport: ScoringTransport = {
    ask: async (request) => {
      const head = { requestId: request.requestId, from: partner, to: asker };
      if (request.stage === 'hello')
        return { kind: 'key', ...head, key: channels.accept(asker, request.modelJob, request.key) };
      const channel = channels.get(request.channel, asker, request.modelJob);
      const positions = channel.openRequest(request, request.box);
      const { values, width } = answer(positions);
      const box = channel.sealReply(
        { requestId: request.requestId, alignment: request.alignment, positions },
        values,
        width,
      );
      return { kind: 'box', ...head, box };
    },
    answer: async () => undefined,
  };
  const mine = keysOf(asker);
  return {
    self: asker,
    transport,
    channels: new RequesterChannels(asker, transport, mine.signer, mine.verifier),
    audit: auditTo(store.audit, silentLog),
  };
}
