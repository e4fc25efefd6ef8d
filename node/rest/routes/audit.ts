/**
 * The audit routes: the node's log, its verification (the hash chain and, when the coordinator is reachable, the
 * heads of this log the coordinator anchored), and the coordinator's heads this node anchored (for
 * `accord audit verify --config coordinator.json --anchors <file>`).
 */
import { z } from 'zod';
import { verifyAuditLogAgainst } from '../../../platform/audit/verify.js';
import type { AuditAnchorStore, AuditStore } from '../../../platform/store/types.js';
import type { AnchorView } from '../../../platform/wire/consortium.js';
import { describeAnchorMismatch, type HeldAnchor } from '../../../primitives/audit/anchors.js';
import { COORDINATOR_NAME } from '../../../primitives/consortium/roles.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { route } from '../route.js';

const entrySchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  outcome: z.enum(['ok', 'denied', 'failed', 'refused']),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  prevHash: z.string(),
  hash: z.string(),
});

const anchorSchema = z.object({
  seq: z.number().int(),
  hash: z.string(),
  at: z.string().describe('ISO time the head was anchored'),
  entrySeq: z.number().int().describe('the `audit:anchor` entry of this log that records it'),
});

const anchorCheckSchema = z.object({
  checked: z.number().int().describe('anchors compared with the local log'),
  ok: z.boolean(),
  lastAnchor: z
    .object({ seq: z.number().int(), at: z.string() })
    .nullable()
    .optional()
    .describe('the newest anchor; entries after it are not covered yet'),
  firstMismatch: z
    .object({
      seq: z.number().int(),
      anchoredAt: z.string(),
      anchoredHash: z.string(),
      localHash: z.string().nullable().describe('null when the entry is missing'),
      lastAgreeingSeq: z.number().int().nullable(),
      message: z.string(),
    })
    .optional(),
});

export interface AuditRouteDeps {
  readonly audit: AuditStore;
  /** Heads of the coordinator's log this node anchored. */
  readonly anchors: Pick<AuditAnchorStore, 'list'>;
  /** The anchors the coordinator holds about this node's log (throws when it cannot be reached). */
  readonly coordinatorAnchors: () => Promise<AnchorView[]>;
}

/** Paging by sequence number: items after `after`, at most `limit`. */
const pageAfter = (what: string) =>
  z.object({
    after: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe(`return ${what} with seq greater than this`),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  });

export function auditRoutes(deps: AuditRouteDeps) {
  return [
    route({
      method: 'GET',
      url: '/v1/audit',
      summary: 'Audit log entries after a sequence number, oldest first',
      tags: ['audit'],
      roles: ['admin', 'reviewer'],
      query: pageAfter('entries'),
      response: z.object({ entries: z.array(entrySchema), next: z.number().int().nullable() }),
      handler: async ({ query }) => {
        const entries = await deps.audit.list({ afterSeq: query.after, limit: query.limit });
        const last = entries[entries.length - 1];
        return { entries, next: entries.length === query.limit && last ? last.seq : null };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/audit/verify',
      summary:
        'Check the hash chain of the audit log and, when the coordinator is reachable, the heads it anchored ' +
        '(`ok` is false when either check fails)',
      tags: ['audit'],
      roles: ['admin', 'reviewer'],
      response: z.object({
        ok: z
          .boolean()
          .describe('true only when the chain is intact AND agrees with the anchors the coordinator holds'),
        entries: z.number().int(),
        headHash: z.string().optional(),
        brokenAt: z.number().int().optional(),
        reason: z.string().optional(),
        anchors: anchorCheckSchema.optional().describe('absent when the coordinator could not be reached'),
        anchorsUnavailable: z.string().optional().describe('error code: why the anchors were not checked'),
      }),
      handler: async () => {
        let held: HeldAnchor[] | null = null;
        let unavailable: string | undefined;
        try {
          held = (await deps.coordinatorAnchors()).map((a) => ({ ...a, holder: COORDINATOR_NAME }));
        } catch (err) {
          unavailable = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
        }
        const { chain, anchors } = await verifyAuditLogAgainst(deps.audit, held ?? []);
        // Not checked against the anchors is not verified: a reviewer cut off from the coordinator must not be told
        // a re-sealed log is fine.
        if (!held)
          return { ...chain, ok: false, ...(unavailable ? { anchorsUnavailable: unavailable } : {}) };
        const anchorCheck = anchors.ok
          ? {
              checked: anchors.checked,
              ok: true,
              lastAnchor: anchors.lastAnchor && { seq: anchors.lastAnchor.seq, at: anchors.lastAnchor.at },
            }
          : {
              checked: anchors.checked,
              ok: false,
              firstMismatch: {
                seq: anchors.firstMismatch.seq,
                anchoredAt: anchors.firstMismatch.anchoredAt,
                anchoredHash: anchors.firstMismatch.anchoredHash,
                localHash: anchors.firstMismatch.localHash,
                lastAgreeingSeq: anchors.firstMismatch.lastAgreeingSeq,
                message: describeAnchorMismatch(anchors.firstMismatch),
              },
            };
        return { ...chain, ok: chain.ok && anchors.ok, anchors: anchorCheck };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/audit/anchors',
      summary: "Heads of the coordinator's audit log this node anchored, oldest first",
      tags: ['audit'],
      roles: ['admin', 'reviewer'],
      query: pageAfter('anchors'),
      response: z.object({
        party: z.literal(COORDINATOR_NAME),
        anchors: z.array(anchorSchema),
        next: z.number().int().nullable(),
      }),
      handler: async ({ query }) => {
        const records = await deps.anchors.list(COORDINATOR_NAME, {
          afterSeq: query.after,
          limit: query.limit,
        });
        const anchors = records.map(({ seq, hash, at, entrySeq }) => ({ seq, hash, at, entrySeq }));
        const last = anchors[anchors.length - 1];
        return {
          party: COORDINATOR_NAME,
          anchors,
          next: anchors.length === query.limit && last ? last.seq : null,
        };
      },
    }),
  ];
}
