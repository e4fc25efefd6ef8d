import { ChainVerifier, type ChainVerdict } from '../../primitives/audit/chain.js';
import type { AuditStore } from '../store/types.js';

/** Streams the whole log through the chain verifier; stops at the first broken entry. */
export async function verifyAuditLog(audit: AuditStore): Promise<ChainVerdict> {
  const verifier = new ChainVerifier();
  for await (const entry of audit.iterate(5_000)) {
    if (!verifier.push(entry)) break;
  }
  return verifier.verdict();
}
