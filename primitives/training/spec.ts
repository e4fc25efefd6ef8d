/**
 * The training job spec: what every participant sees and accepts before any of its data is touched. It names columns
 * and settings only, never a value. It travels as canonical JSON (sorted keys) so that an acceptance can bind to the
 * exact spec by its SHA-256 digest, and it is validated by this one schema wherever it enters (REST, gRPC).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MEMBER_NAME_PATTERN } from '../consortium/roles.js';

export const TRAINING_MAX_PARTIES = 16;
export const TRAINING_PURPOSES = ['risk', 'propensity'] as const;
export type TrainingPurpose = (typeof TRAINING_PURPOSES)[number];

const columnName = z.string().min(1).max(64);

export const featureColumnSchema = z.discriminatedUnion('kind', [
  z.object({ name: columnName, kind: z.literal('numeric') }).strict(),
  z
    .object({
      name: columnName,
      kind: z.literal('categorical'),
      /** The declared categories; any other value (and a missing one) goes to an "other" slot and is counted. */
      categories: z.array(z.string().min(1).max(128)).min(1).max(256),
    })
    .strict()
    .refine((c) => new Set(c.categories).size === c.categories.length, 'categories must be distinct'),
]);

export const modelSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('logistic') }).strict(),
  z
    .object({
      type: z.literal('mlp'),
      hidden: z.array(z.number().int().min(1).max(1024)).min(1).max(4).default([32]),
    })
    .strict(),
]);

/** The settings of a horizontal job, as the initiator's REST request gives them (defaults filled in). */
export const horizontalSettingsSchema = z
  .object({
    kind: z.literal('horizontal'),
    label: columnName,
    model: modelSpecSchema,
    rounds: z.number().int().min(1).max(1000),
    localEpochs: z.number().int().min(1).max(100).default(1),
    batchSize: z.number().int().min(1).max(65_536).default(64),
    learningRate: z.number().positive().max(10),
    optimizer: z.enum(['sgd', 'adam']).default('adam'),
    l2: z.number().min(0).max(10).default(0),
    validation: z
      .object({
        fraction: z.number().min(0.05).max(0.5),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1),
      })
      .strict(),
    minParticipants: z.number().int().min(2).max(TRAINING_MAX_PARTIES),
    purpose: z.enum(TRAINING_PURPOSES),
    /** Score threshold of the confusion table reported every round. */
    threshold: z.number().min(0).max(1).default(0.5),
    /** Parameters are clipped to [-clip, clip] before fixed-point encoding; clipped values are counted per round. */
    clip: z.number().min(1).max(1024).default(32),
  })
  .strict();

export const trainingSpecSchema = horizontalSettingsSchema
  .extend({
    /** Every column the model reads, in input order. */
    features: z.array(featureColumnSchema).min(1).max(512),
    /** 32 bytes (hex) the initiator drew: the shared initial parameters are derived from it. */
    initSeed: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict()
  .refine((s) => !s.features.some((f) => f.name === s.label), 'the label cannot be a feature')
  .refine(
    (s) => new Set(s.features.map((f) => f.name)).size === s.features.length,
    'feature names must be distinct',
  );

export type HorizontalSettings = z.infer<typeof horizontalSettingsSchema>;
export type TrainingSpec = z.infer<typeof trainingSpecSchema>;

export const memberSchema = z.string().regex(MEMBER_NAME_PATTERN);

/** JSON with object keys sorted at every level: one byte string per spec, whoever wrote it. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The SHA-256 (hex) of the spec's canonical JSON: what an acceptance binds to. */
export function specDigest(spec: TrainingSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}
