/**
 * Fraud-signal routes (role `risk`). Identifiers arrive here and never leave the node: the coordinator sees only
 * blinded elements and tokens (protocol: node/signals/signals-service.ts). Answers are counts of distinct other
 * members, never names. Signal kinds are the consortium's (`primitives/signals/kinds.ts`): the body schema checks only
 * their shape, the service checks them against the list of the node's latest registration.
 */
import { z } from 'zod';
import { AccordError } from '../../../primitives/errors/index.js';
import { ID_KINDS } from '../../../primitives/identity/normalise.js';
import {
  SIGNAL_KIND_PATTERN,
  SIGNAL_KIND_RULE,
  type SignalKinds,
  SIGNAL_KINDS,
} from '../../../primitives/signals/kinds.js';
import {
  MAX_PUBLISH_BATCH,
  MAX_SCREEN_IDS,
  SIGNAL_ID_PATTERN,
  type SignalAggregates,
} from '../../../primitives/signals/protocol.js';
import type { ScreenJob } from '../../../platform/store/screening-types.js';
import type { ScreeningJobs } from '../../signals/screening.js';
import type { NodeSignals, SignalInput } from '../../signals/signals-service.js';
import { route } from '../route.js';

const ROLES = ['risk'] as const;

const at = z
  .union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()])
  .optional()
  .describe('when the signal was observed: ISO 8601 with a zone, or Unix ms; default now');
const identifier = z.object({
  idKind: z.enum(ID_KINDS),
  id: z.string().min(1).max(1024).describe('the raw identifier; normalised on this node, never sent'),
});
const signal = identifier.extend({
  kind: z
    .string()
    .regex(SIGNAL_KIND_PATTERN, SIGNAL_KIND_RULE)
    .describe(
      `one of the consortium’s signal kinds, listed at GET /v1/signals/kinds: the built-ins ` +
        `${SIGNAL_KINDS.join(', ')}, then any flag kinds the coordinator's config adds`,
    ),
  at,
});
const publishBody = z.union([signal, z.object({ signals: z.array(signal).min(1).max(MAX_PUBLISH_BATCH) })]);

const aggregatesSchema = z.object({
  applications: z
    .object({ d1: z.number().int(), d7: z.number().int(), d30: z.number().int() })
    .describe('distinct OTHER members that saw an application in the last 1, 7 and 30 days'),
  flags: z.array(
    z.object({
      kind: z.string(),
      members: z.number().int().describe('distinct other members that raised this flag'),
      lastSeen: z.string().describe('ISO time of the newest such flag'),
    }),
  ),
});

function toMs(value: string | number | undefined): number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  return Date.parse(value);
}

export function aggregatesToJson(a: SignalAggregates): z.infer<typeof aggregatesSchema> {
  return {
    applications: { ...a.applications },
    flags: a.flags.map((f) => ({
      kind: f.kind,
      members: f.members,
      lastSeen: new Date(f.lastSeenMs).toISOString(),
    })),
  };
}

const kindsSchema = z.object({
  kinds: z
    .array(
      z.object({
        kind: z.string(),
        windowed: z
          .boolean()
          .describe(
            'true: counted per 1/7/30-day window (application); false: a flag over the retention period',
          ),
      }),
    )
    .describe('the consortium’s signal kinds from this node’s latest registration, built-ins first'),
});

const screenJob = z.object({
  jobId: z.string(),
  state: z.enum(['running', 'done', 'failed']),
  total: z.number().int(),
  processed: z.number().int(),
  fraction: z.number(),
  errorCode: z.string().nullable(),
  flagged: z
    .array(identifier.extend({ index: z.number().int() }).merge(aggregatesSchema))
    .nullable()
    .describe('when done: the identifiers other members reported (an application in 30 days or any flag)'),
});

export interface SignalRouteDeps {
  /** null when the node has no member key: every route answers ACCORD_SIGNAL_NOT_CONFIGURED. */
  readonly signals: NodeSignals | null;
  readonly screening: ScreeningJobs | null;
  /** The consortium's kinds as the node knows them (answered even without a member key: nothing secret). */
  readonly kinds: () => SignalKinds;
  /** Adds the INSECURE plaintext benchmark routes. */
  readonly plaintextBenchmark: boolean;
}

export function signalRoutes(deps: SignalRouteDeps) {
  const need = () => {
    if (!deps.signals || !deps.screening)
      throw new AccordError('ACCORD_SIGNAL_NOT_CONFIGURED', {
        reason: 'no signals.memberKeyFile in the config',
      });
    return { signals: deps.signals, screening: deps.screening };
  };
  const inputsOf = (body: z.infer<typeof publishBody>): SignalInput[] =>
    ('signals' in body ? body.signals : [body]).map((s) => ({
      idKind: s.idKind,
      id: s.id,
      kind: s.kind,
      ...(s.at !== undefined ? { atMs: toMs(s.at)! } : {}),
    }));
  const jobJson = (job: ScreenJob) => ({
    jobId: job.jobId,
    state: job.state,
    total: job.total,
    processed: job.processed,
    fraction: job.total ? job.processed / job.total : 1,
    errorCode: job.errorCode,
    flagged:
      job.state === 'done'
        ? job.hits.map((h) => ({
            index: h.index,
            idKind: job.idKind,
            id: h.id,
            ...aggregatesToJson(h.aggregates),
          }))
        : null,
  });

  const routes = [
    route({
      method: 'POST',
      url: '/v1/signals',
      summary: `Publish one signal, or {signals: [...]} up to ${MAX_PUBLISH_BATCH}; all or nothing`,
      tags: ['signals'],
      roles: ROLES,
      body: publishBody,
      status: 201,
      response: z.object({
        signalIds: z.array(z.string()).describe('keep them to retract a false positive'),
      }),
      handler: async ({ body }) => ({ signalIds: await need().signals.publish(inputsOf(body)) }),
    }),
    route({
      method: 'POST',
      url: '/v1/signals/historical',
      summary:
        'Import past signals (dated up to the retention period back, not only the live limit): a marked, audited ' +
        `bulk path for an admin, up to ${MAX_PUBLISH_BATCH} per call, all or nothing`,
      tags: ['signals'],
      roles: ['admin'],
      body: publishBody,
      status: 201,
      response: z.object({ signalIds: z.array(z.string()) }),
      handler: async ({ body }) => ({
        signalIds: await need().signals.publish(inputsOf(body), { historical: true }),
      }),
    }),
    route({
      method: 'GET',
      url: '/v1/signals/kinds',
      summary: 'The consortium’s signal kinds (the coordinator announces them when the node registers)',
      tags: ['signals'],
      roles: ROLES,
      response: kindsSchema,
      handler: async () => {
        const kinds = deps.kinds();
        return { kinds: kinds.all.map((kind) => ({ kind, windowed: kinds.isWindowed(kind) })) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/v1/signals/:signalId',
      summary: 'Retract a signal this node published (a false positive); effective for every member at once',
      tags: ['signals'],
      roles: ROLES,
      params: z.object({ signalId: z.string().regex(SIGNAL_ID_PATTERN) }),
      response: z.object({ retracted: z.number().int() }),
      auditTarget: ({ params }) => params.signalId,
      handler: async ({ params }) => ({ retracted: await need().signals.retract([params.signalId]) }),
    }),
    route({
      method: 'POST',
      url: '/v1/signals/query',
      summary: 'What other members reported for an identifier: application counts and flags (no names)',
      tags: ['signals'],
      roles: ROLES,
      body: identifier,
      response: aggregatesSchema,
      handler: async ({ body }) => aggregatesToJson(await need().signals.query(body)),
    }),
    route({
      method: 'POST',
      url: '/v1/signals/applications',
      summary: 'Record this bank’s application for an identifier and answer what other members reported',
      tags: ['signals'],
      roles: ROLES,
      body: identifier.extend({ at }),
      status: 201,
      response: aggregatesSchema.extend({ signalId: z.string() }),
      handler: async ({ body }) => {
        const atMs = toMs(body.at);
        const result = await need().signals.recordApplication({
          idKind: body.idKind,
          id: body.id,
          ...(atMs !== undefined ? { atMs } : {}),
        });
        return { signalId: result.signalId, ...aggregatesToJson(result.aggregates) };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/signals/screen',
      summary: `Start screening up to ${MAX_SCREEN_IDS} identifiers of one kind; poll the job for progress`,
      tags: ['signals'],
      roles: ROLES,
      body: z.object({
        idKind: z.enum(ID_KINDS),
        ids: z.array(z.string().min(1).max(1024)).min(1).max(MAX_SCREEN_IDS),
      }),
      status: 202,
      response: screenJob,
      handler: async ({ body }) => jobJson(await need().screening.start(body.idKind, body.ids)),
    }),
    route({
      method: 'GET',
      url: '/v1/signals/screen/:jobId',
      summary: 'Progress of a screening job and, when done, the flagged identifiers',
      tags: ['signals'],
      roles: ROLES,
      params: z.object({ jobId: z.string().uuid() }),
      response: screenJob,
      auditTarget: ({ params }) => params.jobId,
      handler: async ({ params }) => jobJson(await need().screening.get(params.jobId)),
    }),
  ];
  if (!deps.plaintextBenchmark) return routes;
  return [
    ...routes,
    route({
      method: 'POST',
      url: '/v1/signals/insecure-plaintext-benchmark/publish',
      summary: 'INSECURE, BENCHMARK ONLY: publish by an unkeyed SHA-256 of the identifier (no OPRF)',
      tags: ['insecure-benchmark'],
      roles: ROLES,
      body: publishBody,
      status: 201,
      response: z.object({ signalIds: z.array(z.string()) }),
      handler: async ({ body }) => ({
        signalIds: await need().signals.publish(inputsOf(body), { plaintext: true }),
      }),
    }),
    route({
      method: 'POST',
      url: '/v1/signals/insecure-plaintext-benchmark/query',
      summary: 'INSECURE, BENCHMARK ONLY: query by an unkeyed SHA-256 of the identifier (no OPRF)',
      tags: ['insecure-benchmark'],
      roles: ROLES,
      body: identifier,
      response: aggregatesSchema,
      handler: async ({ body }) => aggregatesToJson(await need().signals.query(body, true)),
    }),
  ];
}
