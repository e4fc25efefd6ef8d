/**
 * The one way a process writes its audit log. `Audit` returns a promise that settles once the entry is sealed in the
 * store; callers await it where the action it records happens, so that an action whose record cannot be written
 * fails (ACCORD_AUDIT_UNAVAILABLE) instead of succeeding unrecorded. Only background events that no caller waits for
 * (a session ending on a timer, a refused handshake) use `auditInBackground`, which logs a failed write loudly.
 */
import type { AuditDraft } from '../../primitives/audit/chain.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import type { AuditStore } from '../store/types.js';

export type Audit = (draft: AuditDraft) => Promise<void>;

/** Writes to `store`; a failed write is logged here and rejects with ACCORD_AUDIT_UNAVAILABLE. */
export function auditTo(store: Pick<AuditStore, 'append'>, log: Logger): Audit {
  return async (draft) => {
    try {
      await store.append(draft);
    } catch (err) {
      log.error('audit append failed', { action: draft.action, err });
      throw new AccordError('ACCORD_AUDIT_UNAVAILABLE', { action: draft.action });
    }
  };
}

/** For events nobody waits on: the write is not awaited, and its failure was already logged by `auditTo`. */
export function auditInBackground(audit: Audit, draft: AuditDraft): void {
  audit(draft).catch(() => undefined);
}
