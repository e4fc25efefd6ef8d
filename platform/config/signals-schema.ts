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
  /** Largest burst, and the largest single request (a QueryBatch holds at most 10 000). */
  burst: z.number().int().min(1).max(10_000_000).default(10_000),
});

/** What one member may look up (the brake on running a dictionary through the OPRF). */
const quota = z.strictObject({
  /**
   * NEW identifiers (member elements this member has not looked up in the last `memoryDays`) it may query per UTC
   * day, Query, QueryStream and QueryBatch (screening) together. Repeats cost nothing. At the default, enumerating
   * 10^8 mobile numbers takes 2 000 days (5.5 years).
   */
  newElementsPerDay: z.number().int().min(1).max(1_000_000_000).default(50_000),
});

export const coordinatorSignalsSchema = z
  .strictObject({
    /** File with the coordinator's key k_c (base64, mode 0600). Without it, publish and query are refused. */
    keyFile: z.string().min(1).optional(),
    /** Signals observed longer ago than this (days) are refused, ignored by queries and deleted. */
    retentionDays: z.number().int().min(1).max(3_650).default(90),
    /** How far in the future (ms) a signal's time may be, for clock differences between members. */
    clockSkewMs: z.number().int().min(0).max(3_600_000).default(300_000),
    /**
     * How far in the past (ms) a live signal may be dated: a publisher that backdates its signals could make them
     * recognisable in answers. Older ones go through the marked historical import (admin), up to the retention.
     */
    maxBackdateMs: z
      .number()
      .int()
      .min(60_000)
      .max(30 * 86_400_000)
      .default(3 * 86_400_000),
    /**
     * Answers round every time they depend on down to this (ms; default a day, UTC): each flag's newest time, and the
     * signal and current times that decide the application windows (d1 = today) and the retention boundary. So an
     * exact time set by one publisher, or the moment a polled count changes, cannot tell the asking bank who reported.
     */
    timeResolutionMs: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400_000)
      .default(86_400_000),
    /** QueryStreams one member may hold open at once (a node keeps one; more is a resource attack). */
    maxStreamsPerMember: z.number().int().min(1).max(64).default(4),
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
    /**
     * Daily quotas on new identifiers per member, persisted across restarts. A consortium operator raises one for a
     * while (a new member's first screening of its customer base) with `accord signals quota grant`, audited.
     */
    quotas: z
      .strictObject({
        ...quota.shape,
        /** How long (days) an identifier a member looked up stays free for it to look up again. */
        memoryDays: z.number().int().min(1).max(365).default(30),
        /** Per-member overrides of `newElementsPerDay`. */
        perMember: z.record(z.string().regex(MEMBER_NAME_PATTERN), quota.partial()).default({}),
        /**
         * Alert (audit entry `signals:enumeration-suspected` and a warning, once per member per day) when a member
         * has looked up at least `minNewElements` new identifiers today and at most `maxHitRate` of its lookups
         * found anything: the signature of a dictionary run, not of a bank checking its applicants.
         */
        enumerationAlert: z
          .strictObject({
            minNewElements: z.number().int().min(1).default(5_000),
            maxHitRate: z.number().min(0).max(1).default(0.001),
          })
          .prefault({}),
      })
      .prefault({}),
    rateLimits: z
      .strictObject({
        /** OPRF evaluations per member (load protection; dictionary runs are stopped by `quotas`). */
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
