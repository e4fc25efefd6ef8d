/**
 * REST routes of campaigns: the workflow (marketing writes and submits, a reviewer other than the author approves or
 * rejects), the risk team's pricing limits, runs with their funnel and exact inputs, one customer's decision with
 * its reasons, and the streamed eligibility list. Routes that name a customer audit its keyed pseudonym only.
 */
import { z } from 'zod';
import type { CampaignRunRecord } from '../../../platform/store/campaign-types.js';
import { RULES } from '../../../primitives/campaigns/rules.js';
import {
  campaignSpecSchema,
  PRODUCT_PATTERN,
  pricingLimitsSchema,
} from '../../../primitives/campaigns/spec.js';
import { CAMPAIGN_STATES } from '../../../platform/store/campaign-types.js';
import type { NodeCampaigns } from '../../campaigns/index.js';
import { EXPORT_CONTENT_TYPES, EXPORT_FORMATS } from '../../campaigns/export.js';
import { route } from '../route.js';

const ALL = ['admin', 'risk', 'marketing', 'reviewer'] as const;
const campaignId = z.object({ id: z.string().uuid() });
const runParams = z.object({ id: z.string().uuid(), run: z.string().uuid() });
export const customerParam = z
  .string()
  .min(1)
  .max(128)
  .describe('the customer id, as in the bank’s datasets');

const campaignSchema = z.object({
  id: z.string(),
  name: z.string(),
  product: z.string(),
  state: z.enum(CAMPAIGN_STATES),
  version: z.number().int(),
  approvedVersion: z.number().int().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const versionSchema = z.object({
  version: z.number().int(),
  digest: z.string(),
  author: z.string(),
  createdAt: z.string(),
  spec: z.record(z.string(), z.unknown()),
});

const reviewSchema = z.object({
  version: z.number().int(),
  digest: z.string(),
  action: z.enum(['submit', 'approve', 'reject']),
  by: z.string(),
  comment: z.string().nullable(),
  at: z.string(),
});

const funnelSchema = z.object({
  population: z.number().int(),
  steps: z.array(
    z.object({
      rule: z.enum(RULES),
      applied: z.boolean(),
      remaining: z.number().int().describe('customers who passed this rule and every earlier one'),
      excluded: z.number().int().describe('customers whose first failed rule is this one'),
    }),
  ),
  eligible: z.number().int(),
  tiers: z.array(z.object({ tier: z.string(), population: z.number().int(), eligible: z.number().int() })),
  priceBands: z.array(z.object({ from: z.number(), to: z.number(), eligible: z.number().int() })),
  channels: z.array(z.object({ channel: z.string(), eligible: z.number().int() })),
});

const runSchema = z.object({
  id: z.string(),
  campaign: z.string(),
  version: z.number().int().describe('the exact campaign version the run used'),
  digest: z.string().describe('SHA-256 of that version’s spec'),
  state: z.enum(['running', 'done', 'failed']),
  phase: z.enum(['scoring', 'deciding', 'done']),
  progress: z.object({ processed: z.number().int(), total: z.number().int(), fraction: z.number() }),
  inputs: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      'run time, population (dataset, rows, fingerprint), models and scoring jobs with fingerprints, limits',
    ),
  funnel: funnelSchema.nullable(),
  startedBy: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

const decisionSchema = z.object({
  run: z.string(),
  campaign: z.string(),
  version: z.number().int(),
  customerId: z.string(),
  eligible: z.boolean(),
  rules: z.array(z.object({ rule: z.string(), applied: z.boolean(), passed: z.boolean() })),
  passed: z.array(z.string()),
  firstFailed: z.object({ rule: z.string(), reason: z.string(), text: z.string() }).nullable(),
  reasons: z.array(z.string()),
  tier: z.string().nullable(),
  scores: z.object({ propensity: z.number().nullable(), risk: z.number().nullable() }),
  price: z.number().nullable(),
  channel: z.string().nullable(),
});

const limitsSchema = z.object({
  product: z.string(),
  floor: z.number(),
  ceiling: z.number(),
  maxProbabilityOfDefault: z.number().nullable(),
  setBy: z.string(),
  setAt: z.string(),
});

export function runView(run: CampaignRunRecord): z.infer<typeof runSchema> {
  const processed = run.state === 'done' ? run.total : run.processed;
  return {
    id: run.id,
    campaign: run.campaign,
    version: run.version,
    digest: run.digest,
    state: run.state,
    phase: run.phase,
    progress: { processed, total: run.total, fraction: run.total ? Math.min(1, processed / run.total) : 0 },
    inputs: run.inputs ? { ...run.inputs } : null,
    funnel: run.funnel
      ? {
          ...run.funnel,
          steps: [...run.funnel.steps],
          tiers: [...run.funnel.tiers],
          priceBands: [...run.funnel.priceBands],
          channels: [...run.funnel.channels],
        }
      : null,
    startedBy: run.startedBy,
    error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
  };
}

export function campaignRoutes(campaigns: Omit<NodeCampaigns, 'routes'>) {
  const { service, runs } = campaigns;
  const target = ({ params }: { params: { id: string } }) => `campaign:${params.id}`;
  const runTarget = ({ params }: { params: { run: string } }) => `campaign-run:${params.run}`;
  const detail = async (id: string) => {
    const c = await service.get(id);
    return {
      ...c,
      spec: { ...c.spec },
      versions: c.versions.map((v) => ({
        version: v.version,
        digest: v.digest,
        author: v.author,
        createdAt: v.createdAt,
        spec: { ...v.spec },
      })),
      reviews: c.reviews.map((r) => ({
        version: r.version,
        digest: r.digest,
        action: r.action,
        by: r.by,
        comment: r.comment,
        at: r.at,
      })),
      runs: (await runs.list(id, 50)).map(runView),
    };
  };
  const detailSchema = campaignSchema.extend({
    spec: z.record(z.string(), z.unknown()).describe('the current version’s spec'),
    digest: z.string(),
    versions: z.array(versionSchema),
    reviews: z.array(reviewSchema),
    runs: z.array(runSchema).describe('the newest 50 runs'),
  });
  return [
    route({
      method: 'POST',
      url: '/v1/campaigns',
      summary:
        'Create a campaign (draft, version 1): population, models and thresholds, consent, caps, exclusions, tiers, pricing',
      tags: ['campaigns'],
      roles: ['marketing'],
      status: 201,
      body: campaignSpecSchema,
      response: detailSchema,
      handler: async ({ body, caller }) => detail((await service.create(body, caller!)).id),
    }),
    route({
      method: 'GET',
      url: '/v1/campaigns',
      summary: 'Campaigns, newest first',
      tags: ['campaigns'],
      roles: ALL,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: z.object({ campaigns: z.array(campaignSchema) }),
      handler: async ({ query }) => ({ campaigns: await service.list(query.limit) }),
    }),
    route({
      method: 'GET',
      url: '/v1/campaigns/:id',
      summary: 'A campaign with every version, every review and its runs',
      tags: ['campaigns'],
      roles: ALL,
      params: campaignId,
      response: detailSchema,
      auditTarget: target,
      handler: async ({ params }) => detail(params.id),
    }),
    route({
      method: 'PUT',
      url: '/v1/campaigns/:id',
      summary:
        'Edit a campaign: a new version in draft (an approved or submitted campaign goes back to draft)',
      tags: ['campaigns'],
      roles: ['marketing'],
      params: campaignId,
      body: campaignSpecSchema,
      response: detailSchema,
      auditTarget: target,
      handler: async ({ params, body, caller }) =>
        detail((await service.update(params.id, body, caller!)).id),
    }),
    route({
      method: 'POST',
      url: '/v1/campaigns/:id/submit',
      summary: 'Submit the current version for review',
      tags: ['campaigns'],
      roles: ['marketing'],
      params: campaignId,
      response: detailSchema,
      auditTarget: target,
      handler: async ({ params, caller }) => detail((await service.submit(params.id, caller!)).id),
    }),
    route({
      method: 'POST',
      url: '/v1/campaigns/:id/approve',
      summary: 'Approve the submitted version (a reviewer who is not its author)',
      tags: ['campaigns'],
      roles: ['reviewer'],
      params: campaignId,
      body: z.strictObject({ comment: z.string().max(2000).optional() }).optional(),
      response: detailSchema,
      auditTarget: target,
      handler: async ({ params, body, caller }) =>
        detail((await service.approve(params.id, caller!, body?.comment ?? null)).id),
    }),
    route({
      method: 'POST',
      url: '/v1/campaigns/:id/reject',
      summary: 'Reject the submitted version, saying why (a reviewer who is not its author)',
      tags: ['campaigns'],
      roles: ['reviewer'],
      params: campaignId,
      body: z.strictObject({ comment: z.string().trim().min(1).max(2000) }),
      response: detailSchema,
      auditTarget: target,
      handler: async ({ params, body, caller }) =>
        detail((await service.reject(params.id, caller!, body.comment)).id),
    }),
    route({
      method: 'POST',
      url: '/v1/campaigns/:id/runs',
      summary:
        'Run an approved campaign: decide every customer of its population (follow the progress with GET)',
      tags: ['campaigns'],
      roles: ['marketing'],
      status: 202,
      params: campaignId,
      response: runSchema,
      auditTarget: target,
      handler: async ({ params, caller }) => runView(await runs.start(params.id, caller!)),
    }),
    route({
      method: 'GET',
      url: '/v1/campaigns/:id/runs/:run',
      summary:
        'A run: state, progress, funnel, and the exact campaign version, models, scoring jobs and fingerprints',
      tags: ['campaigns'],
      roles: ALL,
      params: runParams,
      response: runSchema,
      auditTarget: runTarget,
      handler: async ({ params }) => runView(await runs.get(params.run, params.id)),
    }),
    route({
      method: 'GET',
      url: '/v1/campaigns/:id/runs/:run/decisions/:customer',
      summary:
        'Why a customer is or is not eligible: rules passed, the first failed and why, tier, scores, price, channel',
      tags: ['campaigns'],
      roles: ['marketing', 'reviewer', 'risk'],
      params: runParams.extend({ customer: customerParam }),
      response: decisionSchema,
      auditTarget: ({ params }) => `campaign-run:${params.run} ${campaigns.pseudonyms.of(params.customer)}`,
      handler: async ({ params }) => {
        const d = await runs.decision(params.id, params.run, params.customer.trim());
        return { ...d, rules: [...d.rules], passed: [...d.passed], reasons: [...d.reasons] };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/campaigns/:id/runs/:run/export',
      summary:
        'The run’s list, streamed: customer id, eligible, tier, propensity, risk, price, channel, reason, reasons',
      tags: ['campaigns'],
      roles: ['marketing'],
      params: runParams,
      query: z.object({
        format: z.enum(EXPORT_FORMATS).default('csv'),
        eligible: z
          .enum(['true', 'false'])
          .default('false')
          .transform((v) => v === 'true')
          .describe('only the eligible customers'),
      }),
      response: z.unknown(),
      produces: 'text/csv',
      contentType: (query) => EXPORT_CONTENT_TYPES[query.format],
      auditTarget: runTarget,
      handler: async ({ params, query }) =>
        campaigns.exportRun(params.id, params.run, query.format, query.eligible),
    }),
    route({
      method: 'PUT',
      url: '/v1/pricing-limits/:product',
      summary:
        'Set a product’s price floor and ceiling and its highest allowed probability of default (risk team)',
      tags: ['campaigns'],
      roles: ['risk'],
      params: z.object({ product: z.string().regex(PRODUCT_PATTERN) }),
      body: pricingLimitsSchema,
      response: limitsSchema,
      auditTarget: ({ params }) => `product:${params.product}`,
      handler: async ({ params, body, caller }) => service.setLimits(params.product, body, caller!),
    }),
    route({
      method: 'GET',
      url: '/v1/pricing-limits',
      summary: 'Every product’s pricing limits',
      tags: ['campaigns'],
      roles: ALL,
      response: z.object({ limits: z.array(limitsSchema) }),
      handler: async () => ({ limits: await service.listLimits() }),
    }),
  ];
}
