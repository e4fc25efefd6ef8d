/**
 * The label holder's side of joint scoring (primitives/scoring/protocol.ts): asks one partner for its values of
 * aligned positions, over the channel agreed with it for the model job (agreed first if need be), and opens the
 * sealed answer. What a partner gives per position is what the label holder's part takes of it (models/score.ts
 * `partnerInputs`): one partial logit (a logistic part), or K split bits (a boosted-tree part, K the split ids that
 * partner holds); the answer must hold exactly positions × width values (else ACCORD_SCORING_BOX_INVALID). A partner
 * that lost the channel (it restarted) is greeted again and asked once more. Every value is checked before use: a
 * partial logit that is not finite, or larger than MAX_PARTIAL_LOGIT in size, or a split bit that is not exactly 0 or
 * 1, fails the request with ACCORD_SCORING_PARTIAL_INVALID naming the partner (a faulty or lying partner must not
 * turn into NaN scores, a wrong branch or an internal error). Each request is audited with its counts, never a
 * position, customer or value.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { PartnerInput } from '../../models/score.js';
import type { Audit } from '../../platform/audit/audit-log.js';
import { AccordError } from '../../primitives/errors/index.js';
import { SCORING_STAGE } from '../../primitives/scoring/protocol.js';
import type { RequesterChannels } from './channels.js';
import type { ScoringTransport } from './scoring-client.js';

/**
 * The largest partial logit accepted in size. A partial logit is a linear projection of standardised features; even
 * |z| = 50 saturates the sigmoid, so anything near this bound is a fault, not a customer.
 */
export const MAX_PARTIAL_LOGIT = 1e6;

/**
 * Throws ACCORD_SCORING_PARTIAL_INVALID naming `member` unless every value is sane for its kind: a partial logit
 * finite and within MAX_PARTIAL_LOGIT, a split bit exactly 0 or 1.
 */
export function checkPartials(member: string, values: Float64Array, kind: PartnerInput['kind']): void {
  for (const z of values) {
    if (kind === 'split_bits') {
      if (z === 0 || z === 1) continue;
      throw new AccordError('ACCORD_SCORING_PARTIAL_INVALID', {
        member,
        problem: 'neither 0 nor 1 (a split bit)',
      });
    }
    if (Number.isFinite(z) && Math.abs(z) <= MAX_PARTIAL_LOGIT) continue;
    throw new AccordError('ACCORD_SCORING_PARTIAL_INVALID', {
      member,
      problem: Number.isFinite(z) ? `larger than ${MAX_PARTIAL_LOGIT} in size` : 'not a finite number',
    });
  }
}

export interface PartialsDeps {
  readonly self: string;
  readonly transport: ScoringTransport;
  readonly channels: RequesterChannels;
  readonly audit: Audit;
}

export interface PartialsAsk {
  readonly model: string;
  readonly modelJob: string;
  readonly partner: string;
  readonly alignment: string;
  /** Aligned positions (at most SCORING_MAX_POSITIONS, and at most MAX_REPLY_VALUES / width). */
  readonly positions: Uint32Array;
  /** What the label holder's part takes of this partner per position: `width` values of `kind`. */
  readonly kind: PartnerInput['kind'];
  readonly width: number;
  readonly timeoutMs: number;
  /** Why (audited): 'batch' or 'realtime'. */
  readonly purpose: 'batch' | 'realtime';
}

/**
 * `partner`'s values at `positions`, `width` per position, row-major in their order; throws the partner's or relay's
 * coded error, ACCORD_SCORING_BOX_INVALID for an answer of another width, ACCORD_SCORING_PARTIAL_INVALID for a value
 * that is not sane (`checkPartials`).
 */
export async function askPartials(deps: PartialsDeps, ask: PartialsAsk, retry = true): Promise<Float64Array> {
  const { modelJob, partner, alignment, positions, timeoutMs, kind, width } = ask;
  const count = positions.length;
  const deadline = performance.now() + timeoutMs;
  // The channel's hello has its own timeout; a real-time caller stops waiting at its deadline (realtime.ts), and a
  // request whose time ran out while the hello went on is not sent at all.
  const channel = await deps.channels.get(modelJob, partner);
  const left = Math.round(deadline - performance.now());
  if (left <= 0) throw new AccordError('ACCORD_SCORING_PEER_TIMEOUT', { member: partner, ms: timeoutMs });
  const requestId = randomUUID();
  let partials: Float64Array;
  try {
    const reply = await deps.transport.ask(
      {
        stage: SCORING_STAGE.PARTIALS,
        requestId,
        from: deps.self,
        to: partner,
        modelJob,
        alignment,
        count,
        channel: channel.id,
        box: channel.sealRequest({ requestId, alignment, count }, positions),
      },
      left,
    );
    if (reply.kind !== 'box')
      throw new AccordError('ACCORD_SCORING_PROTOCOL', {
        reason: `${partner} answered partials without a box`,
      });
    // The reply's clear fields go into the associated data as they arrived: changed in transit, the box fails.
    partials = channel.openReply(
      { requestId: reply.requestId, from: reply.from, to: reply.to, modelJob, alignment, positions },
      reply.box,
      width,
    );
    checkPartials(partner, partials, kind);
  } catch (err) {
    if (err instanceof AccordError && err.code === 'ACCORD_SCORING_CHANNEL_UNKNOWN') {
      deps.channels.forget(modelJob, partner, channel);
      if (retry) return askPartials(deps, ask, false);
    }
    await deps.audit({
      actor: deps.self,
      action: 'scoring:ask',
      target: `model:${ask.model}`,
      outcome: 'failed',
      details: {
        member: partner,
        count,
        purpose: ask.purpose,
        code: (err as AccordError).code ?? 'ACCORD_INTERNAL',
      },
    });
    throw err;
  }
  await deps.audit({
    actor: deps.self,
    action: 'scoring:ask',
    target: `model:${ask.model}`,
    outcome: 'ok',
    details: { member: partner, count, purpose: ask.purpose },
  });
  return partials;
}
