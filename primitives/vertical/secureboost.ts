/**
 * Vertical gradient-boosted trees: SecureBoost (Cheng et al., "SecureBoost: A Lossless Federated Learning Framework",
 * IEEE Intelligent Systems 2021; FATE's Hetero-SecureBoost), with BFV in place of Paillier and a histogram of 256 rows
 * × 32 positions per homomorphic product (primitives/he/histogram.ts).
 *
 * Parties: the active party A (the label holder and initiator; holds the labels and its own features, owns the model's
 * structure), passive parties P_1..P_k (features about the same customers), and the coordinator C, which only
 * relays boxes it cannot open (AES-256-GCM between each pair, `channel.ts`) and holds no key. Rows are aligned
 * beforehand by a PSI job in which every participant is a learner; every party computes the same training/validation
 * split (node/training/local-data.ts `splitRows`, the spec's seed).
 *
 *  0. Open and accept (the job framework): each party accepts with its aligned row count, its feature count and a
 *     signed box key; C starts the job (START) with every party's box key, which each checks against the CA. Each
 *     party bins its own features on its own training rows (models/trees/binning.ts): quantile bins, a bin per
 *     declared category plus "other", and a position for missing values. Binning never leaves the party.
 *  1. Round 0 (tree 1): A -> P: A's BFV public key for the job (A made the key pair; the secret key never leaves A).
 *     P -> A: each of its features' kind (numeric or categorical) and value-bin count, nothing else.
 *  2. For each tree t: A computes g = p − y and h = p(1 − p) of every training row from its current margins,
 *     quantised to fixed point (models/trees/gradients.ts). The tree grows level by level (models/trees/grow.ts),
 *     two rounds a level:
 *       histograms: A -> P: for each node to compute (the root, then the smaller child of each new split; the
 *                   sibling is the parent minus it), its rows (aligned positions) and [[g·2^29 + h]] of those rows,
 *                   256 per ciphertext, encrypted under A's key; and the features P may split on this tree (feature
 *                   subsampling). P -> A: per node and feature, one re-randomised, noise-flooded ciphertext of the 32
 *                   per-position sums of g and h (primitives/he/histogram.ts). A decrypts them, computes its own
 *                   features' histograms in the clear, and finds the best split of each node over every party's
 *                   features (XGBoost's second-order gain, the missing position tried both ways).
 *       splits:     A -> P (the owner of a winning feature only): for each node P wins, its rows, the feature index,
 *                   the positions that go left and the missing direction. P turns it into a rule in raw units (a
 *                   threshold, or a set of categories), keeps it under the next split id k, and returns k and which
 *                   of the node's rows go left. A records "node n: party P, split id k" and splits its own rows.
 *     After the tree: A -> P: the range of split ids P made in this tree; P -> A: for every validation row, the
 *     decision (left or right) of each of those splits. A computes the validation margins, AUC, KS and log-loss of
 *     the model so far, and (spec.publishMetrics) sends them to every P in its next message. Early stopping: after
 *     `earlyStopping` trees without a better validation AUC, A stops and keeps the best prefix of trees.
 *  3. Final round: A -> P: how many of its split ids the kept trees use (a prefix: ids are made in tree order).
 *     P -> A: the count, acknowledged. A then tells C it has finished; C ends the job done, and each party registers
 *     its part: A the trees (structure, owners and split ids, leaf weights), the base margin and its own rules; each P
 *     only its rules for its kept split ids.
 *  Every round A sends exactly one message to every P (possibly empty) and every P answers with exactly one; a
 *  message is one binary payload (`encodeTreeMessage`) cut into boxes of at most MAX_PART_BYTES. Rounds are numbered
 *  by (tree, round within the tree) in the box's batch id (epoch = tree, batch = round); the final round's tree is one
 *  past the last tree grown. A failure anywhere fails the job for everyone; nobody registers anything.
 *
 * What each party learns (semi-honest, C not colluding), exactly what SecureBoost reveals:
 *  - A: every passive party's per-position sums of g and h for every node it computes (decrypted histograms), hence
 *    the gain of every candidate split, and for every split P wins, which of the node's rows go left (the instance
 *    space), and each validation row's decision at P's splits. A learns only "party P, split id k, positions ≤ b
 *    went left", never a threshold, a category, a feature's name or any raw value. A node with few rows narrows what
 *    its histogram says about each row (one row: its position); `minChildWeight` bounds how small a child can be.
 *  - P: the instance space of every node it computes a histogram for and of every split it wins (which aligned
 *    training rows are together in a node), so over a level the partitions the other parties' splits made (a larger
 *    child is its parent less the smaller one), whether a level's splits were A's (no split request comes), how many
 *    nodes each level has, and the published metrics. Not the labels, g or h (encrypted under A's key, with 128-bit
 *    security), nor A's or another P's features, thresholds or leaf weights. A ciphertext P returns is re-randomised
 *    and flooded, and carries only the 32 target coefficients, so A cannot read which position any single row of P
 *    fell in (primitives/he/histogram.ts; its tests attack it). A checks that each feature's sums equal the node's.
 *  - C: the job's shape from exact message sizes: parties, rounds, each node's row count (a row list is 4 bytes a
 *    row), which P won splits at a level, each P's split count per tree and feature count; nothing inside a box.
 *
 * Malicious parties (not defended; SECURITY.md):
 *  - A could send a node of one row, or encrypt g = 1 for one row and 0 for the rest (or row i as 2^i, or plant
 *    noise): the returned histogram then names rows' positions in every feature of P. P refuses nodes under
 *    MIN_NODE_ROWS rows, rows that do not train, validation decisions of a split id twice, and requests after the
 *    final round; crafted encryptions are not detectable without proofs of honest encryption. A may also ask P to
 *    split any training rows it names.
 *  - P could return a wrong histogram or wrong left rows: the model gets worse (or A is steered); it cannot learn more
 *    than above, and every ciphertext and message is checked for shape before use.
 *  - C colluding with either party learns nothing more than that party (C holds no key). P colluding with A is A.
 */
import { z } from 'zod';
import { AccordError } from '../errors/index.js';
import { reportSchema } from './protocol.js';

/** The stages of a tree job on the wire (VerticalCall/VerticalStepRequest `stage`), shared by node and coordinator. */
export const TREE_STAGE = {
  /** C -> party: a round's boxes addressed to it. Party -> C: one box of its round message. */
  ROUND: 'round',
  /** A -> C: training is over (after the final round); C ends the job done. */
  FINISH: 'finish',
} as const;

/** Bytes of one box's payload: a round message is cut into parts of at most this. */
export const MAX_PART_BYTES = 512 * 1024;
/**
 * A passive party refuses to compute a histogram of a node with fewer rows (see "Malicious parties"). An honest label
 * holder never asks for one: every child it splits off has a hessian sum of at least minChildWeight ≥ 1 (the spec's
 * bound), and a row's hessian is at most 1/4, so a child has at least 4 rows.
 */
export const MIN_NODE_ROWS = 4;
/** Most trees a job may grow (the spec's bound) and most rounds in one tree. */
export const MAX_ROUNDS_PER_TREE = 64;

const index = z.number().int().min(0).max(1_000_000);
const node = z
  .number()
  .int()
  .min(0)
  .max(1 << 12);
const blob = z
  .number()
  .int()
  .min(0)
  .max(1 << 20);

/** A tree's published validation metrics: what the logistic-regression job publishes each epoch (protocol.ts). */
const metricsSchema = reportSchema.shape.metrics.unwrap();
export type TreeMetrics = z.infer<typeof metricsSchema>;

/** A -> P, one per round. */
export const treeRequestSchema = z
  .object({
    /** Blob: A's BFV public key (round 0 only). */
    publicKey: blob.optional(),
    /** The published validation metrics of a finished tree (null: A publishes none). */
    report: z.object({ tree: index, metrics: metricsSchema.nullable() }).strict().optional(),
    /** Return the validation rows' decisions of split ids [from, to). */
    validationBits: z.object({ from: index, to: index }).strict().optional(),
    /** Apply these splits (P owns the features). */
    splits: z
      .array(
        z
          .object({
            node,
            rows: blob,
            feature: index,
            leftBins: z.array(z.number().int().min(0).max(30)).max(31),
            missingLeft: z.boolean(),
          })
          .strict(),
      )
      .max(1 << 11)
      .optional(),
    /** Compute histograms of these nodes for `features`. */
    histograms: z
      .object({
        features: z.array(index).max(4096),
        nodes: z.array(z.object({ node, rows: blob, blocks: z.array(blob).max(256) }).strict()).max(1 << 11),
      })
      .strict()
      .optional(),
    /** The job ends: keep split ids below `splits`. */
    final: z.object({ splits: index }).strict().optional(),
  })
  .strict();
export type TreeRequest = z.infer<typeof treeRequestSchema>;

/** P -> A, one per round. */
export const treeResponseSchema = z
  .object({
    /** Round 0: P's features, in its order: kind and value-bin count. */
    features: z
      .array(
        z
          .object({ kind: z.enum(['numeric', 'categorical']), valueBins: z.number().int().min(1).max(31) })
          .strict(),
      )
      .max(4096)
      .optional(),
    splits: z
      .array(z.object({ node, splitId: index, left: blob }).strict())
      .max(1 << 11)
      .optional(),
    histograms: z
      .array(z.object({ node, outputs: z.array(blob).max(4096) }).strict())
      .max(1 << 11)
      .optional(),
    /** Blob: validation rows × requested split ids, a bit each (1 = left), row-major, bit-packed. */
    validationBits: blob.optional(),
    final: z.object({ splits: index }).strict().optional(),
  })
  .strict();
export type TreeResponse = z.infer<typeof treeResponseSchema>;

const refuse = (reason: string) => new AccordError('ACCORD_VERTICAL_PROTOCOL', { reason });

/**
 * One round message: a JSON header (the request or response, blob fields naming indexes) and binary blobs.
 * Layout: u32 header length, header (UTF-8 JSON), u32 blob count, then per blob u32 length and its bytes
 * (little endian).
 */
export function encodeTreeMessage(
  header: TreeRequest | TreeResponse,
  blobs: readonly Uint8Array[],
): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const size = 8 + head.length + blobs.reduce((n, b) => n + 4 + b.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  out.set(head, 4);
  let at = 4 + head.length;
  view.setUint32(at, blobs.length, true);
  at += 4;
  for (const b of blobs) {
    view.setUint32(at, b.length, true);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** The blobs a request names, in the order they appear. */
export function requestBlobs(h: TreeRequest): number[] {
  return [
    ...(h.publicKey === undefined ? [] : [h.publicKey]),
    ...(h.splits ?? []).map((s) => s.rows),
    ...(h.histograms?.nodes ?? []).flatMap((n) => [n.rows, ...n.blocks]),
  ];
}

/** The blobs a response names, in the order they appear. */
export function responseBlobs(h: TreeResponse): number[] {
  return [
    ...(h.splits ?? []).map((s) => s.left),
    ...(h.histograms ?? []).flatMap((n) => n.outputs),
    ...(h.validationBits === undefined ? [] : [h.validationBits]),
  ];
}

/**
 * The header (checked by `schema`) and blobs of a round message, every blob named exactly once by the header (`named`
 * lists them): a blob nothing names could carry anything past the receiver's checks. ACCORD_VERTICAL_PROTOCOL if
 * malformed.
 */
export function decodeTreeMessage<T extends TreeRequest | TreeResponse>(
  bytes: Uint8Array,
  schema: z.ZodType<T>,
  named: (header: T) => number[],
): { header: T; blobs: Uint8Array[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, n: number) => {
    if (at + n > bytes.length) throw refuse('a round message is cut short');
  };
  need(0, 4);
  const headLength = view.getUint32(0, true);
  need(4, headLength + 4);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + headLength)));
  } catch {
    throw refuse('a round message header is not JSON');
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success)
    throw refuse(`a round message header is malformed (${checked.error.issues[0]?.message})`);
  let at = 4 + headLength;
  const count = view.getUint32(at, true);
  at += 4;
  if (count > 1 << 20) throw refuse('a round message has too many blobs');
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    need(at, 4);
    const n = view.getUint32(at, true);
    need(at + 4, n);
    blobs.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (at !== bytes.length) throw refuse('a round message has trailing bytes');
  const refs = named(checked.data);
  const seen = new Set(refs);
  if (seen.size !== refs.length || refs.length !== blobs.length || refs.some((i) => i >= blobs.length))
    throw refuse('a round message names its blobs other than once each');
  return { header: checked.data, blobs };
}

/** The blob at `i`; ACCORD_VERTICAL_PROTOCOL if there is none. */
export function blobAt(blobs: readonly Uint8Array[], i: number): Uint8Array {
  const b = blobs[i];
  if (!b) throw refuse(`blob ${i} is missing`);
  return b;
}

/** Cuts a message into box payloads of at most MAX_PART_BYTES (at least one, possibly empty). */
export function cutParts(message: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < message.length; at += MAX_PART_BYTES)
    parts.push(message.subarray(at, Math.min(message.length, at + MAX_PART_BYTES)));
  return parts.length ? parts : [new Uint8Array(0)];
}

/** Joins box payloads in part order. */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Row positions as bytes (int32 little endian) and back, checked against `rows` aligned rows. */
export function rowsToBytes(rows: Int32Array): Uint8Array {
  return new Uint8Array(Int32Array.from(rows).buffer);
}

export function rowsFromBytes(bytes: Uint8Array, alignedRows: number): Int32Array {
  if (bytes.length % 4 !== 0) throw refuse('a row list is not whole int32s');
  const rows = new Int32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < rows.length; i++) {
    const r = view.getInt32(4 * i, true);
    if (r < 0 || r >= alignedRows || (i > 0 && r <= rows[i - 1]!))
      throw refuse('a row list is not ascending aligned positions');
    rows[i] = r;
  }
  return rows;
}

/** 0/1 values packed 8 to a byte (bit i of byte i>>3 is value i), and back to `count` values. */
export function packBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  if (bytes.length !== Math.ceil(count / 8)) throw refuse(`a bit list is not ${count} bits`);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3]! >> (i & 7)) & 1;
  return out;
}
