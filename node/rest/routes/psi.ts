import { z } from 'zod';
import type { PsiJobRecord } from '../../../platform/store/psi-types.js';
import type { PsiJobStore } from '../../../platform/store/psi-types.js';
import { MEMBER_NAME_PATTERN } from '../../../primitives/consortium/roles.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { ID_KINDS } from '../../../primitives/identity/normalise.js';
import { PSI_MODES, PSI_REVEAL } from '../../../primitives/psi/session-protocol.js';
import type { PsiJobs } from '../../psi/psi-jobs.js';
import { route } from '../route.js';
import { invitationRoutes } from './invitations.js';

const jobId = z.object({ job: z.string().uuid() });

const jobSchema = z.object({
  id: z.string(),
  role: z.enum(['initiator', 'participant']),
  state: z.enum(['pending_approval', 'waiting', 'running', 'done', 'failed', 'cancelled']),
  initiator: z.string(),
  participants: z.array(z.string()),
  dataset: z.string(),
  idColumn: z.string(),
  idKind: z.string(),
  mode: z.enum(PSI_MODES),
  reveal: z.enum(PSI_REVEAL),
  progress: z.object({
    processed: z.number().int().describe('points hashed, blinded or re-blinded by this node'),
    total: z.number().int(),
    fraction: z.number(),
  }),
  skippedRows: z
    .number()
    .int()
    .describe('rows whose identifier failed normalisation or repeated; never matched'),
  result: z
    .object({
      size: z.number().int().describe('shared rows (intersection) or their count (cardinality)'),
      alignment: z.boolean().describe('whether GET /v1/psi/:job/alignment lists the shared rows'),
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  initiatorSetSize: z
    .number()
    .int()
    .nullable()
    .describe('for an invitation: the rows the initiator brings (judge it before accepting)'),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

function view(job: PsiJobRecord): z.infer<typeof jobSchema> {
  const processed = job.state === 'done' ? job.total : job.processed;
  return {
    id: job.id,
    role: job.role,
    state: job.state,
    initiator: job.initiator,
    participants: [...job.participants],
    dataset: job.dataset,
    idColumn: job.idColumn,
    idKind: job.idKind,
    mode: job.mode,
    reveal: job.reveal,
    progress: { processed, total: job.total, fraction: job.total ? Math.min(1, processed / job.total) : 0 },
    skippedRows: job.skippedRows,
    result: job.resultSize === null ? null : { size: job.resultSize, alignment: job.mode === 'intersection' },
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    initiatorSetSize: job.initiatorSetSize ?? null,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  };
}

export function psiRoutes(deps: { jobs: PsiJobs; store: PsiJobStore }) {
  const target = ({ params }: { params: { job: string } }) => `psi:${params.job}`;
  return [
    route({
      method: 'POST',
      url: '/v1/psi',
      summary: 'Start a private set intersection with one or more member banks',
      tags: ['psi'],
      roles: ['admin', 'risk'],
      status: 202,
      body: z.strictObject({
        peers: z.array(z.string().regex(MEMBER_NAME_PATTERN)).min(1).max(15),
        dataset: z.string().min(1),
        idColumn: z.string().min(1).optional().describe("default: the dataset's id column"),
        idKind: z.enum(ID_KINDS).optional().describe("default: the dataset's id kind"),
        mode: z.enum(PSI_MODES).default('intersection'),
        reveal: z.enum(PSI_REVEAL).default('initiator'),
        peerDatasets: z
          .record(z.string(), z.string())
          .optional()
          .describe('dataset name per peer; default: same name'),
      }),
      response: jobSchema,
      handler: async ({ body }) => view(await deps.jobs.create(body)),
    }),
    route({
      method: 'GET',
      url: '/v1/psi',
      summary: 'Recent PSI jobs, newest first',
      tags: ['psi'],
      roles: ['admin', 'risk'],
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: z.object({ jobs: z.array(jobSchema) }),
      handler: async ({ query }) => ({ jobs: (await deps.store.list(query.limit)).map(view) }),
    }),
    route({
      method: 'GET',
      url: '/v1/psi/invitations',
      summary: 'PSI invitations waiting for an admin',
      tags: ['psi'],
      roles: ['admin'],
      response: z.object({ invitations: z.array(jobSchema) }),
      handler: async () => ({
        invitations: (await deps.store.list(500)).filter((j) => j.state === 'pending_approval').map(view),
      }),
    }),
    ...invitationRoutes({ area: 'psi', what: 'PSI', jobs: deps.jobs, view, response: jobSchema }),
    route({
      method: 'GET',
      url: '/v1/psi/:job',
      summary: 'A PSI job: state, progress, and the result size when done',
      tags: ['psi'],
      roles: ['admin', 'risk'],
      params: jobId,
      response: jobSchema,
      auditTarget: target,
      handler: async ({ params }) => view(await deps.jobs.get(params.job)),
    }),
    route({
      method: 'GET',
      url: '/v1/psi/:job/alignment',
      summary:
        'Local row keys (CSV line numbers) of the shared customers, in the order every learner shares: row r of ' +
        'each learner’s alignment is the same customer (for training jobs)',
      tags: ['psi'],
      roles: ['admin', 'risk'],
      params: jobId,
      query: z.strictObject({
        offset: z.coerce.number().int().min(0).default(0).describe('first row of the shared order to return'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
      }),
      response: z.object({
        rowKeys: z.array(z.number().int()),
        next: z.number().int().nullable().describe('offset of the next page; null on the last one'),
      }),
      auditTarget: target,
      handler: async ({ params, query }) => {
        const job = await deps.jobs.get(params.job);
        if (job.state !== 'done' || job.mode !== 'intersection' || job.resultSize === null) {
          const reason =
            job.state !== 'done'
              ? `job is ${job.state}`
              : job.mode !== 'intersection'
                ? 'cardinality mode'
                : 'this node does not learn the result';
          throw new AccordError('ACCORD_PSI_RESULT_UNAVAILABLE', { job: params.job, reason });
        }
        const rowKeys = await deps.store.alignment(params.job, query.offset, query.limit);
        const end = query.offset + rowKeys.length;
        return { rowKeys, next: end < job.resultSize ? end : null };
      },
    }),
    route({
      method: 'DELETE',
      url: '/v1/psi/:job',
      summary: 'Cancel a PSI job (every participant stops)',
      tags: ['psi'],
      roles: ['admin', 'risk'],
      params: jobId,
      response: jobSchema,
      auditTarget: target,
      // A running job: any of these roles cancels it; a pending invitation: only an admin may decline it.
      handler: async ({ params, caller }) => view(await deps.jobs.cancel(params.job, caller!.role)),
    }),
  ];
}
