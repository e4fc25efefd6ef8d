/**
 * Verifies a process's audit log: the hash chain alone (`verifyAuditLog`), or the chain and the anchors other
 * processes hold about it, in one streaming pass (`verifyAuditLogAgainst`). The checks themselves are pure
 * (primitives/audit/chain.ts, primitives/audit/anchors.ts); this file only feeds them from the store.
 */
import { AnchorChecker, type AnchorVerdict, type HeldAnchor } from '../../primitives/audit/anchors.js';
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

/** One pass over the log: the chain, and every anchor's seq must exist locally with exactly the anchored hash. */
export async function verifyAuditLogAgainst(
  audit: AuditStore,
  anchors: Iterable<HeldAnchor>,
): Promise<{ chain: ChainVerdict; anchors: AnchorVerdict }> {
  const verifier = new ChainVerifier();
  const checker = new AnchorChecker(anchors);
  let chainOpen = true;
  for await (const entry of audit.iterate(5_000)) {
    if (chainOpen) chainOpen = verifier.push(entry);
    // A re-sealed log passes the chain check; keep comparing with the anchors even after a broken link.
    if (!checker.push(entry) && !chainOpen) break;
  }
  return { chain: verifier.verdict(), anchors: checker.verdict() };
}
