/**
 * Storage of training jobs (their spec, state and per-round report) and of the model registry. A model is written
 * together with the job's completion, in one transaction: a job is either done with its model registered, or not
 * done and nothing registered.
 */
import type { ModelSpec, Preprocessing } from '../../models/types.js';
import type { TreePart } from '../../models/trees/types.js';
import { specDigest, specRounds, type TrainingSpec } from '../../primitives/training/spec.js';

export const TRAINING_JOB_STATES = [
  'pending_approval',
  'waiting',
  'running',
  'done',
  'failed',
  'cancelled',
] as const;
export type TrainingJobState = (typeof TRAINING_JOB_STATES)[number];

/** Pooled validation metrics of one round's model (from securely aggregated histograms). */
export interface RoundMetrics {
  readonly auc: number;
  readonly ks: number;
  readonly logLoss: number;
  readonly threshold: number;
  readonly confusion: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number };
  readonly positives: number;
  readonly negatives: number;
}

export interface RoundReport {
  readonly round: number;
  /** Members whose update is in this round's model. */
  readonly members: readonly string[];
  /** Members whose validation rows are in this round's metrics. */
  readonly evaluatedBy: readonly string[];
  /** Mean training loss over the members' last local epoch, weighted by rows. */
  readonly loss: number;
  readonly metrics: RoundMetrics;
  /** Parameter values clipped to the fixed-point range this round, all members together. */
  readonly clipped: number;
}

export interface TrainingJobRecord {
  readonly id: string;
  readonly role: 'initiator' | 'participant';
  readonly initiator: string;
  readonly participants: readonly string[];
  /** The local dataset this node trains on ('' until chosen). */
  readonly dataset: string;
  readonly spec: TrainingSpec;
  readonly specDigest: string;
  readonly state: TrainingJobState;
  /** Last round whose model is known (0 before the first). */
  readonly round: number;
  readonly rounds: number;
  /** Consortium-wide rows and values sent to "other", once the statistics are aggregated. */
  readonly preprocessing: {
    readonly trainingRows: number;
    readonly otherValues: Readonly<Record<string, number>>;
  } | null;
  readonly history: readonly RoundReport[];
  /** This node's own counts (never sent): its training and validation rows, its missing and unknown values. */
  readonly local: {
    readonly trainingRows: number;
    readonly validationRows: number;
    readonly missingValues: number;
    readonly otherValues: number;
  } | null;
  readonly modelId: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export interface ModelLineage {
  readonly job: string;
  readonly initiator: string;
  /** Every participant of the job, and those whose updates reached the final model. */
  readonly participants: readonly string[];
  readonly finalMembers: readonly string[];
  /** This node's dataset: its name and the SHA-256 of the rows and columns it trained on. */
  readonly dataset: { readonly name: string; readonly fingerprint: string; readonly rows: number };
  /** Every participant's dataset fingerprint, by member, as each sent it with its Open or acceptance. */
  readonly fingerprints: Readonly<Record<string, string>>;
  readonly spec: TrainingSpec;
}

export interface ModelRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly purpose: TrainingSpec['purpose'];
  readonly label: string;
  readonly model: ModelSpec;
  readonly preprocessing: Preprocessing;
  readonly parameters: Float64Array;
  readonly history: readonly RoundReport[];
  readonly lineage: ModelLineage;
  /**
   * A vertical job's part: this party's role, the label holder, and (label holder) the parties whose partial logits
   * its part adds. `parameters` then holds this party's weights and, last, its intercept (0 for a feature holder).
   */
  readonly vertical?: {
    readonly role: 'label-holder' | 'feature-holder';
    readonly labelHolder: string;
    readonly partners: readonly string[];
  };
  /**
   * A boosted-tree part (models/trees/types.ts): the label holder's trees, base margin and own rules, or a feature
   * holder's rules by split id. `parameters` is then empty and `preprocessing` lists the raw columns the rules read.
   */
  readonly trees?: TreePart;
}

export interface TrainingJobStore {
  create(record: TrainingJobRecord): Promise<void>;
  update(id: string, patch: Partial<Omit<TrainingJobRecord, 'id'>>): Promise<TrainingJobRecord>;
  get(id: string): Promise<TrainingJobRecord | null>;
  list(limit: number): Promise<TrainingJobRecord[]>;
  /** Registers the model (with its ONNX export) and marks the job done, in one transaction. */
  complete(id: string, model: ModelRecord, onnx: Uint8Array): Promise<TrainingJobRecord>;
  /** At start-up: jobs left unfinished by a crash fail with `code`; nothing of theirs is registered. */
  failUnfinished(code: string, message: string): Promise<number>;
}

export interface ModelStore {
  list(limit: number): Promise<ModelRecord[]>;
  get(id: string): Promise<ModelRecord | null>;
  onnx(id: string): Promise<Uint8Array | null>;
}

/** The fields that end a job without a model: its final state and the coded error that ended it. */
export function trainingEndedWith(
  state: 'failed' | 'cancelled',
  error: { readonly code: string; readonly message: string },
): Pick<TrainingJobRecord, 'state' | 'errorCode' | 'errorMessage' | 'finishedAt'> {
  return { state, errorCode: error.code, errorMessage: error.message, finishedAt: new Date().toISOString() };
}

/** A job as it starts: nothing run, nothing learnt, pending approval (the initiator moves it to waiting). */
export function newTrainingJob(job: {
  readonly id: string;
  readonly role: TrainingJobRecord['role'];
  readonly initiator: string;
  readonly participants: readonly string[];
  readonly spec: TrainingSpec;
}): TrainingJobRecord {
  return {
    ...job,
    dataset: '',
    specDigest: specDigest(job.spec),
    state: 'pending_approval',
    round: 0,
    rounds: specRounds(job.spec),
    preprocessing: null,
    history: [],
    local: null,
    modelId: null,
    errorCode: null,
    errorMessage: null,
    createdAt: new Date().toISOString(),
    finishedAt: null,
  };
}
