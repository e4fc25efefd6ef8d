/** `accord audit verify --config f`: checks the hash chain of a node's or the coordinator's audit log. */
import { join } from 'node:path';
import { readJsonFile } from '../../platform/config/load.js';
import { loadCoordinatorConfig, loadNodeConfig } from '../../platform/config/index.js';
import { verifyAuditLog } from '../../platform/audit/verify.js';
import { openSqliteCoordinatorStore, openSqliteNodeStore } from '../../platform/store/sqlite/index.js';
import { AccordError } from '../../primitives/errors/index.js';

export async function auditVerify(configFile: string): Promise<void> {
  const kind = (readJsonFile(configFile) as { kind?: string })?.kind;
  const store =
    kind === 'coordinator'
      ? openSqliteCoordinatorStore(join(loadCoordinatorConfig(configFile).dataDir, 'coordinator.db'))
      : openSqliteNodeStore(loadNodeConfig(configFile).store.path!);
  try {
    const verdict = await verifyAuditLog(store.audit);
    if (!verdict.ok)
      throw new AccordError('ACCORD_AUDIT_CHAIN_BROKEN', { seq: verdict.brokenAt, reason: verdict.reason });
    process.stdout.write(`audit log intact: ${verdict.entries} entries, head ${verdict.headHash}\n`);
  } finally {
    await store.close();
  }
}
