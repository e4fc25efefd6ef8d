import type { Logger } from '../../log/logger.js';
import type { CoordinatorStore, NodeStore } from '../types.js';
import { AUDIT_SCHEMA, sqliteAuditAnchorStore, sqliteAuditStore } from './audit.js';
import { CAMPAIGN_RUN_SCHEMA, sqliteCampaignRunStore } from './campaign-runs.js';
import { CAMPAIGN_SCHEMA, sqliteCampaignStore } from './campaigns.js';
import { CONSENT_SCHEMA, sqliteConsentStores } from './consent.js';
import { sqliteCustomerErasure } from './customer-erasure.js';
import { DATASET_SCHEMA, sqliteDatasetStore } from './datasets.js';
import { startCheckpointer } from './checkpointer.js';
import { type Db, openDatabase } from './open.js';
import { PSI_SCHEMA, sqlitePsiJobStore } from './psi-jobs.js';
import {
  PSI_SESSION_SCHEMA,
  sqlitePsiSessionStore,
  sqliteTrainingSessionStore,
  TRAINING_SESSION_SCHEMA,
} from './psi-sessions.js';
import { QUOTA_SCHEMA, sqliteQuotaStore } from './oprf-quota.js';
import { SCORING_SCHEMA, sqliteScoreStore } from './scoring.js';
import { SCREENING_SCHEMA, sqliteScreeningJobStore } from './screening-jobs.js';
import { SETTINGS_SCHEMA, sqliteSettingsStore } from './settings.js';
import { SIGNAL_SCHEMA, sqliteSignalStore } from './signals.js';
import { sqliteTrainingStores, TRAINING_SCHEMA } from './training.js';

/**
 * How a store is opened: `backgroundCheckpoints` for the long-running processes (see checkpointer.ts), with what to
 * do if the checkpoint thread fails (the store goes on, checkpointing on its own thread).
 */
export interface StoreOptions {
  readonly backgroundCheckpoints?: { readonly log: Logger };
}

/** Closes the database after its checkpointer (if any) has stopped. */
function closer(db: Db, path: string, options: StoreOptions): () => Promise<void> {
  const background = options.backgroundCheckpoints;
  const checkpointer = background
    ? startCheckpointer(db, path, (err) =>
        background.log.warn('store checkpoints back on the main thread: the checkpoint thread failed', {
          err,
        }),
      )
    : null;
  return async () => {
    await checkpointer?.stop();
    db.close();
  };
}

export function openSqliteNodeStore(path: string, options: StoreOptions = {}): NodeStore {
  const db = openDatabase(path, [
    ...AUDIT_SCHEMA,
    ...SETTINGS_SCHEMA,
    ...DATASET_SCHEMA,
    ...PSI_SCHEMA,
    ...SCREENING_SCHEMA,
    ...TRAINING_SCHEMA,
    ...SCORING_SCHEMA,
    ...CAMPAIGN_SCHEMA,
    ...CAMPAIGN_RUN_SCHEMA,
    ...CONSENT_SCHEMA,
  ]);
  return {
    ...sqliteTrainingStores(db),
    audit: sqliteAuditStore(db),
    anchors: sqliteAuditAnchorStore(db),
    datasets: sqliteDatasetStore(db),
    settings: sqliteSettingsStore(db),
    psiJobs: sqlitePsiJobStore(db),
    screeningJobs: sqliteScreeningJobStore(db),
    scores: sqliteScoreStore(db),
    ...sqliteConsentStores(db),
    campaigns: sqliteCampaignStore(db),
    campaignRuns: sqliteCampaignRunStore(db),
    erasure: sqliteCustomerErasure(db),
    close: closer(db, path, options),
  };
}

export function openSqliteCoordinatorStore(path: string, options: StoreOptions = {}): CoordinatorStore {
  const db = openDatabase(
    path,
    [
      ...AUDIT_SCHEMA,
      ...SETTINGS_SCHEMA,
      ...SIGNAL_SCHEMA,
      ...QUOTA_SCHEMA,
      ...PSI_SESSION_SCHEMA,
      ...TRAINING_SESSION_SCHEMA,
    ],
    256,
  );
  return {
    audit: sqliteAuditStore(db),
    anchors: sqliteAuditAnchorStore(db),
    settings: sqliteSettingsStore(db),
    signals: sqliteSignalStore(db),
    psiSessions: sqlitePsiSessionStore(db),
    trainingSessions: sqliteTrainingSessionStore(db),
    quotas: sqliteQuotaStore(db),
    close: closer(db, path, options),
  };
}
