/**
 * SQLite storage of campaigns: the campaign row (state, current and approved version), every version's spec, every
 * review, and the risk team's pricing limits per product. Versions and reviews are append-only; a state change is
 * one conditional UPDATE together with its review row, so two reviewers racing cannot both move one version.
 */
import type {
  CampaignRecord,
  CampaignReview,
  CampaignState,
  CampaignStore,
  CampaignVersion,
  PricingLimits,
} from '../campaign-types.js';
import type { Db } from './open.js';

export const CAMPAIGN_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS campaigns (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     product TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'rejected')),
     version INTEGER NOT NULL,
     approved_version INTEGER,
     created_by TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS campaign_versions (
     campaign_id TEXT NOT NULL REFERENCES campaigns (id),
     version INTEGER NOT NULL,
     spec TEXT NOT NULL,
     digest TEXT NOT NULL,
     author TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (campaign_id, version)
   ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS campaign_reviews (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     campaign_id TEXT NOT NULL REFERENCES campaigns (id),
     version INTEGER NOT NULL,
     digest TEXT NOT NULL,
     action TEXT NOT NULL CHECK (action IN ('submit', 'approve', 'reject')),
     by_label TEXT NOT NULL,
     comment TEXT,
     at TEXT NOT NULL
   )`,
  'CREATE INDEX IF NOT EXISTS campaign_reviews_campaign ON campaign_reviews (campaign_id, seq)',
  `CREATE TABLE IF NOT EXISTS pricing_limits (
     product TEXT PRIMARY KEY,
     floor REAL NOT NULL,
     ceiling REAL NOT NULL,
     max_pd REAL,
     set_by TEXT NOT NULL,
     set_at TEXT NOT NULL
   )`,
] as const;

interface CampaignRow {
  id: string;
  name: string;
  product: string;
  state: CampaignState;
  version: number;
  approved_version: number | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

interface VersionRow {
  campaign_id: string;
  version: number;
  spec: string;
  digest: string;
  author: string;
  created_at: string;
}

interface ReviewRow {
  campaign_id: string;
  version: number;
  digest: string;
  action: CampaignReview['action'];
  by_label: string;
  comment: string | null;
  at: string;
}

interface LimitsRow {
  product: string;
  floor: number;
  ceiling: number;
  max_pd: number | null;
  set_by: string;
  set_at: string;
}

const toCampaign = (r: CampaignRow): CampaignRecord => ({
  id: r.id,
  name: r.name,
  product: r.product,
  state: r.state,
  version: r.version,
  approvedVersion: r.approved_version,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toVersion = (r: VersionRow): CampaignVersion => ({
  campaign: r.campaign_id,
  version: r.version,
  spec: JSON.parse(r.spec),
  digest: r.digest,
  author: r.author,
  createdAt: r.created_at,
});

const toReview = (r: ReviewRow): CampaignReview => ({
  campaign: r.campaign_id,
  version: r.version,
  digest: r.digest,
  action: r.action,
  by: r.by_label,
  comment: r.comment,
  at: r.at,
});

const toLimits = (r: LimitsRow): PricingLimits => ({
  product: r.product,
  floor: r.floor,
  ceiling: r.ceiling,
  maxProbabilityOfDefault: r.max_pd,
  setBy: r.set_by,
  setAt: r.set_at,
});

export function sqliteCampaignStore(db: Db): CampaignStore {
  const insertCampaign = db.prepare(
    `INSERT INTO campaigns (id, name, product, state, version, approved_version, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertVersion = db.prepare(
    'INSERT INTO campaign_versions (campaign_id, version, spec, digest, author, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertReview = db.prepare(
    `INSERT INTO campaign_reviews (campaign_id, version, digest, action, by_label, comment, at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectCampaign = db.prepare<[string], CampaignRow>('SELECT * FROM campaigns WHERE id = ?');
  const recent = db.prepare<[number], CampaignRow>(
    'SELECT * FROM campaigns ORDER BY created_at DESC, id LIMIT ?',
  );
  const selectVersions = db.prepare<[string], VersionRow>(
    'SELECT * FROM campaign_versions WHERE campaign_id = ? ORDER BY version',
  );
  const selectVersion = db.prepare<[string, number], VersionRow>(
    'SELECT * FROM campaign_versions WHERE campaign_id = ? AND version = ?',
  );
  const selectReviews = db.prepare<[string], ReviewRow>(
    'SELECT * FROM campaign_reviews WHERE campaign_id = ? ORDER BY seq',
  );
  const bumpVersion = db.prepare(
    `UPDATE campaigns SET version = ?, state = 'draft', name = ?, product = ?, updated_at = ?
     WHERE id = ? AND version = ?`,
  );
  const move = db.prepare(
    `UPDATE campaigns SET state = ?, updated_at = ?,
       approved_version = CASE WHEN ? = 'approved' THEN version ELSE approved_version END
     WHERE id = ? AND state = ? AND version = ?`,
  );
  const upsertLimits = db.prepare(
    `INSERT INTO pricing_limits (product, floor, ceiling, max_pd, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (product) DO UPDATE SET floor = excluded.floor, ceiling = excluded.ceiling,
       max_pd = excluded.max_pd, set_by = excluded.set_by, set_at = excluded.set_at`,
  );
  const selectLimits = db.prepare<[string], LimitsRow>('SELECT * FROM pricing_limits WHERE product = ?');
  const allLimits = db.prepare<[], LimitsRow>('SELECT * FROM pricing_limits ORDER BY product');

  const addVersion = (v: CampaignVersion) =>
    insertVersion.run(v.campaign, v.version, JSON.stringify(v.spec), v.digest, v.author, v.createdAt);

  const createTx = db.transaction((r: CampaignRecord, v: CampaignVersion) => {
    insertCampaign.run(
      r.id,
      r.name,
      r.product,
      r.state,
      r.version,
      r.approvedVersion,
      r.createdBy,
      r.createdAt,
      r.updatedAt,
    );
    addVersion(v);
  });
  const addVersionTx = db.transaction((expected: number, v: CampaignVersion) => {
    const changed = bumpVersion.run(
      v.version,
      v.spec.name,
      v.spec.product,
      v.createdAt,
      v.campaign,
      expected,
    ).changes;
    if (changed === 0) return null;
    addVersion(v);
    return toCampaign(selectCampaign.get(v.campaign)!);
  });
  const reviewTx = db.transaction((r: CampaignReview, from: CampaignState, to: CampaignState) => {
    if (move.run(to, r.at, to, r.campaign, from, r.version).changes === 0) return null;
    insertReview.run(r.campaign, r.version, r.digest, r.action, r.by, r.comment, r.at);
    return toCampaign(selectCampaign.get(r.campaign)!);
  });

  return {
    create: async (record, version) => void createTx(record, version),
    get: async (id) => {
      const row = selectCampaign.get(id);
      return row ? toCampaign(row) : null;
    },
    list: async (limit) => recent.all(limit).map(toCampaign),
    versions: async (id) => selectVersions.all(id).map(toVersion),
    version: async (id, version) => {
      const row = selectVersion.get(id, version);
      return row ? toVersion(row) : null;
    },
    reviews: async (id) => selectReviews.all(id).map(toReview),
    addVersion: async (expected, version) => addVersionTx(expected, version),
    review: async (review, from, to) => reviewTx(review, from, to),
    putLimits: async (l) =>
      void upsertLimits.run(l.product, l.floor, l.ceiling, l.maxProbabilityOfDefault, l.setBy, l.setAt),
    limits: async (product) => {
      const row = selectLimits.get(product);
      return row ? toLimits(row) : null;
    },
    listLimits: async () => allLimits.all().map(toLimits),
  };
}
