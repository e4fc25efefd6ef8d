/**
 * Checks a campaign spec against this node's data before it is stored, submitted, approved or run: the population
 * dataset exists and has the columns the spec names, with usable types; the tiers cover every possible customer of
 * its schema exactly once; each model slot names a registered model of the right purpose whose score this node
 * holds; and the risk threshold stays within the product's limit. Every failure is a coded error naming the field,
 * and nothing is changed by a check.
 */
import type { CampaignStore, PricingLimits } from '../../platform/store/campaign-types.js';
import type { ModelRecord, ModelStore } from '../../platform/store/training-types.js';
import type { ColumnDef, DatasetInfo, DatasetStore } from '../../platform/store/types.js';
import { checkConditionColumn, checkTierCoverage } from '../../primitives/campaigns/tiers.js';
import type { AgeSource, CampaignSpec } from '../../primitives/campaigns/spec.js';
import { AccordError } from '../../primitives/errors/index.js';

export interface CampaignCheckDeps {
  readonly datasets: DatasetStore;
  readonly models: ModelStore;
  readonly campaigns: CampaignStore;
}

/** A spec with what it resolved to on this node. */
export interface CheckedCampaign {
  readonly spec: CampaignSpec;
  readonly dataset: DatasetInfo;
  readonly columns: ReadonlyMap<string, ColumnDef>;
  readonly propensityModel: ModelRecord;
  readonly riskModel: ModelRecord;
  /** Null only when not required and not set yet. */
  readonly limits: PricingLimits | null;
  /** Where ages come from (resolved default). */
  readonly ageSource: AgeSource;
}

const NUMERIC = new Set(['integer', 'number']);

async function modelFor(
  models: ModelStore,
  field: 'propensity.model' | 'risk.model',
  id: string,
  purpose: 'propensity' | 'risk',
): Promise<ModelRecord> {
  const model = await models.get(id);
  if (!model) throw new AccordError('ACCORD_CAMPAIGN_MODEL_NOT_FOUND', { field, model: id });
  if (model.purpose !== purpose)
    throw new AccordError('ACCORD_CAMPAIGN_MODEL_PURPOSE', {
      field,
      model: id,
      problem: `was trained for purpose "${model.purpose}", not "${purpose}"`,
    });
  if (model.vertical?.role === 'feature-holder')
    throw new AccordError('ACCORD_CAMPAIGN_MODEL_PURPOSE', {
      field,
      model: id,
      problem: `is a feature holder's part of a vertical model (its label holder ${model.vertical.labelHolder} holds the score)`,
    });
  return model;
}

function resolveAgeSource(
  spec: CampaignSpec,
  dataset: DatasetInfo,
  columns: ReadonlyMap<string, ColumnDef>,
): AgeSource {
  const from = spec.exclusions.minors.from;
  const field = 'exclusions.minors.from';
  const column = (name: string, ok: (c: ColumnDef) => boolean, needs: string) => {
    const def = columns.get(name);
    if (!def)
      throw new AccordError('ACCORD_CAMPAIGN_COLUMN_INVALID', {
        field,
        column: name,
        dataset: dataset.name,
        problem: 'does not exist',
      });
    if (!ok(def))
      throw new AccordError('ACCORD_CAMPAIGN_COLUMN_INVALID', {
        field,
        column: name,
        dataset: dataset.name,
        problem: `is of type ${def.type}: ${needs}`,
      });
  };
  if (from === undefined || from === 'resident-id') {
    if (dataset.idKind !== 'national_id')
      throw new AccordError('ACCORD_CAMPAIGN_SPEC_INVALID', {
        field,
        problem: `the ids of dataset ${dataset.name} are of kind ${dataset.idKind}, not resident identity numbers: name an ageColumn or a birthDateColumn`,
      });
    return 'resident-id';
  }
  if ('ageColumn' in from)
    column(from.ageColumn, (c) => NUMERIC.has(c.type), 'an age needs an integer or number column');
  else
    column(
      from.birthDateColumn,
      (c) => c.type === 'date' || c.type === 'string',
      'a birth date needs a date column',
    );
  return from;
}

/**
 * Checks `spec` (see the module comment). With `requireLimits`, a product without pricing limits is refused
 * (submission, approval and runs need them; a draft may come first).
 */
export async function checkCampaign(
  spec: CampaignSpec,
  deps: CampaignCheckDeps,
  options: { readonly requireLimits: boolean },
): Promise<CheckedCampaign> {
  const dataset = await deps.datasets.get(spec.population.dataset);
  if (!dataset)
    throw new AccordError('ACCORD_CAMPAIGN_SPEC_INVALID', {
      field: 'population.dataset',
      problem: `no dataset ${spec.population.dataset} (GET /v1/datasets lists them)`,
    });
  const columns = new Map(dataset.columns.map((c) => [c.name, c]));
  const propensityModel = await modelFor(
    deps.models,
    'propensity.model',
    spec.propensity.model,
    'propensity',
  );
  const riskModel = await modelFor(deps.models, 'risk.model', spec.risk.model, 'risk');
  checkTierCoverage(spec.tiers, columns, dataset.name);
  const overdue = spec.exclusions.overdue;
  if (overdue)
    checkConditionColumn('exclusions.overdue', overdue.column, { in: overdue.values }, columns, dataset.name);
  const contribution = spec.pricing.contribution;
  if (contribution) {
    const def = columns.get(contribution.column);
    if (!def || !NUMERIC.has(def.type))
      throw new AccordError('ACCORD_CAMPAIGN_COLUMN_INVALID', {
        field: 'pricing.contribution.column',
        column: contribution.column,
        dataset: dataset.name,
        problem: def
          ? `is of type ${def.type}: a contribution needs an integer or number column`
          : 'does not exist',
      });
  }
  const ageSource = resolveAgeSource(spec, dataset, columns);
  const limits = await deps.campaigns.limits(spec.product);
  if (!limits && options.requireLimits)
    throw new AccordError('ACCORD_CAMPAIGN_PRICING_LIMITS_MISSING', { product: spec.product });
  if (limits?.maxProbabilityOfDefault !== null && limits?.maxProbabilityOfDefault !== undefined) {
    if (spec.risk.maxProbabilityOfDefault > limits.maxProbabilityOfDefault)
      throw new AccordError('ACCORD_CAMPAIGN_RISK_LIMIT_EXCEEDED', {
        value: spec.risk.maxProbabilityOfDefault,
        limit: limits.maxProbabilityOfDefault,
        product: spec.product,
      });
  }
  return { spec, dataset, columns, propensityModel, riskModel, limits, ageSource };
}
