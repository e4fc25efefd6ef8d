/**
 * REST routes of federated training: start a job, follow it round by round (state, loss, pooled validation metrics,
 * who took part), answer invitations, cancel for everyone.
 */
import { z } from 'zod';
import type { TrainingJobRecord } from '../../../platform/store/training-types.js';
import { MEMBER_NAME_PATTERN } from '../../../primitives/consortium/roles.js';
import { AccordError } from '../../../primitives/errors/index.js';
import {
  featureColumnSchema,
  horizontalSettingsSchema,
  verticalSettingsSchema,
} from '../../../primitives/training/spec.js';
import type { TrainingJobs } from '../../training/training-jobs.js';
import { route } from '../route.js';
import { invitationRoutes } from './invitations.js';

const jobId = z.object({ job: z.string().uuid() });

const metricsSchema = z.object({
  auc: z.number(),
  ks: z.number(),
  logLoss: z.number(),
  threshold: z.number().describe('the confusion table’s threshold (rounded to a histogram bin edge)'),
  confusion: z.object({ tp: z.number(), fp: z.number(), tn: z.number(), fn: z.number() }),
  positives: z.number(),
  negatives: z.number(),
});

export const roundSchema = z.object({
  round: z.number().int(),
  members: z.array(z.string()).describe('members whose update is in this round’s model'),
  evaluatedBy: z.array(z.string()).describe('members whose validation rows are in the metrics'),
  loss: z.number().describe('mean training loss of the last local epoch, weighted by rows'),
  metrics: metricsSchema.describe('pooled validation metrics of this round’s model'),
  clipped: z.number().int().describe('parameter values clipped to the fixed-point range, all members'),
});

const jobSchema = z.object({
  id: z.string(),
  role: z.enum(['initiator', 'participant']),
  state: z.enum(['pending_approval', 'waiting', 'running', 'done', 'failed', 'cancelled']),
  initiator: z.string(),
  participants: z.array(z.string()),
  dataset: z.string(),
  spec: z.record(z.string(), z.unknown()).describe('the spec every participant accepted'),
  progress: z.object({ round: z.number().int(), rounds: z.number().int(), fraction: z.number() }),
  preprocessing: z
    .object({ trainingRows: z.number().int(), otherValues: z.record(z.string(), z.number()) })
    .nullable()
    .describe('consortium-wide training rows, and values of each categorical column that fell to "other"'),
  local: z
    .object({
      trainingRows: z.number().int(),
      validationRows: z.number().int(),
      missingValues: z.number().int(),
      otherValues: z.number().int(),
    })
    .nullable()
    .describe('this bank’s own rows and the cells that fell back to the mean or to "other" (never sent)'),
  rounds: z.array(roundSchema),
  modelId: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

function view(job: TrainingJobRecord): z.infer<typeof jobSchema> {
  return {
    id: job.id,
    role: job.role,
    state: job.state,
    initiator: job.initiator,
    participants: [...job.participants],
    dataset: job.dataset,
    spec: { ...job.spec },
    progress: { round: job.round, rounds: job.rounds, fraction: job.rounds ? job.round / job.rounds : 0 },
    preprocessing: job.preprocessing
      ? { trainingRows: job.preprocessing.trainingRows, otherValues: { ...job.preprocessing.otherValues } }
      : null,
    local: job.local ? { ...job.local } : null,
    rounds: job.history.map((r) => ({ ...r, members: [...r.members], evaluatedBy: [...r.evaluatedBy] })),
    modelId: job.modelId,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  };
}

const newHorizontalJobSchema = horizontalSettingsSchema.extend({
  peers: z.array(z.string().regex(MEMBER_NAME_PATTERN)).min(1).max(15),
  dataset: z.string().min(1),
  peerDatasets: z
    .record(z.string(), z.string())
    .optional()
    .describe('dataset name per peer; default: same name'),
  features: z
    .array(z.union([z.string().min(1), featureColumnSchema]))
    .min(1)
    .optional()
    .describe(
      'column names (numeric) or {name, kind: "categorical", categories}; default: every numeric column',
    ),
});

const columnList = z.array(z.union([z.string().min(1), featureColumnSchema])).min(1);

const newVerticalJobSchema = verticalSettingsSchema.extend({
  peers: z.array(z.string().regex(MEMBER_NAME_PATTERN)).min(1).max(15).describe('the feature holders'),
  dataset: z
    .string()
    .min(1)
    .optional()
    .describe("this bank's dataset; default (and if given, it must be): the alignment's"),
  peerDatasets: z.record(z.string(), z.string()).optional(),
  features: z
    .union([
      z.literal('all'),
      z.record(z.string().regex(MEMBER_NAME_PATTERN), z.union([z.literal('all'), columnList])),
    ])
    .optional()
    .describe(
      'per member: column names (numeric) or categorical columns, or "all"; default "all" for everyone',
    ),
});

const newJobSchema = z.discriminatedUnion('kind', [newHorizontalJobSchema, newVerticalJobSchema]);

export function trainingRoutes(deps: { jobs: TrainingJobs }) {
  const target = ({ params }: { params: { job: string } }) => `training:${params.job}`;
  const roles = ['admin', 'risk', 'marketing'] as const;
  return [
    route({
      method: 'POST',
      url: '/v1/training',
      summary:
        'Start a federated training job: horizontal (same columns, other customers) or vertical (same customers, other columns; this bank holds the label)',
      tags: ['training'],
      roles,
      status: 202,
      body: newJobSchema,
      response: jobSchema,
      handler: async ({ body, caller }) => {
        // Marketing builds propensity models; risk models are the risk team's (and an admin's).
        if (caller?.role === 'marketing' && body.purpose !== 'propensity')
          throw new AccordError('ACCORD_AUTH_FORBIDDEN', {
            role: caller.role,
            route: `a training job for purpose ${body.purpose}`,
            allowed: 'admin, risk',
          });
        const { peers, dataset, peerDatasets, features, ...settings } = body;
        return view(await deps.jobs.create({ peers, dataset, peerDatasets, features, settings }));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/training',
      summary: 'Recent training jobs, newest first',
      tags: ['training'],
      roles,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: z.object({ jobs: z.array(jobSchema) }),
      handler: async ({ query }) => ({ jobs: (await deps.jobs.list(query.limit)).map(view) }),
    }),
    ...invitationRoutes({ area: 'training', what: 'training', jobs: deps.jobs, view, response: jobSchema }),
    route({
      method: 'GET',
      url: '/v1/training/:job',
      summary: 'A training job: state, round, loss and pooled validation metrics per round, who took part',
      tags: ['training'],
      roles,
      params: jobId,
      response: jobSchema,
      auditTarget: target,
      handler: async ({ params }) => view(await deps.jobs.get(params.job)),
    }),
    route({
      method: 'DELETE',
      url: '/v1/training/:job',
      summary: 'Cancel a training job (every participant stops; nothing is registered)',
      tags: ['training'],
      roles,
      params: jobId,
      response: jobSchema,
      auditTarget: target,
      handler: async ({ params, caller }) => view(await deps.jobs.cancel(params.job, caller!.role)),
    }),
  ];
}
