/**
 * REST routes of scoring: batch jobs over a population (a dataset, or the rows of a PSI alignment) with progress and
 * a fingerprint of what they read, and the real-time score of one customer (vertical models: with the partners' live
 * partials, or their batch partials when a partner is slow or down, said in the answer). Audit entries name the
 * model or job, never the customer.
 */
import { z } from 'zod';
import type { ScoringJobRecord } from '../../../platform/store/scoring-types.js';
import { REALTIME_DEADLINE_MS } from '../../../primitives/scoring/protocol.js';
import type { ScoringService } from '../../scoring/scoring-service.js';
import { route } from '../route.js';

const populationSchema = z.union([
  z.object({ dataset: z.string().min(1).max(64) }).strict(),
  z.object({ alignment: z.string().uuid() }).strict(),
]);

const jobSchema = z.object({
  id: z.string(),
  model: z.string(),
  purpose: z.enum(['risk', 'propensity']),
  population: z
    .object({ kind: z.enum(['dataset', 'alignment']), dataset: z.string(), alignment: z.string().optional() })
    .describe('what is scored: every row of a dataset, or the aligned rows of a PSI job (and their dataset)'),
  state: z.enum(['running', 'done', 'failed']),
  progress: z.object({
    scored: z.number().int(),
    total: z.number().int(),
    fraction: z.number(),
    partials: z
      .object({ received: z.number().int(), total: z.number().int() })
      .nullable()
      .describe(
        'a vertical job’s first phase: the partners’ partial logits received so far, of all it asks for; null once it scores',
      ),
  }),
  fingerprint: z
    .string()
    .nullable()
    .describe(
      'SHA-256 over the model, the population, and every row key and cell the model read (once done)',
    ),
  requestedBy: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  timings: z.object({
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    seconds: z.number().nullable().describe('from creation to the end, once ended'),
  }),
});

function view(
  job: ScoringJobRecord,
  partials: { received: number; total: number } | null = null,
): z.infer<typeof jobSchema> {
  const seconds = job.finishedAt ? (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000 : null;
  return {
    id: job.id,
    model: job.model,
    purpose: job.purpose,
    population: { ...job.population },
    state: job.state,
    progress: {
      scored: job.scored,
      total: job.total,
      fraction: job.total ? job.scored / job.total : 1,
      partials: job.state === 'running' ? partials : null,
    },
    fingerprint: job.fingerprint,
    requestedBy: job.requestedBy,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    timings: { createdAt: job.createdAt, finishedAt: job.finishedAt, seconds },
  };
}

const partialSchema = z.object({
  member: z.string(),
  source: z
    .enum(['live', 'batch', 'none'])
    .describe(
      'live: asked now; batch: the partial its newest done batch job kept (the partner was slow or down)',
    ),
  latencyMs: z.number().optional(),
  job: z.string().optional().describe('batch: the scoring job the partial comes from'),
  finishedAt: z.string().optional().describe('batch: when that job finished'),
  reason: z.string().optional().describe('batch: the coded error that kept the live partial out'),
});

const scoreSchema = z.object({
  model: z.string(),
  purpose: z.enum(['risk', 'propensity']),
  customer: z.string(),
  score: z.number(),
  scoredAt: z.string(),
  partials: z.array(partialSchema),
  degraded: z.boolean().describe('true when a partner’s partial is not live'),
});

export function scoringRoutes(deps: { scoring: ScoringService }) {
  const readers = ['admin', 'risk', 'marketing'] as const;
  const scorers = ['risk', 'marketing'] as const;
  return [
    route({
      method: 'POST',
      url: '/v1/scoring',
      summary:
        'Scores a population with a registered model in batches (default population: the model’s training dataset, or a vertical model’s training alignment)',
      tags: ['scoring'],
      roles: scorers,
      body: z.object({ model: z.string().uuid(), population: populationSchema.optional() }).strict(),
      response: z.object({
        job: z.string().describe('the scoring job’s id: follow it at GET /v1/scoring/:job'),
      }),
      status: 202,
      handler: async ({ body, caller }) => {
        const job = await deps.scoring.start(body.model, body.population, `${caller!.role}:${caller!.label}`);
        return { job: job.id };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/scoring',
      summary: 'Scoring jobs, newest first',
      tags: ['scoring'],
      roles: readers,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: z.object({ jobs: z.array(jobSchema) }),
      handler: async ({ query }) => ({
        jobs: (await deps.scoring.list(query.limit)).map((job) => view(job, deps.scoring.gathering(job.id))),
      }),
    }),
    route({
      method: 'GET',
      url: '/v1/scoring/:job',
      summary: 'A scoring job: state, progress, model, population, fingerprint, timings',
      tags: ['scoring'],
      roles: readers,
      params: z.object({ job: z.string().uuid() }),
      response: jobSchema,
      auditTarget: ({ params }) => `scoring:${params.job}`,
      handler: async ({ params }) =>
        view(await deps.scoring.get(params.job), deps.scoring.gathering(params.job)),
    }),
    route({
      method: 'POST',
      url: '/v1/models/:model/score',
      summary:
        'Scores one customer now; a vertical model asks its partners live within deadlineMs and falls back to their batch partials',
      tags: ['scoring', 'models'],
      roles: scorers,
      params: z.object({ model: z.string().uuid() }),
      body: z
        .object({
          customer: z.string().min(1).max(256).describe('the id, as in the id column of the scored dataset'),
          deadlineMs: z
            .number()
            .int()
            .min(1)
            .max(REALTIME_DEADLINE_MS.max)
            .default(REALTIME_DEADLINE_MS.default)
            .describe('how long the partners’ live partials may take (ms)'),
        })
        .strict(),
      response: scoreSchema,
      auditTarget: ({ params }) => `model:${params.model}`,
      handler: async ({ params, body }) => {
        const scored = await deps.scoring.realtime(params.model, body.customer, body.deadlineMs);
        return { ...scored, partials: scored.partials.map((p) => ({ ...p })) };
      },
    }),
  ];
}
