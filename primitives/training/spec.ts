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

export const horizontalSpecSchema = horizontalSettingsSchema
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

export const memberSchema = z.string().regex(MEMBER_NAME_PATTERN);

/**
 * Vertical boosted trees (SecureBoost, primitives/vertical/secureboost.ts): hyper-parameters every party sees and
 * accepts. `bins` is the number of value bins per numeric feature (a missing value has its own position besides);
 * `featureSubsample` the fraction of each party's features each tree may split on (seeded by the job's initSeed);
 * `earlyStopping` the trees without a validation-AUC gain after which training stops and the best prefix is kept.
 */
export const gbdtModelSchema = z
  .object({
    type: z.literal('gbdt'),
    trees: z.number().int().min(1).max(500),
    depth: z.number().int().min(1).max(8),
    learningRate: z.number().positive().max(1),
    bins: z.number().int().min(2).max(31).default(31),
    /** At least 1: a feature holder refuses histograms of nodes under 4 rows (primitives/vertical/secureboost.ts). */
    minChildWeight: z.number().min(1).max(1e6).default(1),
    l2: z.number().min(0).max(1e6).default(1),
    featureSubsample: z.number().gt(0).max(1).optional(),
    earlyStopping: z.number().int().min(1).max(500).optional(),
  })
  .strict()
  // Scoring holds a page's rows × trees × leaves in the label holder's ONNX graph, and a feature holder answers at
  // most 8 192 split decisions a customer: both stay bounded with trees · 2^depth ≤ 4 096 (e.g. 128 trees of depth 5).
  .refine(
    (m) => m.trees * 2 ** m.depth <= 4096,
    'trees · 2^depth must be at most 4096 (e.g. 128 trees of depth 5)',
  );

export const verticalModelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('logistic') }).strict(),
  gbdtModelSchema,
]);

/**
 * The settings of a vertical job (coordinated logistic regression under homomorphic encryption,
 * primitives/vertical/protocol.ts), as the label holder's REST request gives them (defaults filled in).
 */
export const verticalSettingsSchema = z
  .object({
    kind: z.literal('vertical'),
    label: columnName,
    model: verticalModelSchema,
    /** The PSI job (intersection, every participant a learner) whose shared rows align the parties' datasets. */
    alignment: z.string().uuid(),
    /** Logistic regression: passes over the training rows (boosted trees: `model.trees` instead). */
    epochs: z.number().int().min(1).max(200).default(1),
    /** Aligned training rows per gradient step. */
    batchSize: z.number().int().min(64).max(65_536).default(4096),
    /** Logistic regression's step size (boosted trees: `model.learningRate`). */
    learningRate: z.number().positive().max(10).default(0.1),
    /** Each party steps its own parameters; both act coordinate-wise, so this is the pooled optimiser exactly. */
    optimizer: z.enum(['sgd', 'adam']).default('sgd'),
    /** Epoch e steps with learningRate / sqrt(1 + learningRateDecay · (e − 1)). */
    learningRateDecay: z.number().min(0).max(100).default(0),
    l2: z.number().min(0).max(10).default(0),
    validation: horizontalSettingsSchema.shape.validation,
    purpose: z.enum(TRAINING_PURPOSES),
    /** Score threshold of the confusion table the label holder computes every epoch. */
    threshold: z.number().min(0).max(1).default(0.5),
    /** Whether the label holder publishes its validation metrics to the other parties (it always learns them). */
    publishMetrics: z.boolean().default(true),
    /** How each party fills a missing numeric value, on its own rows: the training mean (0 after scaling). */
    impute: z.literal('mean').default('mean'),
  })
  .strict();

/** A party's columns: listed, or "all" (every usable column of its dataset, chosen by the party itself). */
export const partyFeaturesSchema = z.union([z.literal('all'), z.array(featureColumnSchema).min(1).max(512)]);

export const verticalSpecSchema = verticalSettingsSchema
  .extend({
    /** The member that holds the label, owns the decision and learns the validation metrics: the initiator. */
    labelHolder: memberSchema,
    /** Each participant's columns, by member. */
    features: z.record(memberSchema, partyFeaturesSchema),
    /** 32 bytes (hex) the initiator drew: the batch order of every epoch is derived from it. */
    initSeed: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict()
  .refine((s) => s.features[s.labelHolder] !== undefined, 'the label holder must have features')
  .refine((s) => {
    const own = s.features[s.labelHolder];
    return own === 'all' || !own?.some((f) => f.name === s.label);
  }, 'the label cannot be a feature')
  .refine(
    (s) =>
      Object.values(s.features).every(
        (cols) => cols === 'all' || new Set(cols.map((f) => f.name)).size === cols.length,
      ),
    'feature names must be distinct within a party',
  );

export const trainingSpecSchema = z.discriminatedUnion('kind', [horizontalSpecSchema, verticalSpecSchema]);

export type HorizontalSettings = z.infer<typeof horizontalSettingsSchema>;
export type HorizontalSpec = z.infer<typeof horizontalSpecSchema>;
export type VerticalSettings = z.infer<typeof verticalSettingsSchema>;
export type VerticalSpec = z.infer<typeof verticalSpecSchema>;
export type PartyFeatures = z.infer<typeof partyFeaturesSchema>;
export type GbdtModelSpec = z.infer<typeof gbdtModelSchema>;
/** A vertical spec whose model is boosted trees. */
export type TreeSpec = VerticalSpec & { readonly model: GbdtModelSpec };
export const isTreeSpec = (spec: TrainingSpec): spec is TreeSpec =>
  spec.kind === 'vertical' && spec.model.type === 'gbdt';
export type TrainingSpec = HorizontalSpec | VerticalSpec;

export const isVertical = (spec: TrainingSpec): spec is VerticalSpec => spec.kind === 'vertical';

/** The spec of a horizontal job; a TypeError for a vertical one (a programming error: runs are made per kind). */
export function asHorizontal(spec: TrainingSpec): HorizontalSpec {
  if (spec.kind !== 'horizontal') throw new TypeError('a horizontal job was expected');
  return spec;
}

export function asVertical(spec: TrainingSpec): VerticalSpec {
  if (spec.kind !== 'vertical') throw new TypeError('a vertical job was expected');
  return spec;
}

/** Rounds (horizontal) or epochs (vertical): the job's unit of progress. */
export const specRounds = (spec: TrainingSpec): number =>
  spec.kind === 'vertical' ? (spec.model.type === 'gbdt' ? spec.model.trees : spec.epochs) : spec.rounds;

/** The columns `member` reads for the job (features and, where it holds it, the label); "all" lists none. */
export function specColumns(spec: TrainingSpec, member: string): string[] {
  if (spec.kind === 'horizontal') return [...spec.features.map((f) => f.name), spec.label];
  const own = spec.features[member];
  const names = own === undefined || own === 'all' ? [] : own.map((f) => f.name);
  return member === spec.labelHolder ? [...names, spec.label] : names;
}

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
