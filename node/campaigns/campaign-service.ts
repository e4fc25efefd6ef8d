/**
 * The campaign workflow: draft -> submitted -> approved | rejected, by a reviewer who is not the author.
 *
 *  1. Marketing creates a campaign (version 1, draft). Every edit adds a version in draft; an edit of a submitted or
 *     approved campaign sends it back to draft, so what runs is always what a reviewer approved.
 *  2. Marketing submits the current version; it is checked again (models, tiers, limits) first.
 *  3. A reviewer approves it (binding the approval to the version's digest) or rejects it with a comment. The
 *     reviewer's token label (trimmed, lowercased) may not be the campaign's creator's, nor that of anyone who wrote
 *     a version or submitted since the last review decision (`involvedSinceDecision`).
 *  4. Runs (campaign-runs.ts) take only an approved campaign whose current version is the approved one.
 *
 * Every version and every review is kept. Each state change is audited with the version and its digest.
 */
import { randomUUID } from 'node:crypto';
import type { Audit } from '../../platform/audit/audit-log.js';
import type {
  CampaignRecord,
  CampaignReview,
  CampaignState,
  CampaignVersion,
  PricingLimits,
  ReviewAction,
} from '../../platform/store/campaign-types.js';
import {
  type CampaignSpec,
  campaignDigest,
  checkPricingLimits,
  parseCampaignSpec,
  pricingLimitsSchema,
} from '../../primitives/campaigns/spec.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Caller } from '../rest/route.js';
import { type CampaignCheckDeps, type CheckedCampaign, checkCampaign } from './validation.js';

export interface CampaignDetail extends CampaignRecord {
  readonly spec: CampaignSpec;
  readonly digest: string;
  readonly versions: readonly CampaignVersion[];
  readonly reviews: readonly CampaignReview[];
}

export interface CampaignServiceDeps extends CampaignCheckDeps {
  readonly audit: Audit;
}

export const actorOf = (caller: Caller): string => `role:${caller.role}/${caller.label}`;

/** A token label as compared for self-review: `Alice `, `alice` and ` ALICE` are one person. */
export const normaliseLabel = (label: string): string => label.trim().toLowerCase();

/**
 * The labels (normalised) who may not review a campaign now: its creator, every author of a version written since
 * the last review decision (approve or reject; all versions if none yet), and everyone who submitted since. An
 * edit by one marketer followed by a trivial edit and submission by another does not let the first one approve.
 */
export function involvedSinceDecision(
  campaign: CampaignRecord,
  versions: readonly CampaignVersion[],
  reviews: readonly CampaignReview[],
): Set<string> {
  let decided = -1;
  for (let i = 0; i < reviews.length; i++) if (reviews[i]!.action !== 'submit') decided = i;
  const decidedVersion = decided >= 0 ? reviews[decided]!.version : 0;
  const labels = [
    campaign.createdBy,
    ...versions.filter((v) => v.version > decidedVersion).map((v) => v.author),
    ...reviews.slice(decided + 1).flatMap((r) => (r.action === 'submit' ? [r.by] : [])),
  ];
  return new Set(labels.map(normaliseLabel));
}

export class CampaignService {
  constructor(private readonly deps: CampaignServiceDeps) {}

  /** Creates a campaign in draft from an untrusted spec; throws coded errors naming the field. */
  async create(input: unknown, caller: Caller): Promise<CampaignDetail> {
    const spec = parseCampaignSpec(input);
    await checkCampaign(spec, this.deps, { requireLimits: false });
    const now = new Date().toISOString();
    const id = randomUUID();
    const version: CampaignVersion = {
      campaign: id,
      version: 1,
      spec,
      digest: campaignDigest(spec),
      author: caller.label,
      createdAt: now,
    };
    await this.deps.campaigns.create(
      {
        id,
        name: spec.name,
        product: spec.product,
        state: 'draft',
        version: 1,
        approvedVersion: null,
        createdBy: caller.label,
        createdAt: now,
        updatedAt: now,
      },
      version,
    );
    await this.audited(caller, 'campaign:create', `campaign:${id}`, { version: 1, digest: version.digest });
    return this.get(id);
  }

  /** Adds a version in draft (an identical spec changes nothing). */
  async update(id: string, input: unknown, caller: Caller): Promise<CampaignDetail> {
    const spec = parseCampaignSpec(input);
    const campaign = await this.found(id);
    const current = (await this.deps.campaigns.version(id, campaign.version))!;
    const digest = campaignDigest(spec);
    if (digest === current.digest) return this.get(id);
    await checkCampaign(spec, this.deps, { requireLimits: false });
    const next: CampaignVersion = {
      campaign: id,
      version: campaign.version + 1,
      spec,
      digest,
      author: caller.label,
      createdAt: new Date().toISOString(),
    };
    const updated = await this.deps.campaigns.addVersion(campaign.version, next);
    if (!updated) throw this.stateError(await this.found(id), 'edited', 'unchanged since it was read');
    await this.audited(caller, 'campaign:update', `campaign:${id}`, {
      version: next.version,
      digest,
      from: campaign.state,
    });
    return this.get(id);
  }

  async submit(id: string, caller: Caller): Promise<CampaignDetail> {
    const campaign = await this.found(id);
    if (campaign.state !== 'draft') throw this.stateError(campaign, 'submitted', 'draft');
    const version = (await this.deps.campaigns.version(id, campaign.version))!;
    await checkCampaign(version.spec, this.deps, { requireLimits: true });
    return this.move(campaign, version, 'submit', caller, null, 'draft', 'submitted');
  }

  async approve(id: string, caller: Caller, comment: string | null = null): Promise<CampaignDetail> {
    const { campaign, version } = await this.reviewable(id, caller, 'approved');
    await checkCampaign(version.spec, this.deps, { requireLimits: true });
    return this.move(campaign, version, 'approve', caller, comment, 'submitted', 'approved');
  }

  async reject(id: string, caller: Caller, comment: string): Promise<CampaignDetail> {
    if (comment.trim() === '')
      throw new AccordError('ACCORD_CAMPAIGN_SPEC_INVALID', {
        field: 'comment',
        problem: 'a rejection needs a comment saying why',
      });
    const { campaign, version } = await this.reviewable(id, caller, 'rejected');
    return this.move(campaign, version, 'reject', caller, comment, 'submitted', 'rejected');
  }

  async get(id: string): Promise<CampaignDetail> {
    const campaign = await this.found(id);
    const versions = await this.deps.campaigns.versions(id);
    const current = versions.find((v) => v.version === campaign.version)!;
    return {
      ...campaign,
      spec: current.spec,
      digest: current.digest,
      versions,
      reviews: await this.deps.campaigns.reviews(id),
    };
  }

  /** One version of a campaign (a run's exact spec). */
  async version(id: string, version: number): Promise<CampaignVersion> {
    const found = await this.deps.campaigns.version(id, version);
    if (!found) throw new AccordError('ACCORD_CAMPAIGN_NOT_FOUND', { campaign: id });
    return found;
  }

  list(limit: number): Promise<CampaignRecord[]> {
    return this.deps.campaigns.list(limit);
  }

  /**
   * The approved version of a campaign, checked ready to run: approved, unchanged since (its current version is the
   * approved one, with the digest the approval bound to), and valid against today's models, data and limits.
   */
  async runnable(
    id: string,
  ): Promise<{ campaign: CampaignRecord; version: CampaignVersion; checked: CheckedCampaign }> {
    const campaign = await this.found(id);
    if (campaign.state !== 'approved' || campaign.approvedVersion !== campaign.version) {
      if (campaign.approvedVersion === null)
        throw new AccordError('ACCORD_CAMPAIGN_NOT_APPROVED', { campaign: id, state: campaign.state });
      throw new AccordError('ACCORD_CAMPAIGN_CHANGED', {
        campaign: id,
        approved: campaign.approvedVersion,
        current: campaign.version,
        state: campaign.state,
      });
    }
    const version = (await this.deps.campaigns.version(id, campaign.version))!;
    const approval = (await this.deps.campaigns.reviews(id))
      .filter((r) => r.action === 'approve' && r.version === version.version)
      .at(-1);
    if (!approval || approval.digest !== version.digest || campaignDigest(version.spec) !== version.digest)
      throw new AccordError('ACCORD_CAMPAIGN_CHANGED', {
        campaign: id,
        approved: campaign.approvedVersion,
        current: campaign.version,
        state: 'changed in the store',
      });
    const checked = await checkCampaign(version.spec, this.deps, { requireLimits: true });
    return { campaign, version, checked };
  }

  /** Sets a product's pricing limits (role risk); throws ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID. */
  async setLimits(product: string, input: unknown, caller: Caller): Promise<PricingLimits> {
    const parsed = pricingLimitsSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AccordError('ACCORD_CAMPAIGN_PRICING_LIMITS_INVALID', {
        product,
        field: issue.path.join('.') || '(root)',
        problem: issue.message,
      });
    }
    checkPricingLimits(product, parsed.data);
    const limits: PricingLimits = {
      product,
      floor: parsed.data.floor,
      ceiling: parsed.data.ceiling,
      maxProbabilityOfDefault: parsed.data.maxProbabilityOfDefault ?? null,
      setBy: caller.label,
      setAt: new Date().toISOString(),
    };
    await this.deps.campaigns.putLimits(limits);
    await this.audited(caller, 'pricing-limits:set', `product:${product}`, {
      floor: limits.floor,
      ceiling: limits.ceiling,
      ...(limits.maxProbabilityOfDefault === null
        ? {}
        : { maxProbabilityOfDefault: limits.maxProbabilityOfDefault }),
    });
    return limits;
  }

  limits(product: string): Promise<PricingLimits | null> {
    return this.deps.campaigns.limits(product);
  }

  listLimits(): Promise<PricingLimits[]> {
    return this.deps.campaigns.listLimits();
  }

  private async found(id: string): Promise<CampaignRecord> {
    const campaign = await this.deps.campaigns.get(id);
    if (!campaign) throw new AccordError('ACCORD_CAMPAIGN_NOT_FOUND', { campaign: id });
    return campaign;
  }

  /** A submitted campaign and its version, with the reviewer checked: the reviewer role, and not an author. */
  private async reviewable(
    id: string,
    caller: Caller,
    outcome: string,
  ): Promise<{ campaign: CampaignRecord; version: CampaignVersion }> {
    if (caller.role !== 'reviewer')
      throw new AccordError('ACCORD_AUTH_FORBIDDEN', {
        role: caller.role,
        route: `review campaign ${id}`,
        allowed: 'reviewer',
      });
    const campaign = await this.found(id);
    if (campaign.state !== 'submitted') throw this.stateError(campaign, outcome, 'submitted');
    const version = (await this.deps.campaigns.version(id, campaign.version))!;
    const involved = involvedSinceDecision(
      campaign,
      await this.deps.campaigns.versions(id),
      await this.deps.campaigns.reviews(id),
    );
    if (involved.has(normaliseLabel(caller.label)))
      throw new AccordError('ACCORD_CAMPAIGN_SELF_REVIEW', {
        campaign: id,
        label: caller.label,
        version: version.version,
      });
    return { campaign, version };
  }

  private async move(
    campaign: CampaignRecord,
    version: CampaignVersion,
    action: ReviewAction,
    caller: Caller,
    comment: string | null,
    from: CampaignState,
    to: CampaignState,
  ): Promise<CampaignDetail> {
    const review: CampaignReview = {
      campaign: campaign.id,
      version: version.version,
      digest: version.digest,
      action,
      by: caller.label,
      comment,
      at: new Date().toISOString(),
    };
    const moved = await this.deps.campaigns.review(review, from, to);
    if (!moved) throw this.stateError(await this.found(campaign.id), `${to}`, from);
    await this.audited(caller, `campaign:${action}`, `campaign:${campaign.id}`, {
      version: version.version,
      digest: version.digest,
    });
    return this.get(campaign.id);
  }

  private stateError(campaign: CampaignRecord, action: string, expected: string): AccordError {
    return new AccordError('ACCORD_CAMPAIGN_STATE', {
      campaign: campaign.id,
      state: campaign.state,
      action,
      expected,
    });
  }

  private audited(
    caller: Caller,
    action: string,
    target: string,
    details: Record<string, string | number>,
  ): Promise<void> {
    return this.deps.audit({
      actor: actorOf(caller),
      action,
      target,
      outcome: 'ok',
      details,
    });
  }
}
