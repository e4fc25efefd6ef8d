/**
 * The `signals` sections of the coordinator and node configs (fraud-signal sharing), kept apart from
 * `schemas.ts` so that the capability owns its settings. Units in the comments.
 */
import { z } from 'zod';
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import { extraFlagKindProblems } from '../../primitives/signals/kinds.js';

const bucket = z.strictObject({
  /** Sustained rate, per second (evaluations: identifiers; queries: tokens). */
  perSecond: z.number().positive().max(1_000_000).default(1_000),
  /** Largest burst, and the largest single request (a screening chunk is 10 000). */
  burst: z.number().int().min(1).max(10_000_000).default(100_000),
});

export const coordinatorSignalsSchema = z
  .strictObject({
    /** File with the coordinator's key k_c (base64, mode 0600). Without it, publish and query are refused. */
    keyFile: z.string().min(1).optional(),
    /** Signals observed longer ago than this (days) are refused, ignored by queries and deleted. */
    retentionDays: z.number().int().min(1).max(3_650).default(90),
    /** How far in the future (ms) a signal's time may be, for clock differences between members. */
    clockSkewMs: z.number().int().min(0).max(3_600_000).default(300_000),
    /** Milliseconds between retention sweeps. */
    sweepIntervalMs: z.number().int().min(1_000).max(86_400_000).default(3_600_000),
    /**
     * Flag kinds this consortium adds to the built-in ones (`primitives/signals/kinds.ts`), e.g. `synthetic_identity`.
     * Nodes learn them when they register; no release needed. Removing one refuses new signals of that kind, while
     * stored ones still show in answers until they expire.
     */
    extraFlagKinds: z
      .array(z.string())
      .default([])
      .superRefine((extras, ctx) => {
        for (const { index, problem } of extraFlagKindProblems(extras))
          ctx.addIssue({ code: 'custom', path: index === null ? [] : [index], message: problem });
      }),
    rateLimits: z
      .strictObject({
        /** OPRF evaluations per member: the only brake on dictionary attacks on low-entropy identifiers. */
        evaluations: bucket.prefault({}),
        /** Token look-ups per member (Query counts 1, QueryBatch counts its tokens). */
        queries: bucket.prefault({}),
        /** Per-member overrides of the two limits above. */
        perMember: z
          .record(
            z.string().regex(MEMBER_NAME_PATTERN),
            z.strictObject({ evaluations: bucket.optional(), queries: bucket.optional() }),
          )
          .default({}),
      })
      .prefault({}),
  })
  .prefault({});

export const nodeSignalsSchema = z
  .strictObject({
    /**
     * File with the consortium member key k_m (base64, mode 0600), shared by the member nodes only and never by
     * the coordinator. Without it the signal routes answer ACCORD_SIGNAL_NOT_CONFIGURED.
     */
    memberKeyFile: z.string().min(1).optional(),
    /** Tokens kept in memory (LRU, keyed by a keyed hash of kind and identifier); 0 disables the cache. */
    tokenCacheSize: z.number().int().min(0).max(10_000_000).default(100_000),
    /**
     * BENCHMARK ONLY, INSECURE: adds routes that look signals up by an unkeyed SHA-256 of the identifier (what a
     * consortium without privacy would run). The node refuses to start with it unless the environment has
     * ACCORD_ALLOW_INSECURE_BENCHMARK=1.
     */
    insecurePlaintextBenchmark: z.boolean().default(false),
  })
  .prefault({});
