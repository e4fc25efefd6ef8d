/**
 * REST routes of the model registry: every model a training job of this node produced, with its parameters' shapes,
 * preprocessing, metrics per round and lineage, and its ONNX export (preprocessing inside the graph: a scorer feeds
 * raw columns).
 */
import { z } from 'zod';
import { layerShapes } from '../../../models/network.js';
import { encodedWidth } from '../../../models/preprocessing.js';
import type { ModelRecord, ModelStore } from '../../../platform/store/training-types.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { route } from '../route.js';
import { roundSchema } from './training.js';

const modelId = z.object({ model: z.string().uuid() });

const summarySchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  purpose: z.enum(['risk', 'propensity']),
  label: z.string(),
  model: z.record(z.string(), z.unknown()),
  job: z.string(),
  auc: z.number().nullable().describe('pooled validation AUC of the final round'),
  vertical: z
    .object({
      role: z.enum(['label-holder', 'feature-holder']),
      labelHolder: z.string(),
      partners: z.array(z.string()),
    })
    .nullable()
    .describe(
      'a vertical model part: a feature holder’s part outputs a partial logit; the label holder’s adds the partners’ partial logits into the score',
    ),
});

const detailSchema = summarySchema.extend({
  parameters: z.object({
    count: z.number().int(),
    layers: z.array(
      z.object({ inputs: z.number().int(), outputs: z.number().int(), activation: z.string() }),
    ),
  }),
  preprocessing: z.record(z.string(), z.unknown()),
  rounds: z.array(roundSchema),
  lineage: z.record(z.string(), z.unknown()),
  trees: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      'a boosted-tree part: the label holder’s trees (owners and split ids, leaf weights) and its own rules; a feature holder’s rules by split id',
    ),
});

/** The validation AUC of the model as registered: the last round's, or for trees stopped early the best tree's. */
function finalAuc(m: ModelRecord): number | null {
  if (m.model.type === 'gbdt' && m.model.earlyStopping !== undefined && m.history.length > 0)
    return Math.max(...m.history.map((r) => r.metrics.auc));
  return m.history.at(-1)?.metrics.auc ?? null;
}

/** A boosted-tree part as the registry shows it to its own bank: what it holds (models/trees/types.ts). */
function treesView(m: ModelRecord): Record<string, unknown> | null {
  const part = m.trees;
  if (!part) return null;
  if (part.role === 'feature-holder')
    return { role: part.role, splits: part.rules.length, rules: part.rules };
  return {
    role: part.role,
    trees: part.trees.length,
    leaves: part.trees.reduce((n, t) => n + t.nodes.filter((x) => x.kind === 'leaf').length, 0),
    baseMargin: part.baseMargin,
    ownSplits: part.rules.length,
    partners: part.partners,
    part,
  };
}

function summary(m: ModelRecord): z.infer<typeof summarySchema> {
  return {
    id: m.id,
    createdAt: m.createdAt,
    purpose: m.purpose,
    label: m.label,
    model: { ...m.model },
    job: m.lineage.job,
    auc: finalAuc(m),
    vertical: m.vertical ? { ...m.vertical, partners: [...m.vertical.partners] } : null,
  };
}

async function found(models: ModelStore, id: string): Promise<ModelRecord> {
  const m = await models.get(id);
  if (!m) throw new AccordError('ACCORD_MODEL_NOT_FOUND', { model: id });
  return m;
}

export function modelRoutes(deps: { models: ModelStore }) {
  const roles = ['admin', 'risk', 'marketing'] as const;
  const target = ({ params }: { params: { model: string } }) => `model:${params.model}`;
  return [
    route({
      method: 'GET',
      url: '/v1/models',
      summary: 'Registered models, newest first',
      tags: ['models'],
      roles,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: z.object({ models: z.array(summarySchema) }),
      handler: async ({ query }) => ({ models: (await deps.models.list(query.limit)).map(summary) }),
    }),
    route({
      method: 'GET',
      url: '/v1/models/:model',
      summary:
        'A model: parameters’ shapes, preprocessing, metrics per round, lineage (job, members, dataset, spec)',
      tags: ['models'],
      roles,
      params: modelId,
      response: detailSchema,
      auditTarget: target,
      handler: async ({ params }) => {
        const m = await found(deps.models, params.model);
        const shapes = m.trees ? [] : layerShapes(m.model, encodedWidth(m.preprocessing));
        const layers = m.trees
          ? [
              {
                inputs: m.preprocessing.columns.length,
                outputs: 1,
                activation:
                  m.trees.role === 'label-holder'
                    ? 'sigmoid of the summed leaf weights'
                    : 'none (split decisions, one per split id)',
              },
            ]
          : m.vertical
            ? [
                {
                  inputs: encodedWidth(m.preprocessing),
                  outputs: 1,
                  activation:
                    m.vertical.role === 'label-holder'
                      ? 'sigmoid of the summed partial logits'
                      : 'none (partial logit)',
                },
              ]
            : shapes.map((s, i) => ({
                inputs: s.inputs,
                outputs: s.outputs,
                activation: i === shapes.length - 1 ? 'sigmoid' : 'relu',
              }));
        return {
          ...summary(m),
          parameters: { count: m.parameters.length, layers },
          preprocessing: { ...m.preprocessing },
          rounds: m.history.map((r) => ({ ...r, members: [...r.members], evaluatedBy: [...r.evaluatedBy] })),
          lineage: { ...m.lineage },
          trees: treesView(m),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/models/:model/onnx',
      summary:
        'The model as ONNX, preprocessing inside the graph (one input per raw column, output "score"; a vertical feature holder’s part outputs "partial_logit")',
      tags: ['models'],
      roles,
      params: modelId,
      response: z.instanceof(Uint8Array),
      produces: 'application/octet-stream',
      auditTarget: target,
      handler: async ({ params }) => {
        const bytes = await deps.models.onnx(params.model);
        if (!bytes) throw new AccordError('ACCORD_MODEL_NOT_FOUND', { model: params.model });
        return bytes;
      },
    }),
  ];
}
