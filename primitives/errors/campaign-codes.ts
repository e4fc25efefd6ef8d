import { defineErrors, GrpcCode as G } from './define.js';

/**
 * Campaign eligibility errors (`ACCORD_CAMPAIGN_*`), consent and do-not-contact imports (`ACCORD_CONSENT_*`) and
 * customer erasure (`ACCORD_CUSTOMER_*`). Params name fields, rules, models and runs; never a customer identifier,
 * a feature value or a score (a point named by a tier error is built from the rules' own bounds).
 */
export const campaignErrors = defineErrors({
  ACCORD_CAMPAIGN_SPEC_INVALID: {
    message: 'campaign field {field}: {problem}',
    hint: 'Fix that field of the campaign; see POST /v1/campaigns in /v1/openapi.json for the schema.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_COLUMN_INVALID: {
    message: 'campaign field {field}: column {column} of dataset {dataset} {problem}',
    hint: 'Name a column of the population dataset of the right type (GET /v1/datasets/{dataset}): ranges need an integer or number column, value lists values of the column’s type.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_MODEL_NOT_FOUND: {
    message: 'campaign field {field}: no registered model {model}',
    hint: 'Name a model of this node’s registry (GET /v1/models).',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_MODEL_PURPOSE: {
    message: 'campaign field {field}: model {model} {problem}',
    hint: 'The propensity slot takes a model trained for purpose "propensity", the risk slot one trained for purpose "risk" (its score is the probability of default); a vertical model is named by the label holder’s part, which alone holds the joint score.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_TIERS_OVERLAP: {
    message: 'campaign field tiers: {first} and {second} both cover {point}',
    hint: 'Every customer must fall in exactly one tier: make the two rules disjoint (a range includes its min and excludes its max, so [0, 1000) and [1000, ...) touch without overlapping).',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_TIERS_GAP: {
    message: 'campaign field tiers: no tier covers {point}',
    hint: 'Every customer must fall in exactly one tier: widen a rule, or add one for that case (a column not named in a rule matches any value, empty included).',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_TIERS_TOO_COMPLEX: {
    message: 'campaign field tiers: the rules split customers into more than {limit} cases to check',
    hint: 'Use fewer bounds or fewer columns in the tier rules.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID: {
    message: 'pricing limits of {product}, field {field}: {problem}',
    hint: 'The floor may not be above the ceiling, and maxProbabilityOfDefault lies in [0, 1].',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_PRICING_LIMITS_MISSING: {
    message: 'product {product} has no pricing limits',
    hint: 'The risk team sets them first: PUT /v1/pricing-limits/{product} with the floor, the ceiling and optionally maxProbabilityOfDefault.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_RISK_LIMIT_EXCEEDED: {
    message:
      'campaign field risk.maxProbabilityOfDefault: {value} is above the limit {limit} the risk team set for {product}',
    hint: 'Lower the campaign’s maximum probability of default, or ask the risk team to review the product’s limit.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CAMPAIGN_NOT_FOUND: {
    message: 'campaign {campaign} does not exist',
    hint: 'List campaigns with GET /v1/campaigns.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_CAMPAIGN_STATE: {
    message: 'campaign {campaign} is {state}: it cannot be {action} (it must be {expected})',
    hint: 'The workflow is draft -> submitted -> approved or rejected; editing makes a new draft version, which is submitted again.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_SELF_REVIEW: {
    message:
      'campaign {campaign}: {label} created it, or wrote or submitted a version since its last review, and may not review version {version}',
    hint: 'A reviewer who is not the campaign’s creator and wrote or submitted none of its versions since the last review decision must approve or reject it (labels are compared trimmed and lowercased).',
    http: 403,
    grpc: G.PERMISSION_DENIED,
  },
  ACCORD_CAMPAIGN_NOT_APPROVED: {
    message: 'campaign {campaign} is {state} and has never been approved: it cannot run',
    hint: 'Submit it (POST /v1/campaigns/{campaign}/submit) and have a reviewer approve it.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_CHANGED: {
    message:
      'campaign {campaign} changed since version {approved} was approved (now version {current}, {state})',
    hint: 'A changed campaign goes back to review: submit the new version and have a reviewer approve it before running.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_CONSENT_MISSING: {
    message:
      'campaign field consentPurpose: no customer of dataset {dataset} has consent data for purpose {purpose}',
    hint: 'Import consent for that purpose first (POST /v1/consent, text/csv: customer_id,purpose,status,expires_at), or name the purpose the consent was collected for.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_SCORES_MISSING: {
    message: 'campaign field {field}: model {model} has no finished scoring of dataset {dataset}{problem}',
    hint: 'Score the population first (POST /v1/scoring with the model and the dataset), then run the campaign again.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_SCORES_STALE: {
    message:
      'campaign field {field}: scoring job {job} of model {model} scored version {scored} of dataset {dataset}, the run reads version {version}',
    hint: 'Scores are keyed by row key and a re-import gives the row keys to other customers: score the current version (POST /v1/scoring) and run again.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_SCREENING_INVALID: {
    message: 'campaign field exclusions.fraudScreening: screening job {job} {problem}',
    hint: 'Name a finished screening job (POST /v1/signals/screen) of the population’s identifiers, of the same identifier kind as the dataset.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_RUN_ACTIVE: {
    message: 'campaign run {run} is still running',
    hint: 'Runs go one at a time (each counts the contacts of those before it); wait for it to end (GET its state) and retry.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_POPULATION_CHANGED: {
    message: 'dataset {dataset} changed while the run read it ({read} rows read, {expected} expected)',
    hint: 'The population was replaced during the run; its decisions were removed. Run the campaign again.',
    http: 409,
    grpc: G.ABORTED,
  },
  ACCORD_CAMPAIGN_TIER_UNMATCHED: {
    message:
      'the customer on line {line} of dataset {dataset} falls in no tier of the campaign: the run stopped',
    hint: 'The tiers were checked to cover every customer of the dataset’s schema; the data disagrees with that check. Edit the tiers (the campaign is checked again on submit) and report the row to the data owner.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_PRICE_INVALID: {
    message: 'the price of a customer of tier {tier} is not a finite number ({problem})',
    hint: 'Check the campaign’s guidance rate and discounts and the product’s pricing limits; no list was made.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_RUN_NOT_FOUND: {
    message: 'campaign {campaign} has no run {run}',
    hint: 'See the campaign’s runs with GET /v1/campaigns/{campaign}.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_CAMPAIGN_RUN_NOT_DONE: {
    message: 'campaign run {run} is {state}: its decisions are not available',
    hint: 'Decisions and lists exist once a run is done; follow its progress with GET /v1/campaigns/{campaign}/runs/{run}.',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CAMPAIGN_RUN_INTERRUPTED: {
    message: 'the node stopped while the campaign run was running',
    hint: 'Its decisions and contacts were removed; start the run again.',
    http: 503,
    grpc: G.ABORTED,
  },
  ACCORD_CAMPAIGN_DECISION_NOT_FOUND: {
    message: 'campaign run {run} has no decision for this customer',
    hint: 'The customer was not in the run’s population, or was erased since.',
    http: 404,
    grpc: G.NOT_FOUND,
  },
  ACCORD_CONSENT_HEADER_INVALID: {
    message: 'consent CSV header is invalid: {problem}',
    hint: 'The first line names the columns: customer_id,purpose,status,expires_at (and optionally granted_at).',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CONSENT_ROW_INVALID: {
    message: 'line {line}, column {column}: {problem}',
    hint: 'Fix that line and upload the whole file again; nothing was imported.',
    http: 400,
    grpc: G.INVALID_ARGUMENT,
  },
  ACCORD_CONSENT_WITHDRAWN_LATER: {
    message:
      'consent for purpose {purpose} was withdrawn at {withdrawnAt}, not before the grant’s time {grantedAt}: the withdrawal stands',
    hint: 'A grant replaces a withdrawal only if it was given after it: record the new grant with its real time (grantedAt, default now).',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
  ACCORD_CUSTOMER_ERASURE_BLOCKED: {
    message: 'customer data cannot be erased while campaign run {run} is running',
    hint: 'A running campaign run is writing decisions and contacts; erase again once it has ended (it takes seconds to minutes).',
    http: 409,
    grpc: G.FAILED_PRECONDITION,
  },
});
