/**
 * Changing a running coordinator's revocation list as an operator does: edit its config file, send SIGHUP, and wait
 * for the audit entry of the reload.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { LocalConsortium } from '../../examples/local-consortium.js';
import { type CoordinatorAuditRow, coordinatorAudit } from './coordinator-audit.js';
import { until } from './wait.js';

/** Sends SIGHUP and waits for the coordinator's audit entry of the reload it causes. */
export async function reload(c: LocalConsortium): Promise<CoordinatorAuditRow> {
  const before = coordinatorAudit(c).filter((e) => e.action === 'membership:revocation-reload').length;
  c.coordinator.kill('SIGHUP');
  return until('the audit entry of the reload', () => {
    const reloads = coordinatorAudit(c).filter((e) => e.action === 'membership:revocation-reload');
    return reloads.length > before ? reloads.at(-1)! : undefined;
  });
}

export function editCoordinatorConfig(
  c: LocalConsortium,
  change: (config: { revocation: { deniedMembers: string[] } }) => void,
): void {
  const config = JSON.parse(readFileSync(c.coordinatorConfig, 'utf8'));
  change(config);
  writeFileSync(c.coordinatorConfig, JSON.stringify(config, null, 2));
}
