import { z } from 'zod';
import { verifyAuditLog } from '../../../platform/audit/verify.js';
import type { AuditStore } from '../../../platform/store/types.js';
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

export function auditRoutes(deps: { audit: AuditStore }) {
  return [
    route({
      method: 'GET',
      url: '/v1/audit',
      summary: 'Audit log entries after a sequence number, oldest first',
      tags: ['audit'],
      roles: ['admin', 'reviewer'],
      query: z.object({
        after: z.coerce
          .number()
          .int()
          .nonnegative()
          .default(0)
          .describe('return entries with seq greater than this'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
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
      summary: 'Check the hash chain of the audit log',
      tags: ['audit'],
      roles: ['admin', 'reviewer'],
      response: z.object({
        ok: z.boolean(),
        entries: z.number().int(),
        headHash: z.string().optional(),
        brokenAt: z.number().int().optional(),
        reason: z.string().optional(),
      }),
      handler: async () => verifyAuditLog(deps.audit),
    }),
  ];
}
